package poke

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Variant names a patch writer (a scenario's params.variant).
type Variant string

// Protocol is one writer variant: what it is, which kernel it mirrors,
// which of its named steps a scenario may disable, which sites it can
// patch, and its code. Every variant is one entry of the protocols table
// below; its code is a type of its own (in a file of its own) that New
// makes for each execution, holding the variant's state.
type Protocol struct {
	Name    Variant
	Meaning string
	// Kernel is the kernel version and commit the code mirrors (or the
	// proposal it models).
	Kernel string
	// Steps are the named steps (Steps table) a scenario may disable.
	Steps []string
	// Takes says what sites and scenario parameters the variant needs
	// (for `klpcheck list format`).
	Takes string
	// Validate checks one site for the variant and returns its entry, or
	// a *model.FieldError saying which field the variant cannot patch.
	Validate func(s model.SiteSpec) (Entry, error)
	// Stateful says the instance declares its whole state to the
	// engine's stateful search (the StateDigester methods, digest.go):
	// set it only for a type whose every field, and every Go local its
	// writer and handler keep across operations, the digest covers.
	Stateful bool
	// New makes the variant's state for one execution of the machine k
	// runs on; capacity is TEXT_POKE_ARRAY_MAX if the scenario gave one
	// (0 if not). The Instance is the writer; if it also has an Int3
	// method, that is the int3 handler (see Instance).
	New func(k *Poker, capacity int) Instance
}

// Instance is a variant's state in one execution. Writer is the patch
// writer's body on CPU 0 (Poker.Writer adds its return). An instance may
// also implement
//
//	Int3(t, c, regs) bool          the int3 handler (none: every int3 is stray)
//	NMIEnter(t, c), NMIExit(t, c)  code every NMI runs first and last
//	SecondWriter(t)                a second writer thread
//	TakeCPU(c) func(t)             the body of every other CPU (parked, stopped)
type Instance interface {
	Writer(t *explore.Thread)
}

type (
	int3Handler interface {
		Int3(*explore.Thread, *model.CPU, *model.Regs) bool
	}
	nmiHooks interface {
		NMIEnter(*explore.Thread, *model.CPU)
		NMIExit(*explore.Thread, *model.CPU)
	}
	secondWriter interface{ SecondWriter(*explore.Thread) }
	cpuTaker     interface {
		TakeCPU(*model.CPU) func(*explore.Thread)
	}
)

// Step names of smp_text_poke_batch_finish a scenario can disable.
const (
	StepRefsSet   = "refs-set"   // publish text_poke_array: atomic_set_release(refs, 1) on every CPU before the first int3
	StepSync1     = "sync1"      // smp_text_poke_sync_each_cpu() after writing the int3s
	StepSync2     = "sync2"      // the same after writing the tails ("very likely not necessary" per Intel)
	StepSync3     = "sync3"      // the same after writing the first bytes
	StepRefsDrain = "refs-drain" // atomic_cond_read_acquire(refs, !VAL): wait for running handlers before clearing the vector
)

// Steps are the named steps, in the order BatchFinish takes them.
var Steps = []string{StepRefsSet, StepSync1, StepSync2, StepSync3, StepRefsDrain}

// protocols is the table of writer variants, in the order `klpcheck list
// format` shows them. A new variant is a file with its type and one line
// here (or, out of tree and in tests, a call of Register).
var protocols = []Protocol{
	{Name: BP, Meaning: "smp_text_poke_batch_finish (int3, sync1, tail, sync2, first byte, sync3, refs drain)", Kernel: "6.16 (per-CPU refs: 2025)", Steps: Steps, Validate: Int3Site, New: newTextPokeArray, Stateful: true,
		Takes: "old/new or sites; disable any step; emulate; capacity"},
	{Name: NaiveCopy, Meaning: "text_poke_early's memcpy on a live system: byte stores, no int3, no sync", Kernel: "text_poke_early (correct only at boot)", Validate: Int3Site, New: newNaiveCopy, Stateful: true,
		Takes: "old/new or sites; no disable"},
	{Name: NaiveAtomic, Meaning: "text_poke as one atomic store per site (aligned quadword), no int3, no sync", Kernel: "text_poke alone", Validate: atomicSite, New: newNaiveAtomic, Stateful: true,
		Takes: "each site one text_poke: within an aligned quadword (placement inside-line, or such an addr); no disable"},
	{Name: Flag2013, Meaning: "v3.12–v5.2 text_poke_bp: bp_patching_in_progress flag, handler redirects to the end of the instruction; flag cleared after sync3", Kernel: "v3.12–v5.2 (fd4363fff3d9)", Steps: []string{StepSync3}, Validate: Int3Site, New: newFlag2013,
		Takes: "old/new (a jump label: nop5 ↔ jmp32); disable: only sync3"},
	{Name: Batch53, Meaning: "v5.3 text_poke_bp_batch: after sync3, vec = NULL then nr_entries = 0, no sync", Kernel: "v5.3 (c0213b0ac03c)", Validate: Int3Site, New: newBatch53,
		Takes: "old/new or sites; with unrelated_int3 for the teardown race"},
	{Name: Batch55, Meaning: "v5.5 text_poke_bp_batch (285a54efe386): after sync3, nr_entries = 0, sync, vec = NULL", Kernel: "v5.5 (285a54efe386)", Validate: Int3Site, New: newBatch55,
		Takes: "old/new or sites; with unrelated_int3"},
	{Name: Desc56, Meaning: "v5.6 text_poke_bp_batch (1f676247f36a): refcounted descriptor on the writer's stack, published by pointer", Kernel: "v5.6 (1f676247f36a)", Validate: Int3Site, New: newDesc56,
		Takes: "old/new or sites; with unrelated_int3"},
	{Name: Desc60, Meaning: "v6.0 text_poke_bp_batch (efd608fa7403): refcounted static descriptor", Kernel: "v6.0 (efd608fa7403)", Validate: Int3Site, New: newDesc60,
		Takes: "old/new or sites; with unrelated_int3"},
	{Name: KprobeRCU, Meaning: "kprobe arm/disarm before 5c02ece81848: text_poke of int3, text_poke of the probed byte, synchronize_rcu, probe unregistered", Kernel: "before v5.5 (5c02ece81848)", Validate: kprobeSite, New: newKprobeRCU,
		Takes: "old = new = one 1-byte instruction, not int3 (\"90\"): the probed byte"},
	{Name: Single2025, Meaning: "2025 queue (all sites but the lowest) / single (the lowest, appended unchecked) / apply, each under its own text_mutex section", Kernel: "c8976ade0c1b (2025)", Validate: Int3Site, New: newSingle2025,
		Takes: "sites, ≥2: the lowest is poked by smp_text_poke_single, the others queued first; capacity"},
	{Name: SingleChecked, Meaning: "the same sequence with 2aebf5ee43bf: single goes through smp_text_poke_batch_add (flush first)", Kernel: "2aebf5ee43bf (June 2025)", Validate: Int3Site, New: newSingleChecked,
		Takes: "sites, ≥2, as above; capacity"},
	{Name: StopMachine2008, Meaning: "stop_machine parks the other CPUs, text_poke copies the bytes; NMIs on parked CPUs run the patched code", Kernel: "text_poke_smp, 2.6.2x–3.11", Validate: anySite, New: newStopMachine,
		Takes: "old/new or sites; nmis on the parked CPUs"},
	{Name: FtraceNMI2008, Meaning: "stop_machine plus ftrace's 2008 NMI co-writing: ftrace_nmi_enter rewrites the bytes when the write flag is set; the writer waits for NMIs", Kernel: "arch/x86/kernel/ftrace.c of 2.6.28", Validate: anySite, New: newFtraceNMI,
		Takes: "old/new or sites; nmis on the parked CPUs"},
	{Name: PermanentCurrent, Meaning: "hpa 2010: permanent int3 handler remembering only the current site; sync after the int3 only", Kernel: "proposal (LKML, 12 Jan 2010), never merged", Validate: Int3Site, New: newPermanentCurrent,
		Takes: "sites, poked in order, serialised"},
	{Name: PermanentTwo, Meaning: "hpa 2010: permanent int3 handler remembering the current and the previous site; pokes serialised", Kernel: "proposal (LKML, 12 Jan 2010), never merged", Validate: Int3Site, New: newPermanentTwo,
		Takes: "sites, poked in order, serialised"},
	{Name: PermanentParallel, Meaning: "hpa 2010: the two-site handler with two unserialised writers (sites alternate between them)", Kernel: "proposal (LKML, 12 Jan 2010), never merged", Validate: Int3Site, New: newPermanentParallel,
		Takes: "sites, ≥3: even-indexed by one writer, odd by another"},
	{Name: FtraceSkip, Meaning: "2012–v5.1 ftrace breakpoint method (08d636b6d4fb): modifying_ftrace_code, int3 / sync / tails / sync / first bytes / sync; ftrace_int3_handler skips the 5-byte site as if it were a nop", Kernel: "v3.5–v5.1 (08d636b6d4fb)", Validate: ftraceSite, New: newFtraceSkip,
		Takes: "5-byte old/new (an fentry call site)"},
	{Name: FtraceEmulate, Meaning: "v5.2 ftrace breakpoint method (9e298e860408): the same writer; ftrace_int3_handler emulates a call to ftrace_regs_caller", Kernel: "v5.2 (9e298e860408)", Validate: ftraceSite, New: newFtraceEmulate,
		Takes: "5-byte old/new (an fentry call site)"},
	{Name: KprobeSync, Meaning: "kprobe arm/disarm after 5c02ece81848: each text_poke followed by text_poke_sync, then synchronize_rcu, probe unregistered", Kernel: "v5.5 (5c02ece81848)", Validate: kprobeSite, New: newKprobeSync,
		Takes: "old = new = one 1-byte instruction, not int3 (\"90\")"},
	{Name: CrashNMIStop, Meaning: "crash path: nmi_shootdown_cpus stops the other CPUs (crash_nmi_callback halts them with interrupts off, still online), then smp_text_poke_batch_finish", Kernel: "6.16 crash path", Validate: Int3Site, New: newCrashNMIStop,
		Takes: "old/new or sites; every executor (and the kprobe CPU) is stopped first"},
	{Name: StopOtherCPUs, Meaning: "reboot path: stop_other_cpus (stop_this_cpu takes each CPU offline before halting), then smp_text_poke_batch_finish", Kernel: "6.16 reboot path", Validate: Int3Site, New: newStopOtherCPUs,
		Takes: "old/new or sites; every executor (and the kprobe CPU) is stopped first"},
}

// Register adds a variant to the table: a variant kept out of tree, or
// one a test defines. Call it from an init function only — the table is
// read, never changed, while scenarios are built and explored. It panics
// on an incomplete entry or a name already taken, as a programming error.
func Register(p Protocol) {
	switch {
	case p.Name == "" || p.Meaning == "" || p.Validate == nil || p.New == nil:
		panic(fmt.Sprintf("poke.Register(%q): Name, Meaning, Validate and New are required", p.Name))
	case Lookup(p.Name) != nil:
		panic(fmt.Sprintf("poke.Register(%q): a variant of that name exists", p.Name))
	}
	for _, s := range p.Steps {
		if !slices.Contains(Steps, s) {
			panic(fmt.Sprintf("poke.Register(%q): unknown step %q", p.Name, s))
		}
	}
	protocols = append(protocols, p)
}

// Protocols lists the variants, in table order.
func Protocols() []Protocol { return slices.Clone(protocols) }

// Lookup returns the variant of that name, or nil.
func Lookup(v Variant) *Protocol {
	for i := range protocols {
		if protocols[i].Name == v {
			return &protocols[i]
		}
	}
	return nil
}

// ParseVariant checks a variant name.
func ParseVariant(s string) (Variant, error) {
	if p := Lookup(Variant(s)); p != nil {
		return p.Name, nil
	}
	var names []string
	for _, p := range protocols {
		names = append(names, string(p.Name))
	}
	return "", fmt.Errorf("unknown protocol variant %q (want one of %s)", s, strings.Join(names, ", "))
}

// ParseSteps checks a list of step names against the variant's steps.
func ParseSteps(v Variant, names []string) (map[string]bool, error) {
	p := Lookup(v)
	if p == nil {
		_, err := ParseVariant(string(v))
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		switch {
		case !slices.Contains(Steps, n):
			return nil, fmt.Errorf("unknown step %q (want one of %s)", n, strings.Join(Steps, ", "))
		case !slices.Contains(p.Steps, n):
			return nil, fmt.Errorf("%s cannot disable %s (%s)", v, n, stepsOf(p))
		}
		out[n] = true
	}
	return out, nil
}

// stepsOf says which steps a variant can disable, and which variants can
// if it cannot.
func stepsOf(p *Protocol) string {
	if len(p.Steps) > 0 {
		return "it can disable " + strings.Join(p.Steps, ", ")
	}
	var with []string
	for _, q := range protocols {
		if len(q.Steps) > 0 {
			with = append(with, fmt.Sprintf("%s: %s", q.Name, strings.Join(q.Steps, ", ")))
		}
	}
	return "it has no step to disable; steps can be disabled only in " + strings.Join(with, "; ")
}

// Patch is what a writer applies: the sites with their new bytes, as
// entries (sorted by address, as smp_text_poke_batch_add keeps them).
type Patch struct {
	Variant  Variant
	Entries  []Entry
	Disabled map[string]bool

	protocol *Protocol
}

// NewPatch validates the sites for the variant (its Validate): the
// errors, one per site (nil where the site is fine), are
// *model.FieldError naming the site's field.
func NewPatch(v Variant, sites []model.SiteSpec, disabled map[string]bool) (*Patch, []error) {
	p := &Patch{Variant: v, Disabled: disabled, protocol: Lookup(v)}
	if p.protocol == nil {
		_, err := ParseVariant(string(v))
		return nil, []error{err}
	}
	errs := make([]error, len(sites))
	bad := false
	for i, s := range sites {
		e, err := p.protocol.Validate(s)
		if err != nil {
			var fe *model.FieldError
			if !errors.As(err, &fe) {
				fe = &model.FieldError{Field: "new", Err: err}
			}
			errs[i], bad = &model.FieldError{Site: i, Field: fe.Field, Err: fe.Err}, true
		}
		p.Entries = append(p.Entries, e)
	}
	if bad {
		return nil, errs
	}
	slices.SortStableFunc(p.Entries, func(a, b Entry) int { return cmp.Compare(a.Addr, b.Addr) })
	return p, nil
}

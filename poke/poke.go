package poke

import (
	"fmt"
	"sort"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Variant is a patch writer.
type Variant string

const (
	// BP is the int3 protocol as in Linux 6.16: smp_text_poke_batch_finish
	// over a sorted batch (text_poke_bp for a batch of one).
	BP Variant = "text_poke_bp"
	// NaiveCopy writes the new bytes with text_poke_early's memcpy on a
	// live system: one byte store at a time, no int3, no sync.
	NaiveCopy Variant = "naive-copy"
	// NaiveAtomic writes each site with text_poke as one atomic store
	// (aligned, within 8 bytes), no int3, no sync.
	NaiveAtomic Variant = "naive-atomic"
)

// VariantInfo is a writer variant with its meaning, for listings.
type VariantInfo struct {
	Name    Variant
	Meaning string
}

// Variants lists the writers with their meaning.
var Variants = []VariantInfo{
	{BP, "smp_text_poke_batch_finish (int3, sync1, tail, sync2, first byte, sync3, refs drain)"},
	{NaiveCopy, "text_poke_early's memcpy on a live system: byte stores, no int3, no sync"},
	{NaiveAtomic, "text_poke as one atomic store per site (aligned quadword), no int3, no sync"},
}

// ParseVariant checks a variant name.
func ParseVariant(s string) (Variant, error) {
	var names []string
	for _, v := range Variants {
		if string(v.Name) == s {
			return v.Name, nil
		}
		names = append(names, string(v.Name))
	}
	for _, v := range HistoryVariants {
		if string(v.Name) == s {
			return v.Name, nil
		}
		names = append(names, string(v.Name))
	}
	return "", fmt.Errorf("unknown protocol variant %q (want one of %s)", s, strings.Join(names, ", "))
}

// Named steps of smp_text_poke_batch_finish a scenario can disable.
const (
	StepRefsSet   = "refs-set"   // atomic_set_release(refs, 1) on every CPU
	StepSync1     = "sync1"      // after writing the int3s
	StepSync2     = "sync2"      // after writing the tails
	StepSync3     = "sync3"      // after writing the first bytes
	StepRefsDrain = "refs-drain" // the spin until each CPU's refs is 0
)

// Steps lists the disableable steps with their meaning.
var Steps = []struct {
	Name, Meaning string
}{
	{StepRefsSet, "publish text_poke_array: set every CPU's refcount to 1 before the first int3"},
	{StepSync1, "smp_text_poke_sync_each_cpu() after writing the int3s"},
	{StepSync2, "smp_text_poke_sync_each_cpu() after writing the tails (\"very likely not necessary\" per Intel)"},
	{StepSync3, "smp_text_poke_sync_each_cpu() after writing the first bytes"},
	{StepRefsDrain, "atomic_cond_read_acquire(refs, !VAL): wait for running handlers before clearing the vector"},
}

// ParseSteps checks a list of step names.
func ParseSteps(names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		ok := false
		for _, s := range Steps {
			ok = ok || s.Name == n
		}
		if !ok {
			var all []string
			for _, s := range Steps {
				all = append(all, s.Name)
			}
			return nil, fmt.Errorf("unknown step %q (want one of %s)", n, strings.Join(all, ", "))
		}
		out[n] = true
	}
	return out, nil
}

// Patch is what a writer applies: the sites with their new bytes, as
// entries (sorted by address, as smp_text_poke_batch_add keeps them).
type Patch struct {
	Variant  Variant
	Entries  []Entry
	Disabled map[string]bool
}

// NewPatch validates the sites for the variant: every entry must be
// accepted by __smp_text_poke_batch_add (the handler must be able to
// emulate it) and, for NaiveAtomic, every site must be one text_poke.
func NewPatch(v Variant, sites []model.SiteSpec, disabled map[string]bool) (*Patch, []error) {
	p := &Patch{Variant: v, Disabled: disabled}
	errs := make([]error, len(sites))
	bad := false
	for i, s := range sites {
		e, err := NewEntry(s.Addr, s.New)
		if IsKprobe(v) {
			// The probe's int3 goes over one probed byte and comes off.
			e, err = Entry{Addr: s.Addr, Len: len(s.New), Text: append([]byte(nil), s.New...)}, CheckTextPoke(s.Addr, len(s.New))
			if err == nil && (len(s.New) != 1 || len(s.Old) != 1 || s.Old[0] != s.New[0] || s.New[0] == INT3Opcode) {
				err = fmt.Errorf("a kprobe arms and disarms one probed byte: old and new must be the same 1-byte instruction, not int3")
			}
		}
		if err == nil && s.Emulate != nil {
			// smp_text_poke_batch_add(addr, opcode, len, emulate): the
			// handler emulates `emulate`, the text gets `opcode`.
			if len(s.Emulate) != len(s.New) {
				err = fmt.Errorf("emulate is %d bytes, the site is %d", len(s.Emulate), len(s.New))
			} else if e, err = NewEntry(s.Addr, s.Emulate); err == nil {
				e.Text = append([]byte(nil), s.New...)
			}
		}
		if err == nil && IsFtrace(v) {
			err = checkFtraceSite(s)
		}
		if IsStopMachine(v) {
			err = nil // memcpy under stop_machine: any bytes
			e = Entry{Addr: s.Addr, Len: len(s.New), Text: append([]byte(nil), s.New...)}
		}
		if err == nil && v == NaiveAtomic {
			err = CheckTextPoke(s.Addr, len(s.New))
		}
		if err != nil {
			errs[i], bad = err, true
		}
		p.Entries = append(p.Entries, e)
	}
	if bad {
		return nil, errs
	}
	sort.SliceStable(p.Entries, func(a, b int) bool { return p.Entries[a].Addr < p.Entries[b].Addr })
	return p, nil
}

// Poker is the protocol's state in one execution: text_poke_array (the
// vector and nr_entries) and the per-CPU text_poke_array_refs.
type Poker struct {
	m     *model.Machine
	patch *Patch

	refsObj explore.Obj // text_poke_array_refs[cpu]
	refs    []int32
	descObj explore.Obj // nr_entries, vec[0..capacity)
	nr      int
	vec     []Entry // vec[:nr] is the queue; len(vec) is the capacity

	h    *history   // the state of a historical generation (history.go)
	stop *stopState // the stop protocol before a crash-path poke (stopped.go)
}

// Install allocates the protocol's state on the machine, queues the batch
// (the input state of smp_text_poke_batch_finish: vec filled, nr_entries
// set) and installs the int3 handler. The vector holds at least
// `capacity` entries (TEXT_POKE_ARRAY_MAX in the kernel) for BatchAdd.
func Install(m *model.Machine, p *Patch, capacity ...int) *Poker {
	k := &Poker{m: m, patch: p}
	n := len(m.CPUs)
	k.refsObj = m.S.Objects("text_poke_array_refs", n)
	k.refs = make([]int32, n)
	size := max(len(p.Entries), 1)
	if len(capacity) > 0 {
		size = max(size, capacity[0])
		if IsSingle(p.Variant) && capacity[0] > 0 {
			size = capacity[0] // the sites go through the adds, not all at once
		}
	}
	k.descObj = m.S.Objects("text_poke_array", 1+size)
	k.vec = make([]Entry, size)
	copy(k.vec, p.Entries)
	if p.Variant == BP || IsStopped(p.Variant) {
		k.nr = len(p.Entries)
	}
	if IsStopped(p.Variant) {
		k.stop = &stopState{obj: m.S.Object("stop: waiting_for_crash_ipi / online CPUs")}
	}
	m.Int3 = k.Int3Handler
	if IsHistory(p.Variant) {
		k.installHistory()
	}
	return k
}

// Refs returns a CPU's refcount (for checks).
func (k *Poker) Refs(cpu int) int32 { return k.refs[cpu] }

// NrEntries returns text_poke_array.nr_entries (for checks).
func (k *Poker) NrEntries() int { return k.nr }

func (k *Poker) enabled(step string) bool { return !k.patch.Disabled[step] }

// Writer returns the body of the patch writer, which runs on CPU 0.
func (k *Poker) Writer() func(t *explore.Thread) {
	return func(t *explore.Thread) {
		switch k.patch.Variant {
		case BP:
			k.BatchFinish(t)
		case Flag2013, Batch53, Batch55, Desc56, Desc60, KprobeRCU, KprobeSync, Single2025, SingleChecked, StopMachine2008, FtraceNMI2008, PermanentCurrent, PermanentTwo, PermanentParallel, FtraceSkip, FtraceEmulate:
			k.historyWriter(t)
		case CrashNMIStop, StopOtherCPUs:
			k.stopThenPoke(t)
		case NaiveCopy:
			for _, e := range k.patch.Entries {
				k.TextPokeEarly(t, e.Addr, e.Text)
			}
		case NaiveAtomic:
			for _, e := range k.patch.Entries {
				if err := k.TextPoke(t, e.Addr, e.Text); err != nil {
					panic(err) // NewPatch checked it
				}
			}
		}
		t.Op("return", k.m.ReturnFP())
		k.m.WriterDone()
		if t.Tracing() {
			t.Note("writer: returns")
		}
	}
}

// nmi is the writer CPU's NMI point after each of its operations.
func (k *Poker) nmi(t *explore.Thread) { k.m.CPUs[0].NMIPoint(t) }

// TextPokeEarly mirrors text_poke_early: memcpy (one byte store at a
// time, ascending) with interrupts off, then sync_core on the local CPU.
// It is correct only when no other CPU can execute the bytes.
func (k *Poker) TextPokeEarly(t *explore.Thread, addr uint64, b []byte) {
	k.memcpy(t, "text_poke_early", addr, b)
}

// memcpy stores b byte by byte, then serializes the writer's CPU (the
// sync_core of text_poke_early, the CR3 switch-back of text_poke).
func (k *Poker) memcpy(t *explore.Thread, name string, addr uint64, b []byte) {
	m := k.m
	for i := range b {
		a := addr + uint64(i)
		t.Op(name, m.WriteFP(a, 1))
		m.SetWriterStep(t, name)
		m.Store(a, b[i:i+1])
		if i == len(b)-1 {
			m.CPUs[0].Serialize()
		}
		k.nmi(t)
	}
}

// TextPoke mirrors text_poke for an atomic write: it checks the
// documented constraint (CheckTextPoke) and writes the bytes as one store.
func (k *Poker) TextPoke(t *explore.Thread, addr uint64, b []byte) error {
	if err := CheckTextPoke(addr, len(b)); err != nil {
		return err
	}
	m := k.m
	t.Op("text_poke", m.WriteFP(addr, len(b)))
	m.SetWriterStep(t, "text_poke")
	m.Store(addr, b)
	m.CPUs[0].Serialize()
	k.nmi(t)
	return nil
}

// sync is smp_text_poke_sync_each_cpu unless the step is disabled.
func (k *Poker) sync(t *explore.Thread, step string) {
	if !k.enabled(step) {
		return
	}
	k.m.SyncEachCPU(t, k.m.CPUs[0], step, func() { k.nmi(t) })
}

// BatchAdd mirrors smp_text_poke_batch_add: the vector must stay sorted
// by address and within its capacity, so it first runs the queued batch
// (BatchFinish) when it is full or when e's address is below the last
// queued one; then it appends e (one operation writing the vector).
func (k *Poker) BatchAdd(t *explore.Thread, e Entry) {
	if k.nr == len(k.vec) || (k.nr > 0 && k.vec[k.nr-1].Addr > e.Addr) {
		k.BatchFinish(t)
	}
	t.Op("smp_text_poke_batch_add", explore.WRange(k.descObj, 1+len(k.vec)))
	k.m.SetWriterStep(t, "smp_text_poke_batch_add")
	k.vec[k.nr] = e
	k.nr++
	k.nmi(t)
}

// TextPokeBP mirrors smp_text_poke_single (formerly text_poke_bp) as fixed
// in June 2025: it goes through the checked add, then runs the batch.
func (k *Poker) TextPokeBP(t *explore.Thread, e Entry) {
	k.BatchAdd(t, e)
	k.BatchFinish(t)
}

// BatchFinish mirrors smp_text_poke_batch_finish (6.16), step by step.
func (k *Poker) BatchFinish(t *explore.Thread) {
	m := k.m
	if k.nr == 0 {
		return
	}
	// for_each_possible_cpu: atomic_set_release(refs, 1).
	if k.enabled(StepRefsSet) {
		t.Op(StepRefsSet, explore.WRange(k.refsObj, len(k.refs)))
		m.SetWriterStep(t, StepRefsSet)
		for i := range k.refs {
			k.refs[i] = 1
		}
		k.nmi(t)
	}
	// cond_resched(); smp_wmb() — no effect in the model. Then the
	// three steps: an int3 at every site, sync1; all but the first
	// bytes, sync2 if any was written; the first bytes over the int3s
	// (unless the new instruction is itself an int3), sync3 if any was.
	k.threePhases(t, k.vec[:k.nr])
	// Remove and wait for refs to be zero.
	for i := range k.refs {
		t.Op("refs-drain: atomic_dec_and_test", explore.W(k.refsObj+explore.Obj(i)))
		m.SetWriterStep(t, "refs-drain")
		k.refs[i]--
		k.nmi(t)
		if k.refs[i] != 0 && k.enabled(StepRefsDrain) {
			t.Await("refs-drain: wait for refs == 0", explore.R(k.refsObj+explore.Obj(i)), func() bool { return k.refs[i] == 0 })
			k.nmi(t)
		}
	}
	// They are all completed.
	t.Op("nr_entries = 0", explore.W(k.descObj))
	m.SetWriterStep(t, "nr_entries = 0")
	k.nr = 0
	k.nmi(t)
}

// Int3Handler mirrors smp_text_poke_int3_handler: it takes this CPU's
// reference, finds the trapping address in the vector (bsearch when it
// has more than one entry), emulates the entry's instruction and drops the
// reference. It returns false ("not mine") when it gets no reference,
// finds no entry, or the entry is an INT3.
func (k *Poker) Int3Handler(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	m := k.m
	// user_mode(regs): the model traps only in kernel text.
	// smp_rmb(): pairs with the writer's smp_wmb; no effect in the model.
	ref := k.refsObj + explore.Obj(c.ID)
	t.Op("int3: try_get_text_poke_array", explore.W(ref))
	if k.refs[c.ID] == 0 { // raw_atomic_inc_not_zero failed
		return false
	}
	k.refs[c.ID]++
	ip := regs.IP - 1 // discount the INT3
	t.Op("int3: search text_poke_array", explore.RRange(k.descObj, 1+len(k.vec)))
	if k.nr == 0 {
		m.ReportHandlerFault(c, "the handler holds a reference but text_poke_array was already cleared (nr_entries = 0): it reads a stale vec[0]")
	}
	tpl := lookupEntry(k.vec, k.nr, ip)
	handled := false
	if tpl != nil {
		next := ip + uint64(tpl.Len)
		switch tpl.Opcode {
		case INT3Opcode:
			// Someone poked an explicit INT3; they'll want to handle it.
		case RETOpcode:
			regs.IP = regs.Pop()
			handled = true
		case CALLOpcode:
			regs.Push(next) // int3_emulate_call
			regs.IP = next + uint64(int64(tpl.Disp))
			handled = true
		case JMP32Opcode, JMP8Opcode:
			regs.IP = next + uint64(int64(tpl.Disp))
			handled = true
		default:
			m.ReportHandlerFault(c, fmt.Sprintf("BUG(): the vector entry at %#x has opcode %#02x, which the handler cannot emulate", tpl.Addr, tpl.Opcode))
		}
	}
	t.Op("int3: put_text_poke_array", explore.W(ref))
	k.refs[c.ID]--
	noteHandled(t, c, regs, handled)
	return handled
}

// noteHandled narrates an int3 handler's answer for rendered traces.
func noteHandled(t *explore.Thread, c *model.CPU, regs *model.Regs, handled bool) {
	if !t.Tracing() {
		return
	}
	if handled {
		t.Notef("cpu%d: int3 handler: emulated, continue at %#x", c.ID, regs.IP)
	} else {
		t.Notef("cpu%d: int3 handler: not mine", c.ID)
	}
}

// lookupEntry finds the entry for a trapped address in vec[0..n): the
// handler's __inline_bsearch when the vector has more than one entry, a
// single comparison otherwise (as smp_text_poke_int3_handler does). It
// returns nil when the int3 is not one of ours.
func lookupEntry(vec []Entry, n int, ip uint64) *Entry {
	if n > 1 {
		lo, hi := 0, n
		for lo < hi {
			mid := (lo + hi) / 2
			switch a := vec[mid].Addr; {
			case ip < a:
				hi = mid
			case ip > a:
				lo = mid + 1
			default:
				return &vec[mid]
			}
		}
		return nil
	}
	if vec[0].Addr == ip {
		return &vec[0]
	}
	return nil
}

package catalog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/klpcheck/klpcheck/arch/arm64"
	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/props"
)

// Arm64Params are the parameters of an arm64 text-patching scenario: a
// writer on CPU 0 runs a kernel protocol over one patch site while
// executor CPUs call the function that holds it. A litmus scenario gives
// litmus instead.
type Arm64Params struct {
	// Protocol is the writer (see arm64.Protocols): nosync, patch-text,
	// patch-text-first-cpu, jump-label-2024, jump-label, ftrace.
	Protocol string `json:"protocol,omitempty"`
	// Site is the code around the site: jump-label (nop ↔ b), ftrace
	// (nop ↔ bl ftrace_caller after mov x9, x30) or insn (old ↔ new).
	// Default: jump-label for the jump-label protocols, ftrace for
	// ftrace, insn otherwise.
	Site string `json:"site,omitempty"`
	// Disable: the site goes from its enabled form back to nop.
	Disable bool `json:"disable,omitempty"`
	// Entries is the number of jump entries of the key (1..2, default 1):
	// with 2, functions f and g each hold one and the tasks call both.
	Entries int `json:"entries,omitempty"`
	// Old and New are the insn site's instructions as 32-bit hex words
	// (default d503201f nop → aa1e03e9 mov x9, x30).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Fetch is the cache type: idc0 (default: DC CVAU is needed before IC
	// IVAU) or idc1 (CTR_EL0.IDC set: it is not).
	Fetch string `json:"fetch,omitempty"`
	// CPUs is the number of executor CPUs besides the writer's (1..2,
	// default 1); Calls the calls of the function each makes (1..3,
	// default 2).
	CPUs  int `json:"cpus,omitempty"`
	Calls int `json:"calls,omitempty"`
	// Disable lists named steps to remove: dc, ic (of
	// caches_clean_inval_pou), kick (kick_all_cpus_sync).
	DisableSteps []string `json:"disable_steps,omitempty"`
	// Ignore lists properties not to judge (final-text, stale-after-sync),
	// for protocols that do not promise them.
	Ignore []string `json:"ignore,omitempty"`
	// Litmus is an instruction-fetch litmus test (see arm64.Litmus);
	// nothing else may be given with it.
	Litmus *arm64.Litmus `json:"litmus,omitempty"`
}

type arm64Kind struct{}

// Arm64 is the kind of arm64 text-patching scenarios and instruction-fetch
// litmus tests, on the cmodx machine.
func Arm64() Kind { return arm64Kind{} }

func (arm64Kind) Name() string { return "arm64" }

// fixedProperties lists the fixed-ISA properties but the ones a kind
// cannot violate, then extra.
func fixedProperties(skip string, extra ...props.Property[*cmodx.Machine]) []Property {
	var out []Property
	for _, p := range append(slices.Clip(props.FixedProperties), extra...) {
		if p.ID != skip {
			out = append(out, Property{ID: p.ID, Meaning: p.Meaning})
		}
	}
	return out
}

// Properties: an aligned A64 word never tears, so torn-decode is not
// among them.
func (arm64Kind) Properties() []Property {
	return fixedProperties(props.TornDecode, props.LitmusProperties...)
}

// parseWord reads a 32-bit instruction word in hex ("d503201f").
func parseWord(s string) (uint32, error) {
	b, err := parseHexBytes(s)
	if err != nil {
		return 0, err
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("%q is %d bytes; want one 32-bit word such as d503201f", s, len(b))
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// checkIgnore validates an ignore list.
func checkIgnore(name string, ignore []string) error {
	for i, p := range ignore {
		if p != props.FinalText && p != props.StaleAfterSync {
			return fmt.Errorf("scenario %q: params.ignore[%d]: %q; only final-text and stale-after-sync can be ignored", name, i, p)
		}
	}
	return nil
}

func (arm64Kind) Build(s Scenario) (explore.Program, error) {
	var p Arm64Params
	if len(s.Params) == 0 {
		return nil, fmt.Errorf("scenario %q: params: an arm64 scenario needs params (protocol, or litmus)", s.Name)
	}
	if err := DecodeParams(s, &p); err != nil {
		return nil, err
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("scenario %q: params.%s: %s", s.Name, field, fmt.Sprintf(format, args...))
	}
	if p.Litmus != nil {
		if p.Protocol != "" || p.Site != "" || p.Disable || p.Old != "" || p.New != "" || p.CPUs != 0 || p.Calls != 0 || p.Fetch != "" || p.Entries != 0 || len(p.Ignore) > 0 || len(p.DisableSteps) > 0 {
			return nil, bad("litmus", "a litmus scenario takes no other parameter")
		}
		prog, err := arm64.LitmusProgram(p.Litmus, props.Exists)
		if err != nil {
			return nil, bad("litmus", "%v", err)
		}
		return prog, nil
	}
	if p.Protocol == "" {
		return nil, bad("protocol", "missing: want one of %v (or give litmus)", arm64.ProtocolNames())
	}
	proto, err := arm64.FindProtocol(p.Protocol)
	if err != nil {
		return nil, bad("protocol", "%v", err)
	}
	site := p.Site
	if site == "" {
		site = proto.Site
	}
	old, nw := uint32(arm64.NOP), uint32(arm64.MovX9)
	if p.Old != "" || p.New != "" {
		if site != arm64.SiteInsn {
			return nil, bad("old", "old and new are for the insn site only (site is %s)", site)
		}
	}
	if p.Old != "" {
		if old, err = parseWord(p.Old); err != nil {
			return nil, bad("old", "%v", err)
		}
	}
	if p.New != "" {
		if nw, err = parseWord(p.New); err != nil {
			return nil, bad("new", "%v", err)
		}
	}
	if p.Disable && site == arm64.SiteInsn {
		return nil, bad("disable", "the insn site has no disabled form; swap old and new")
	}
	entries := p.Entries
	if entries == 0 {
		entries = 1
	}
	if entries < 1 || entries > 2 {
		return nil, bad("entries", "%d; want 1..2", p.Entries)
	}
	if entries > 1 && site != arm64.SiteJumpLabel {
		return nil, bad("entries", "several entries are for the jump-label site only (site is %s)", site)
	}
	layout, err := arm64.FunctionLayout(site, !p.Disable, old, nw, entries)
	if err != nil {
		field := "site"
		if site == arm64.SiteInsn {
			field = "old"
		}
		return nil, bad(field, "%v", err)
	}
	cpus, calls := p.CPUs, p.Calls
	if cpus == 0 {
		cpus = 1
	}
	if calls == 0 {
		calls = 2
	}
	if cpus < 1 || cpus > 2 {
		return nil, bad("cpus", "%d executor CPUs; want 1..2 besides the writer", p.CPUs)
	}
	if calls < 1 || calls > 3 {
		return nil, bad("calls", "%d; want 1..3 per CPU", p.Calls)
	}
	if err := checkIgnore(s.Name, p.Ignore); err != nil {
		return nil, err
	}
	isa := arm64.ISA{}
	switch p.Fetch {
	case "", "idc0":
	case "idc1":
		isa.IDC = true
	default:
		return nil, bad("fetch", "unknown cache type %q (want idc0 or idc1)", p.Fetch)
	}
	disabled, err := arm64.ParseSteps(p.DisableSteps)
	if err != nil {
		return nil, bad("disable_steps", "%v", err)
	}
	if disabled["kick"] && p.Protocol != "jump-label" {
		return nil, bad("disable_steps", "kick is a step of the jump-label protocol only")
	}
	return fixedProgram(isa, layout, cpus, calls, true, proto.StopMachine, func(m *cmodx.Machine) func(*explore.Thread) {
		return arm64.Writer(proto, m, disabled)
	}, p.Ignore), nil
}

// fixedProgram builds an execution of the cmodx machine: the writer on
// CPU 0, executors calling the function at the layout's base.
func fixedProgram(isa cmodx.ISA, l *cmodx.Layout, cpus, calls int, preempt, stop bool, writer func(*cmodx.Machine) func(*explore.Thread), ignore []string) explore.Program {
	return func(sys *explore.System) {
		m := cmodx.NewMachine(sys, isa, l, cmodx.Config{CPUs: cpus + 1})
		sys.SetModel(m)
		if stop {
			m.NewStopMachine()
		}
		props.InstallFixed(sys, m, ignore)
		sys.Go("writer", writer(m))
		for i := 1; i <= cpus; i++ {
			c := m.CPUs[i]
			c.Preemptible = preempt
			sys.Go(fmt.Sprintf("cpu%d", i), m.RunTask(c, l.Calls(), calls))
		}
	}
}

func wordHex(w uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], w)
	return fmt.Sprintf("%x", b[:])
}

func arm64Scenario(name, table, row, col, desc string, p Arm64Params, expect string) Scenario {
	raw, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return Scenario{Name: "arm64/" + name, Kind: "arm64", Description: desc, Params: raw,
		Explore: &Bounds{Strategy: "dpor", MaxSteps: 2000}, Table: table, Row: row, Column: col, Expect: expect}
}

func (arm64Kind) Builtin() []Scenario {
	const table = "arm64 text patching (writer on cpu0; 1 executor calls f twice, 2 executors once each)"
	rows := []struct {
		name, row, desc string
		p               Arm64Params
		expect          [2]string // 1 and 2 executors
	}{
		{"jump-label-2024", "jump label before cfb00a357864 (2024)",
			"static_key_enable with the pre-v6.11 arch_jump_label_transform: aarch64_insn_patch_text_nosync and no synchronisation of the other CPUs, which may keep executing the old nop after static_key_enable returned",
			Arm64Params{Protocol: "jump-label-2024"}, [2]string{"violation:final-text", "violation:final-text"}},
		{"jump-label", "jump label since cfb00a357864",
			"arch_jump_label_transform_queue + arch_jump_label_transform_apply: kick_all_cpus_sync after the batch (Will Deacon, 2024)",
			Arm64Params{Protocol: "jump-label"}, [2]string{"safe", "safe"}},
		{"jump-label-2024-two", "jump label before cfb00a357864, 2 entries (f, g once)",
			"the pre-v6.11 code on a key with two jump entries (in f and g), patched one after the other with no synchronisation",
			Arm64Params{Protocol: "jump-label-2024", Entries: 2}, [2]string{"violation:final-text", "violation:final-text"}},
		{"jump-label-two", "jump label since cfb00a357864, 2 entries (f, g once)",
			"the batched update of a key with two jump entries: both queued, one kick_all_cpus_sync for the batch",
			Arm64Params{Protocol: "jump-label", Entries: 2}, [2]string{"safe", "safe"}},
		{"jump-label-disable", "jump label since cfb00a357864, b → nop",
			"static_key_disable with the batched update and kick_all_cpus_sync",
			Arm64Params{Protocol: "jump-label", Disable: true}, [2]string{"safe", "safe"}},
		{"jump-label-no-ic", "jump label since cfb00a357864, without ic ivau",
			"the batched update with caches_clean_inval_pou's ic ivau removed: kick_all_cpus_sync makes every CPU synchronise its context, but its instruction cache still holds the old nop",
			Arm64Params{Protocol: "jump-label", DisableSteps: []string{"ic"}}, [2]string{"violation:stale-after-sync", "violation:stale-after-sync"}},
		{"jump-label-no-dc", "jump label since cfb00a357864, without dc cvau",
			"the batched update with caches_clean_inval_pou's dc cvau removed: the ic ivau invalidates, but a refill may still read the old nop from the point of unification",
			Arm64Params{Protocol: "jump-label", DisableSteps: []string{"dc"}}, [2]string{"violation:stale-after-sync", "violation:stale-after-sync"}},
		{"jump-label-no-dc-idc1", "the same without dc cvau, on IDC=1 hardware",
			"the batched update without dc cvau on a CPU whose CTR_EL0.IDC says the clean is not needed for coherence: the ic ivau and the IPI suffice",
			Arm64Params{Protocol: "jump-label", DisableSteps: []string{"dc"}, Fetch: "idc1"}, [2]string{"safe", "safe"}},
		{"ftrace", "ftrace nop → bl (CMODX, no sync)",
			"ftrace_make_call via ftrace_modify_code and aarch64_insn_patch_text_nosync: NOP and BL may be concurrently modified; final-text is not judged, since ftrace does not synchronise the other CPUs (see the next row)",
			Arm64Params{Protocol: "ftrace", Ignore: []string{props.FinalText}}, [2]string{"safe", "safe"}},
		{"ftrace-final-text", "ftrace nop → bl, final-text judged",
			"the same writer with final-text judged: another CPU may still run the old nop after ftrace_modify_all_code returned (ftrace promises no bound; by design, as the 2024 jump-label bug was not)",
			Arm64Params{Protocol: "ftrace"}, [2]string{"violation:final-text", "violation:final-text"}},
		{"patch-text-mov", "nop → mov x9, x30 via aarch64_insn_patch_text",
			"a pair outside the CMODX set patched under stop_machine: every other CPU is in the stopper while the word changes and executes isb before it returns to the task",
			Arm64Params{Protocol: "patch-text"}, [2]string{"safe", "safe"}},
		{"nosync-mov", "nop → mov x9, x30 via aarch64_insn_patch_text_nosync",
			"the same pair patched live: a CPU that may see both encodings executes a CONSTRAINED UNPREDICTABLE instruction",
			Arm64Params{Protocol: "nosync"}, [2]string{"violation:cmodx", "violation:cmodx"}},
		{"patch-text-first-cpu", "aarch64_insn_patch_text, first CPU master (2013)",
			"ae16480785de's callback: the first CPU to arrive patches and sets cpu_count to -1; a CPU arriving after that increments it to 0 and spins for ever (fixed by William Cohen: the last CPU to arrive patches)",
			Arm64Params{Protocol: "patch-text-first-cpu"}, [2]string{"violation:deadlock", "violation:deadlock"}},
	}
	var out []Scenario
	for _, r := range rows {
		for i, cpus := range []int{1, 2} {
			p := r.p
			p.CPUs, p.Calls = cpus, 3-cpus
			if p.Entries > 1 {
				// A key with two entries: one executor calling f and g
				// once (DPOR: 1.5k executions; twice: 77k; two
				// executors: 3M in 5 minutes).
				if cpus > 1 {
					continue
				}
				p.Calls = 1
			}
			col := fmt.Sprintf("%d executor", cpus)
			if cpus > 1 {
				col += "s"
			}
			out = append(out, arm64Scenario(fmt.Sprintf("%s/%dcpu", r.name, cpus), table, r.row, col, r.desc, p, r.expect[i]))
		}
	}
	return append(out, arm64LitmusScenarios()...)
}

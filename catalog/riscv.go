package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/klpcheck/klpcheck/arch/riscv"
	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/props"
)

// RiscvParams are the parameters of a RISC-V text-patching scenario: a
// writer on hart 0 runs a kernel protocol over one patch site while
// executor harts call the function that holds it.
type RiscvParams struct {
	// Protocol is the writer (see riscv.Protocols): ftrace-stop-machine,
	// ftrace-pair-nosync, ftrace-2025, patch-text-2023, patch-text.
	Protocol string `json:"protocol"`
	// Site is the code around the site: ftrace-pair, ftrace-2025 or
	// jump-label. Default: ftrace-pair for the ftrace-pair protocols,
	// ftrace-2025 for the ftrace-2025 protocols, jump-label otherwise.
	Site string `json:"site,omitempty"`
	// Disable: the site goes from its enabled form back to nops.
	Disable bool `json:"disable,omitempty"`
	// Misaligned puts the site at f+2 (after a c.nop) instead of f.
	Misaligned bool `json:"misaligned,omitempty"`
	// Fetch is the fetch model: ziccif (default: naturally aligned 4-byte
	// fetches are atomic) or parcel (each 2-byte parcel on its own).
	Fetch string `json:"fetch,omitempty"`
	// Rfence is how flush_icache_all() reaches other harts: ipi (default)
	// or sbi.
	Rfence string `json:"rfence,omitempty"`
	// Preempt: the executors' tasks are preemptible at every instruction
	// (CONFIG_PREEMPT); otherwise only between calls.
	Preempt bool `json:"preempt,omitempty"`
	// CPUs is the number of executor harts (1..2, default 1); Calls the
	// calls of the function each makes (1..3, default 2).
	CPUs  int `json:"cpus,omitempty"`
	Calls int `json:"calls,omitempty"`
	// DisableSteps lists named steps to remove: remote-fence
	// (flush_icache_all's remote part), callback-fence (the harts'
	// fence.i at the end of a stop_machine callback).
	DisableSteps []string `json:"disable_steps,omitempty"`
	// Ignore lists properties not to judge (final-text,
	// stale-after-sync).
	Ignore []string `json:"ignore,omitempty"`
}

type riscvKind struct{}

// Riscv is the kind of RISC-V text-patching scenarios on the cmodx
// machine.
func Riscv() Kind { return riscvKind{} }

func (riscvKind) Name() string { return "riscv" }

// Properties: RISC-V has no CMODX list (an aligned word is fetched
// atomically; what tears is judged by torn-decode), so cmodx is not among
// them.
func (riscvKind) Properties() []Property { return fixedProperties(props.CMODX) }

func (riscvKind) Build(s Scenario) (explore.Program, error) {
	var p RiscvParams
	if len(s.Params) == 0 {
		return nil, fmt.Errorf("scenario %q: params: a riscv scenario needs params (protocol)", s.Name)
	}
	if err := DecodeParams(s, &p); err != nil {
		return nil, err
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("scenario %q: params.%s: %s", s.Name, field, fmt.Sprintf(format, args...))
	}
	if p.Protocol == "" {
		return nil, bad("protocol", "missing: want one of %v", riscv.ProtocolNames())
	}
	proto, err := riscv.FindProtocol(p.Protocol)
	if err != nil {
		return nil, bad("protocol", "%v", err)
	}
	site := p.Site
	if site == "" {
		site = proto.Site
	}
	unit := 4
	switch p.Fetch {
	case "", "ziccif":
	case "parcel":
		unit = 2
	default:
		return nil, bad("fetch", "unknown fetch model %q (want ziccif or parcel)", p.Fetch)
	}
	rf := riscv.RfenceIPI
	switch p.Rfence {
	case "", "ipi":
	case "sbi":
		rf = riscv.RfenceSBI
	default:
		return nil, bad("rfence", "unknown remote fence %q (want ipi or sbi)", p.Rfence)
	}
	layout, err := riscv.FunctionLayout(site, p.Misaligned, unit, p.Disable)
	if err != nil {
		return nil, bad("site", "%v", err)
	}
	cpus, calls := p.CPUs, p.Calls
	if cpus == 0 {
		cpus = 1
	}
	if calls == 0 {
		calls = 2
	}
	if cpus < 1 || cpus > 2 {
		return nil, bad("cpus", "%d executor harts; want 1..2 besides the writer", p.CPUs)
	}
	if calls < 1 || calls > 3 {
		return nil, bad("calls", "%d; want 1..3 per hart", p.Calls)
	}
	if err := checkIgnore(s.Name, p.Ignore); err != nil {
		return nil, err
	}
	disabled, err := riscv.ParseSteps(p.DisableSteps)
	if err != nil {
		return nil, bad("disable_steps", "%v", err)
	}
	return fixedProgram(riscv.ISA{}, layout, cpus, calls, p.Preempt, proto.StopMachine, func(m *cmodx.Machine) func(*explore.Thread) {
		return riscv.Writer(proto, m, rf, disabled)
	}, p.Ignore), nil
}

func riscvScenario(name, table, row, col, desc string, p RiscvParams, expect string) Scenario {
	raw, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return Scenario{Name: "riscv/" + name, Kind: "riscv", Description: desc, Params: raw,
		Explore: &Bounds{Strategy: "dpor", MaxSteps: 2000}, Table: table, Row: row, Column: col, Expect: expect}
}

func (riscvKind) Builtin() []Scenario {
	const table = "riscv text patching (writer on hart0; 1 executor calls f twice, 2 executors once each)"
	rows := []struct {
		name, row, desc string
		p               RiscvParams
		expect          string
	}{
		{"ftrace-pair-preempt", "ftrace auipc+jalr pair, stop_machine, CONFIG_PREEMPT",
			"dynamic ftrace before 2025 on a preemptible kernel: a task preempted after the first nop of the pair lets stop_machine rewrite both words, then resumes at the new jalr with t0 never set by an auipc (Andy Chiu / Guo Ren 2023; Mark Rutland, March 2024)",
			RiscvParams{Protocol: "ftrace-stop-machine", Preempt: true}, "violation:mixed-pair"},
		{"ftrace-pair-nopreempt", "ftrace auipc+jalr pair, stop_machine, !PREEMPT",
			"the same protocol where a task is preempted only at its schedule points (the 2023 workaround made dynamic ftrace depend on !PREEMPTION): the stopper never runs between the two instructions",
			RiscvParams{Protocol: "ftrace-stop-machine"}, "safe"},
		{"ftrace-pair-nosync", "ftrace auipc+jalr pair written live, !PREEMPT",
			"the pre-2025 pair written without stop_machine (one aligned 8-byte store): a hart fetches the two instructions one at a time, so it can execute the old first nop and the new jalr — why the pair needed stop_machine at all",
			RiscvParams{Protocol: "ftrace-pair-nosync"}, "violation:mixed-pair"},
		{"ftrace-2025-preempt", "ftrace 2025: auipc fixed, nop ↔ jalr, CONFIG_PREEMPT",
			"the 2025 scheme (atomic patching and preempt improvements): only the jalr word changes, one aligned 4-byte store that Ziccif fetches atomically; flush_icache_all() after",
			RiscvParams{Protocol: "ftrace-2025", Preempt: true}, "safe"},
		{"ftrace-2025-misaligned", "ftrace 2025, site at 2 mod 4",
			"the 2025 scheme on a site that is only 2-byte aligned (compressed code without the 4-byte alignment of patchable function entries the series added): the jalr is written as two 2-byte stores and fetched as two pieces",
			RiscvParams{Protocol: "ftrace-2025", Preempt: true, Misaligned: true}, "violation:torn-decode"},
		{"ftrace-2025-parcel", "ftrace 2025 without Ziccif (parcel fetch)",
			"the 2025 scheme on a hart that fetches 2-byte parcels separately (no Ziccif): the aligned jalr store can still be fetched half old, half new",
			RiscvParams{Protocol: "ftrace-2025", Preempt: true, Fetch: "parcel"}, "violation:torn-decode"},
		{"ftrace-2025-no-remote-fence", "ftrace 2025 without the remote fence",
			"the 2025 scheme with flush_icache_all()'s remote fence removed (disable_steps remote-fence): another hart keeps executing its stale nop after the writer returned",
			RiscvParams{Protocol: "ftrace-2025", Preempt: true, DisableSteps: []string{"remote-fence"}}, "violation:final-text"},
		{"patch-text-2023-ipi", "patch_text before c97bf629963e, IPI remote fence",
			"patch_text_cb's master calls patch_text_nosync(), whose flush_icache_all() sends IPIs to harts spinning in stop_machine with interrupts disabled: the system hangs (fixed by c97bf629963e, Alexandre Ghiti 2024)",
			RiscvParams{Protocol: "patch-text-2023", Preempt: true}, "violation:deadlock"},
		{"patch-text-2023-sbi", "patch_text before c97bf629963e, SBI remote fence",
			"the same code with SBI remote fences, which the firmware delivers whatever the S-mode interrupt state: why it worked before IPI-based fences (AIA)",
			RiscvParams{Protocol: "patch-text-2023", Preempt: true, Rfence: "sbi"}, "safe"},
		{"patch-text", "patch_text since c97bf629963e",
			"every hart runs the callback and its own local_flush_icache_all() after the master released it",
			RiscvParams{Protocol: "patch-text", Preempt: true}, "safe"},
		{"patch-text-no-callback-fence", "patch_text since c97bf629963e without the harts' fence.i",
			"the same with the local_flush_icache_all() at the end of the callback removed (disable_steps callback-fence): a hart leaves stop_machine, where the writer's update should have reached it, with the old nop still in its instruction cache",
			RiscvParams{Protocol: "patch-text", Preempt: true, DisableSteps: []string{"callback-fence"}}, "violation:stale-after-sync"},
	}
	var out []Scenario
	for _, r := range rows {
		for _, cpus := range []int{1, 2} {
			p := r.p
			p.CPUs, p.Calls = cpus, 3-cpus
			col := fmt.Sprintf("%d executor", cpus)
			if cpus > 1 {
				col += "s"
			}
			out = append(out, riscvScenario(fmt.Sprintf("%s/%dcpu", r.name, cpus), table, r.row, col, r.desc, p, r.expect))
		}
	}
	return out
}

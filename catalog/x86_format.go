package catalog

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/poke"
)

// The x86 kind's parameters as `klpcheck list format` documents them:
// the common parameters, then one row per writer variant saying which
// site shapes and parameters it takes (its meaning comes from poke's
// tables, so a variant is described in one place).

// x86ParamDoc is one parameter of an x86 scenario.
type x86ParamDoc struct{ Field, Doc string }

var x86ParamDocs = []x86ParamDoc{
	{"cpus", fmt.Sprintf("executor CPUs besides the writer's CPU 0 (1..%d, default 2)", x86MaxCPUs)},
	{"executions", fmt.Sprintf("calls of the patched code per executor (1..%d, default 1)", x86MaxExecutions)},
	{"nmis", fmt.Sprintf("NMIs per executor (0..%d); an NMI handler calls the patched code", x86MaxNMIs)},
	{"writer_nmis", fmt.Sprintf("NMIs on the writer's CPU (0..%d)", x86MaxNMIs)},
	{"prelude", fmt.Sprintf("instructions of other code before each call (0..%d): IPIs, NMIs, stale:N line fills; default nmis + the site's lines under stale:N (docs/x86.md)", x86MaxPrelude)},
	{"unrelated_int3", "a CPU of its own hits a kprobe's int3 at any time; the poke handler must say \"not mine\""},
	{"kprobe_hits", fmt.Sprintf("how often that CPU traps (1..%d, default 1; needs unrelated_int3)", x86MaxKprobeHits)},
	{"nohz_full", "executors are NOHZ_FULL CPUs whose syncs are deferred while in user mode: call, user mode, entry, deferred sync_core, call"},
	{"site_in_entry", "with nohz_full: the second call runs in early entry code, before the deferred sync_core (noinstr rule broken)"},
	{"fetch", "bytewise (default), block:N, stale:N (N = 8, 16, 32, 64)"},
	{"variant", "the writer (below; default text_poke_bp)"},
	{"disable", "named steps to remove: refs-set, sync1, sync2, sync3, refs-drain"},
	{"old, new, len", "the site's instructions as hex, one instruction each of len bytes"},
	{"placement | addr", "inside-line (default), cross-16, cross-64 | a hex address"},
	{"emulate", "what the handler emulates instead of new (smp_text_poke_batch_add's emulate)"},
	{"sites", "a batch instead of old/new: [{addr, old, new, len, emulate}]"},
	{"capacity", "TEXT_POKE_ARRAY_MAX, the vector's size (0..64; default the number of sites)"},
	{"ignore", "properties not to judge: torn-decode, stray-int3, handler-memory, emulation, final-text, atomic-switch (not all)"},
}

// x86VariantParams says, per writer variant, what a scenario must give.
var x86VariantParams = map[poke.Variant]string{
	poke.BP:                "old/new or sites; disable any step; emulate; capacity",
	poke.NaiveCopy:         "old/new or sites; no disable",
	poke.NaiveAtomic:       "each site one text_poke: within an aligned quadword (placement inside-line, or such an addr); no disable",
	poke.Flag2013:          "old/new (a jump label: nop5 ↔ jmp32); disable: only sync3",
	poke.Batch53:           "old/new or sites; with unrelated_int3 for the teardown race",
	poke.Batch55:           "old/new or sites; with unrelated_int3",
	poke.Desc56:            "old/new or sites; with unrelated_int3",
	poke.Desc60:            "old/new or sites; with unrelated_int3",
	poke.KprobeRCU:         "old = new = one 1-byte instruction, not int3 (\"90\"): the probed byte",
	poke.KprobeSync:        "old = new = one 1-byte instruction, not int3 (\"90\")",
	poke.Single2025:        "sites, ≥2: the lowest is poked by smp_text_poke_single, the others queued first; capacity",
	poke.SingleChecked:     "sites, ≥2, as above; capacity",
	poke.StopMachine2008:   "old/new or sites; nmis on the parked CPUs",
	poke.FtraceNMI2008:     "old/new or sites; nmis on the parked CPUs",
	poke.PermanentCurrent:  "sites, poked in order, serialised",
	poke.PermanentTwo:      "sites, poked in order, serialised",
	poke.PermanentParallel: "sites, ≥3: even-indexed by one writer, odd by another",
	poke.FtraceSkip:        "5-byte old/new (an fentry call site)",
	poke.FtraceEmulate:     "5-byte old/new (an fentry call site)",
	poke.CrashNMIStop:      "old/new or sites; every executor (and the kprobe CPU) is stopped first",
	poke.StopOtherCPUs:     "old/new or sites; every executor (and the kprobe CPU) is stopped first",
}

// X86FormatDoc documents the x86 kind's parameters and, per writer
// variant, its meaning and what it takes; the scenario-file format
// (FileFormat) includes it.
func X86FormatDoc() string {
	var b strings.Builder
	b.WriteString("x86 params (kind \"x86\"):\n")
	for _, p := range x86ParamDocs {
		fmt.Fprintf(&b, "  %-18s %s\n", p.Field, p.Doc)
	}
	b.WriteString("x86 variants (params.variant) and what each takes:\n")
	for _, v := range append(append([]poke.VariantInfo(nil), poke.Variants...), poke.HistoryVariants...) {
		fmt.Fprintf(&b, "  %s\n      %s\n      takes: %s\n", v.Name, v.Meaning, x86VariantParams[v.Name])
	}
	return strings.TrimRight(b.String(), "\n")
}

package catalog

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/poke"
)

// The x86 kind's parameters as `klpcheck list format` documents them:
// the common parameters, then one row per writer variant with its
// meaning and the site shapes and parameters it takes (both from poke's
// variant table, so a variant is described in one place).

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

// X86FormatDoc documents the x86 kind's parameters and, per writer
// variant, its meaning and what it takes; the scenario-file format
// (FileFormat) includes it, registered variants too.
func X86FormatDoc() string {
	var b strings.Builder
	b.WriteString("x86 params (kind \"x86\"):\n")
	for _, p := range x86ParamDocs {
		fmt.Fprintf(&b, "  %-18s %s\n", p.Field, p.Doc)
	}
	b.WriteString("x86 variants (params.variant) and what each takes:\n")
	for _, v := range poke.Protocols() {
		fmt.Fprintf(&b, "  %s\n      %s\n      takes: %s\n", v.Name, v.Meaning, v.Takes)
	}
	return strings.TrimRight(b.String(), "\n")
}

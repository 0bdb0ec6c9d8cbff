package catalog

import "github.com/klpcheck/klpcheck/klp"

// fentryHistory is the 2019 row of the history table (issue 6, fact sheet
// x86-poke.md §2.6): with livepatch and a tracer on the same function,
// registering the tracer switches the function's fentry site from calling
// the livepatch ops' own trampoline to calling ftrace_regs_caller. A CPU
// that hits ftrace's temporary int3 was sent past the site as if it were
// a NOP, so no ftrace handler ran and the task executed the old body of a
// function it must run patched (reported by Nicolai Stange; fixed for
// v5.2 by 9e298e860408 with 4b33dadf3766 and 2700fefdb2d9).
func fentryHistory() []Scenario {
	// P patches g and f; T returns to user space (where it switches to the
	// patched state once the transition has started), then calls g, which
	// calls f, the traced function.
	world := klp.Config{Functions: []string{"f", "g"}, Patches: []klp.PatchConfig{vmlinuxPatch("P", "g", "f")},
		Tasks:  []klp.TaskConfig{user("T", "user", "call g", "call f", "ret", "ret", "user")},
		Script: []string{"load_lp P"}}
	fOnly := world
	fOnly.Tasks = []klp.TaskConfig{user("T", "call f", "ret", "user")}
	p := func(variant string, ignore ...string) FentryParams {
		return FentryParams{Livepatch: world, Traced: "f", Variant: variant, Ignore: ignore}
	}
	dpor := func() *Bounds { return &Bounds{Strategy: "dpor", MaxSteps: 3000} }
	const row = "2019 fentry int3 skipped (livepatch)"
	const table = "history"
	return []Scenario{
		fentryScenario("history/2019-fentry-skip/buggy",
			"ftrace's breakpoint method before v5.2 (08d636b6d4fb): registering a tracer on the livepatched f rewrites f's fentry call from the livepatch trampoline to ftrace_regs_caller, and ftrace_int3_handler sends a CPU that hits the temporary int3 past the site: the handler's effect is neither call",
			p("ftrace-int3-skip"), dpor(), table, row, "buggy", "violation:emulation"),
		fentryScenario("history/2019-fentry-skip/buggy-livepatch",
			"the same with the emulation property not judged, to see what the skipped call does: T, already switched to P, runs P's g and then the original f, since no klp_ftrace_handler ran (reported by Nicolai Stange)",
			p("ftrace-int3-skip", "emulation"), dpor(), table, row, "buggy (livepatch view)", "violation:mixed-state"),
		fentryScenario("history/2019-fentry-skip/buggy-atomic-switch",
			"the same handler with emulation not judged, where T only calls f (so no other version of P is on its stack): the skipped site execution is neither the old nor the new call, and porcupine finds no linearization of the site's history against an atomic switch",
			FentryParams{Livepatch: fOnly, Traced: "f", Variant: "ftrace-int3-skip", Ignore: []string{"emulation"}}, dpor(), table, row, "buggy (atomic-switch view)", "violation:atomic-switch"),
		fentryScenario("history/2019-fentry-skip/fixed",
			"v5.2 (9e298e860408 \"ftrace/x86_64: Emulate call function while updating in breakpoint handler\", with the int3 stack gap of 2700fefdb2d9 and int3_emulate_call of 4b33dadf3766): ftrace_int3_handler emulates a call to ftrace_regs_caller, which calls the livepatch ops' klp_ftrace_handler",
			p("ftrace-int3-emulate-call"), dpor(), table, row, "fixed", "safe"),
		fentryScenario("history/2019-fentry-skip/current",
			"the current kernel: ftrace rewrites the site with smp_text_poke_single (text_poke_bp), whose int3 handler emulates the new CALL (c3d6324f841b, 768ae4406a5c)",
			p(""), dpor(), table, row, "fixed (text_poke_bp)", "safe"),
	}
}

package catalog

import "github.com/klpcheck/klpcheck/klp"

// The built-in livepatch catalog: the scenarios of §6 of the livepatch
// fact sheet (research/livepatch.md), numbered as there, and the
// "current algorithm is safe" scenario. Functions f, g, h are vmlinux
// functions; P patches some of them.

func vmlinuxPatch(name string, funcs ...string) klp.PatchConfig {
	p := klp.PatchConfig{Name: name, Objects: []klp.ObjectConfig{{Name: "vmlinux"}}}
	for _, f := range funcs {
		p.Objects[0].Funcs = append(p.Objects[0].Funcs, klp.FuncConfig{OldName: f})
	}
	return p
}

func user(name string, prog ...string) klp.TaskConfig {
	return klp.TaskConfig{Name: name, Kind: "user", Program: prog}
}

func kthread(name string, prog ...string) klp.TaskConfig {
	return klp.TaskConfig{Name: name, Kind: "kthread", Program: prog}
}

var fgh = []string{"f", "g", "h"}

// forkRaceReverse is §6.5's reverse variant of the fork race (also the
// history row of 747f7a290117): the parent, still UNPATCHED with
// TIF_PATCH_PENDING, forks while the admin reverses.
func forkRaceReverse(disable []klp.Step) klp.Config {
	return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
		Tasks: []klp.TaskConfig{
			user("T", "call f", "fork C", "ret", "user"),
			{Name: "C", Kind: "user", Child: true, Program: []string{"user"}},
		},
		Script:  []string{"load_lp_nowait P", "echo 0 > /sys/kernel/livepatch/P/enabled"},
		Disable: disable}
}

func livepatchBuiltin() []Scenario {
	var out []Scenario

	// §6.1 Baseline enable, sleeper in old code.
	out = append(out, lpBounded("s1-sleeper", "A sleeps inside f while P{f} is enabled; B in user space, C a kthread sleeping outside f; A re-enters f before it switches",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks: []klp.TaskConfig{
				user("A", "call h", "call f", "sleep", "ret", "call f", "ret", "ret", "user"),
				user("B", "user"),
				kthread("C", "call g", "sleep", "ret"),
			},
			Script: []string{"load_lp P"}},
		"1 sleeper in old code", "current", "safe", 2))

	// §6.2 Caller split: safe under per-task consistency.
	out = append(out, lpScenario("s2-caller-split", "A runs h, which calls f then g (both in P) and sleeps in h between the calls",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f", "g")},
			Tasks:  []klp.TaskConfig{user("A", "call h", "call f", "ret", "sleep", "call g", "ret", "ret", "user")},
			Script: []string{"load_lp P"}},
		"2 caller split", "current", "safe"))

	// §6.3 CPU-bound kthread, with and without the cond_resched hook.
	s3 := func(disable []klp.Step) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks:   []klp.TaskConfig{kthread("K", "loop 2", "call f", "ret", "cond_resched", "end", "spin")},
			Script:  []string{"load_lp P"},
			Disable: disable}
	}
	out = append(out, lpScenario("s3-cpu-bound-kthread", "K loops { f(); cond_resched(); } on its own CPU; v6.4+ switches it from cond_resched",
		s3(nil), "3 CPU-bound kthread", "current", "safe"))
	out = append(out, lpScenario("s3-cpu-bound-kthread-pre-6.4", "as s3 without the cond_resched hook (before e3ff7c609f39): K is always running",
		s3([]klp.Step{klp.CondReschedHook}), "3 CPU-bound kthread", "no cond_resched hook", "stuck:transition-completes"))
	out = append(out, lpScenario("s3-cond-resched-inside-f", "as s3 but cond_resched is called inside f: K never self-switches",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks:  []klp.TaskConfig{kthread("K", "loop 2", "call f", "cond_resched", "ret", "end", "spin")},
			Script: []string{"load_lp P"}},
		"3 CPU-bound kthread", "hook inside f", "stuck:transition-completes"))

	// §6.4 Idle CPU never kicked.
	s4 := func(disable []klp.Step) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			CPUs:    []string{"busy", "idle", "offline"},
			Tasks:   []klp.TaskConfig{user("A", "call f", "ret", "user")},
			Script:  []string{"load_lp P"},
			Disable: disable}
	}
	out = append(out, lpScenario("s4-idle-cpu", "CPU1 is idle the whole time (its idle task is running), CPU2 offline; wake_up_if_idle kicks CPU1 (v5.16+)",
		s4(nil), "4 idle CPU", "current", "safe"))
	out = append(out, lpScenario("s4-idle-cpu-pre-5.16", "as s4 without wake_up_if_idle: swapper/1 is running at every attempt",
		s4([]klp.Step{klp.WakeUpIfIdle}), "4 idle CPU", "no wake_up_if_idle", "stuck:transition-completes"))

	// §6.5 Fork race (a, the reverse variant).
	s5 := forkRaceReverse
	out = append(out, lpBounded("s5-fork-race", "T forks C while in f during the patching transition; the admin reverses; klp_copy_process recomputes C's TIF_PATCH_PENDING (v6.1+)",
		s5(nil), "5 fork race", "current", "safe", 2))
	out = append(out, lpBounded("s5-fork-race-pre-6.1", "as s5 with the child's TIF_PATCH_PENDING copied early by dup_task_struct only (before 747f7a290117): the stale flag survives to klp_complete_transition",
		s5([]klp.Step{klp.CopyProcessTIF}), "5 fork race", "before v6.1", "violation:pending-flag", 2))

	// §6.9 Barrier and synchronisation mutants (the current algorithm
	// holds on the same scenarios: s2, s21 and the 3-task scenario).
	s9 := func(reorder []klp.Barrier, disable []klp.Step, prog ...string) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks:  []klp.TaskConfig{user("A", prog...)},
			Script: []string{"load_lp P", "disable_lp P"}, Reorder: reorder, Disable: disable}
	}
	out = append(out, lpScenario("s9-barriers", "enable then disable while A enters f: the current algorithm with every barrier and synchronisation",
		s9(nil, nil, "user", "call f", "ret", "user"), "9 barrier mutants", "current", "safe"))
	out = append(out, lpBounded("s9a-no-wmb1", "__klp_enable_patch without wmb#1: the new func is on func_stack before its transition flag",
		s9([]klp.Barrier{klp.WMB1}, nil, "call f", "ret", "user"), "9 barrier mutants", "no wmb#1", "violation:func-states", 2))
	out = append(out, lpBounded("s9b-no-wmb2", "klp_init_transition without wmb#2 (disable): the handler sees transition set with patch_state still UNDEF",
		s9([]klp.Barrier{klp.WMB2}, nil, "user", "call f", "ret", "user"), "9 barrier mutants", "no wmb#2", "violation:undef-state", 2))
	out = append(out, lpBounded("s9e-no-sync-patched", "klp_complete_transition(PATCHED) without klp_synchronize_transition: a handler that saw transition set reads the reset patch_state",
		s9(nil, []klp.Step{klp.SyncCompletePatched}, "user", "call f", "ret", "user"), "9 barrier mutants", "no sync before patch_state reset", "violation:undef-state", 2))

	// §6.18 Unreliable stacks: user tasks still switch at exit to user,
	// a sleeping kthread never does.
	out = append(out, lpScenario("s18-unreliable-stacks", "an arch without reliable stack traces: U switches on its way to user space, the idle CPU in its idle loop, kthread C sleeps outside f and is never switched",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")}, UnreliableStacks: true, CPUs: []string{"idle"},
			Tasks:  []klp.TaskConfig{user("U", "call f", "ret", "user"), kthread("C", "call g", "block-d", "ret")},
			Script: []string{"load_lp P"}},
		"18 unreliable stacks", "current", "stuck:transition-completes"))

	// §6.10 Force.
	out = append(out, lpScenario("s10-force", "A sleeps uninterruptibly in old f; the admin forces the transition; A then calls g: old f and new g at once (admin override, by design)",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f", "g")},
			Tasks:  []klp.TaskConfig{user("A", "call f", "sleep-d", "call g", "ret", "ret", "user")},
			Script: []string{"load_lp_nowait P", "echo 1 > /sys/kernel/livepatch/P/force"}},
		"10 force", "current", "violation:mixed-state"))

	// §6.11 Immediate flag (≤v4.15).
	imm := func(p klp.PatchConfig) klp.PatchConfig { p.Immediate = true; return p }
	out = append(out, lpScenario("s11-immediate", "f patched by P1 and P2 (immediate, ≤v4.15), then P3{f,g}: T sleeping in P1's f is switched because only P2's f is checked",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{imm(vmlinuxPatch("P1", "f")), imm(vmlinuxPatch("P2", "f")), vmlinuxPatch("P3", "f", "g")},
			Tasks:  []klp.TaskConfig{user("T", "call f", "sleep", "call g", "ret", "ret", "user")},
			Script: []string{"load_lp P1", "load_lp P2", "load_lp P3"}},
		"11 immediate flag", "v4.15 immediate", "violation:mixed-state"))

	// §6.16 Sleepers and signals.
	out = append(out, lpScenario("s16-sleepers-signals", "U (user) and K (kthread) sleep interruptibly in f, D uninterruptibly: the fake signal frees U and K, D blocks the transition forever",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks: []klp.TaskConfig{
				user("U", "call f", "block", "ret", "user"),
				kthread("K", "call f", "block", "ret"),
				kthread("D", "call f", "block-d", "ret"),
			},
			Script: []string{"load_lp P"}},
		"16 sleepers and signals", "current", "stuck:transition-completes"))

	// §6.21 Atomic replace with nops.
	p2 := vmlinuxPatch("P2", "g")
	p2.Replace = true
	out = append(out, lpScenario("s21-atomic-replace", "P1{f,g}; P2{g} replaces it (nop for f); A runs f and g across both transitions; P1 is removed, then P2 disabled",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P1", "f", "g"), p2},
			Tasks:  []klp.TaskConfig{user("A", "call f", "sleep", "call g", "ret", "ret", "user")},
			Script: []string{"load_lp P1", "load_lp P2", "unload_lp P1", "disable_lp P2", "unload_lp P2"}},
		"21 atomic replace", "current", "safe"))

	// §6.23 Enable error path symmetry.
	p23 := klp.PatchConfig{Name: "P", Objects: []klp.ObjectConfig{
		{Name: "vmlinux", Callbacks: true, Funcs: []klp.FuncConfig{{OldName: "f"}}},
		{Name: "M", Callbacks: true, PrePatchRet: -19},
	}}
	out = append(out, lpScenario("s23-enable-error", "O1 (vmlinux, pre_patch ok, patched) and O2 (module M, pre_patch -ENODEV): cancel unpatches O1, post_unpatch(O1) only, insmod fails",
		klp.Config{Functions: fgh, Modules: []klp.ModuleConfig{{Name: "M"}}, Patches: []klp.PatchConfig{p23},
			Tasks:  []klp.TaskConfig{user("A", "call f", "ret", "user")},
			Script: []string{"load_mod M", "load_failing_mod P", "unload_mod M"}},
		"23 enable error path", "current", "safe"))

	// Module notifiers while another patch is in transition (issue 13
	// item 1): P1 is settled and targets module M; P2's transition is
	// stalled by A sleeping in f; M loads (klp_module_coming runs P1's
	// pre_patch and post_patch while A is pending) and unloads
	// (klp_module_going runs P1's pre_unpatch and post_unpatch), then P2 is
	// reversed. The kernel runs those callbacks by design; the callbacks
	// property used to report them.
	pm := klp.PatchConfig{Name: "P1", Objects: []klp.ObjectConfig{{Name: "M", Callbacks: true, Funcs: []klp.FuncConfig{{OldName: "m_fn"}}}}}
	out = append(out, lpScenario("module-notifiers-during-transition", "P1 settled on module M, P2's transition stalled by A asleep in f; M loads and unloads (P1's callbacks from klp_module_coming/going while A has TIF_PATCH_PENDING), then P2 is reversed",
		klp.Config{Functions: fgh, Modules: []klp.ModuleConfig{{Name: "M", Functions: []string{"m_fn"}, Init: []string{"M_init"}, Exit: []string{"M_exit"}}},
			Patches: []klp.PatchConfig{pm, vmlinuxPatch("P2", "f")},
			Tasks:   []klp.TaskConfig{kthread("A", "call f", "block-d", "ret")},
			Script: []string{"wait-sleeping A", "load_lp P1", "load_lp_nowait P2", "loop_until /sys/kernel/livepatch/P2/transition 1",
				"load_mod M", "unload_mod M", "disable_lp P2", "disable_lp P1", "unload_lp P2", "unload_lp P1"}},
		"module notifiers during a transition", "current", "safe"))

	// The current algorithm with three tasks across an enable, a reverse
	// and a disable.
	out = append(out, lpBounded("current-3-tasks", "A (user) sleeps in f, K a CPU-bound kthread calling f with cond_resched, U a user task calling g and f; enable P{f,g}, then echo 0 > enabled (a reverse while in transition, else a disable)",
		klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f", "g")},
			Tasks: []klp.TaskConfig{
				user("A", "call f", "sleep", "ret", "user"),
				kthread("K", "loop 1", "call g", "ret", "cond_resched", "end", "spin"),
				user("U", "call g", "ret", "user"),
			},
			Script: []string{"load_lp_nowait P", "echo 0 > /sys/kernel/livepatch/P/enabled", "wait-gone P", "unload_lp P"}},
		"current algorithm", "enable+reverse+disable", "safe", 1))
	out = append(out, livepatchHistory()...)
	return append(out, livepatchSelftests()...)
}

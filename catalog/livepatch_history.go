package catalog

import "github.com/klpcheck/klpcheck/klp"

// The livepatch part of the "history" table (issue 6): each known bug of
// the livepatch transition code as a buggy/fixed pair of built-in
// scenarios, computed by exploring. The buggy variant is the current
// algorithm with the named steps removed (Config.Disable) or a genuinely
// different historical mechanism (klp_patch.immediate); the fixed variant
// is the algorithm with the fix. Rows name the bug, columns "buggy" and
// "fixed" (a third column when a fix is hypothetical).

// lpHistory places a livepatch scenario in the history table. preemptions
// < 0 means exhaustive DPOR; otherwise the scenario is explored
// exhaustively up to that many preemptions.
func lpHistory(name, desc string, cfg klp.Config, row, column, expect string, preemptions int) Scenario {
	var s Scenario
	if preemptions < 0 {
		s = lpScenario("history-"+name, desc, cfg, row, column, expect)
	} else {
		s = lpBounded("history-"+name, desc, cfg, row, column, expect, preemptions)
	}
	s.Table = "history"
	return s
}

func livepatchHistory() []Scenario {
	var out []Scenario

	// H23, 747f7a290117: the fork race, reverse variant (the reported one).
	fork := forkRaceReverse
	const forkRow = "2022 fork race (reverse)"
	out = append(out, lpHistory("fork-race-reverse-buggy",
		"before v6.1: dup_task_struct copies the parent's TIF_PATCH_PENDING early and klp_copy_process copies only patch_state; T (UNPATCHED, pending) forks C while the admin reverses the transition; klp_reverse_transition clears TIF only on listed tasks, C is not listed yet, so C keeps a stale flag while already in the target state (reported by Breno Leitao; fixed by 747f7a290117 \"livepatch: fix race between fork and KLP transition\")",
		fork([]klp.Step{klp.CopyProcessTIF}), forkRow, "buggy", "violation:pending-flag", 2))
	out = append(out, lpHistory("fork-race-reverse-fixed",
		"v6.1+ (747f7a290117): klp_copy_process recomputes the child's TIF_PATCH_PENDING from the parent's current flag under tasklist_lock, right before the child is linked",
		fork(nil), forkRow, "fixed", "safe", 2))

	// H23, the forward variant (Josh Poimboeuf, [LKML]
	// 20220727001040.vlqnnb4a3um46746@treble).
	fwd := func(disable []klp.Step) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks: []klp.TaskConfig{
				user("T", "call h", "fork-sleep C", "ret", "user"),
				{Name: "C", Kind: "user", Child: true, Program: []string{"user"}},
			},
			Script:  []string{"load_lp P"},
			Disable: disable}
	}
	const fwdRow = "2022 fork race (forward)"
	out = append(out, lpHistory("fork-race-forward-buggy",
		"before v6.1, forward variant (Josh Poimboeuf, [LKML] 20220727001040.vlqnnb4a3um46746@treble: \"Isn't it also possible to race on a normal (forward) transition?\"): T (UNPATCHED, pending) forks C; dup_task_struct copies TIF=1, then T sleeps inside copy_process, where the worker's stack check switches it to PATCHED; klp_copy_process copies PATCHED into C, whose flag is still the stale 1 (fixed by 747f7a290117)",
		fwd([]klp.Step{klp.CopyProcessTIF}), fwdRow, "buggy", "violation:pending-flag", 2))
	out = append(out, lpHistory("fork-race-forward-fixed",
		"v6.1+ (747f7a290117): klp_copy_process recomputes C's TIF_PATCH_PENDING from T's current (cleared) flag under tasklist_lock",
		fwd(nil), fwdRow, "fixed", "safe", 2))

	// H8, d0807da78e11: the immediate flag.
	imm := func(immediate bool) klp.Config {
		p1, p2 := vmlinuxPatch("P1", "f"), vmlinuxPatch("P2", "f")
		p1.Immediate, p2.Immediate = immediate, immediate
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{p1, p2, vmlinuxPatch("P3", "f", "g")},
			Tasks:  []klp.TaskConfig{user("T", "call f", "sleep", "call g", "ret", "ret", "user")},
			Script: []string{"load_lp P1", "load_lp P2", "load_lp P3"}}
	}
	const immRow = "2018 immediate flag"
	out = append(out, lpHistory("immediate-buggy",
		"v4.12–v4.15 klp_patch.immediate: P1 and P2 (immediate) patch f, then P3{f,g} (normal); T sleeps in P1's f; P3's stack check looks only for P2's f, so T is switched while in P1's f and then calls P3's g: old and new versions at once (removed by d0807da78e11 \"livepatch: Remove immediate feature\")",
		imm(true), immRow, "buggy", "violation:mixed-state", -1))
	out = append(out, lpHistory("immediate-fixed",
		"v4.16+ (d0807da78e11): no immediate patches; every patch goes through the per-task consistency model, so P2's transition waits for T to leave P1's f",
		imm(false), immRow, "fixed", "safe", -1))

	// H19, v5.16 "sched,livepatch: Use wake_up_if_idle()".
	idle := func(disable []klp.Step) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			CPUs:    []string{"busy", "idle", "offline"},
			Tasks:   []klp.TaskConfig{user("A", "call f", "ret", "user")},
			Script:  []string{"load_lp P"},
			Disable: disable}
	}
	const idleRow = "2021 idle CPU never kicked"
	out = append(out, lpHistory("idle-cpu-buggy",
		"before v5.16: CPU1 stays idle (NO_HZ) the whole time; its idle task is 'running' at every attempt and never reaches the end of a do_idle() iteration, so the transition never completes (s390/x86 with 128 CPUs; fixed by PeterZ's \"sched,livepatch: Use wake_up_if_idle()\", [LKML] 20210929152428.828064133@infradead.org)",
		idle([]klp.Step{klp.WakeUpIfIdle}), idleRow, "buggy", "stuck:transition-completes", -1))
	out = append(out, lpHistory("idle-cpu-fixed",
		"v5.16+: klp_try_complete_transition kicks idle CPUs with wake_up_if_idle; the idle task loops once and switches itself in do_idle",
		idle(nil), idleRow, "fixed", "safe", -1))

	// H24, e3ff7c609f39: CPU-bound kthreads.
	kt := func(disable []klp.Step) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks:   []klp.TaskConfig{kthread("K", "loop 2", "call f", "ret", "cond_resched", "end", "spin")},
			Script:  []string{"load_lp P"},
			Disable: disable}
	}
	const ktRow = "2023 CPU-bound kthread"
	out = append(out, lpHistory("cpu-bound-kthread-buggy",
		"before v6.4: K loops { f(); cond_resched(); } and never sleeps nor exits to user; it is 'running' at every attempt, so the transition never completes (reports by Song Liu 2022 and Seth Forshee's vhost 2023; fixed by e3ff7c609f39 \"livepatch,sched: Add livepatch task switching to cond_resched()\")",
		kt([]klp.Step{klp.CondReschedHook}), ktRow, "buggy", "stuck:transition-completes", -1))
	out = append(out, lpHistory("cpu-bound-kthread-fixed",
		"v6.4+ (e3ff7c609f39): cond_resched calls __klp_sched_try_switch, which stack-checks and switches the current task while a transition is pending",
		kt(nil), ktRow, "fixed", "safe", -1))

	// H28, 2025 (queued in tip, mainline UNCONFIRMED): the hook moves from
	// cond_resched to __schedule for TASK_FREEZABLE sleepers. An open
	// question: which kthreads still get switched.
	untangle := func(freezable bool, proposed []klp.Proposal) klp.Config {
		k := kthread("K", "loop 2", "call f", "ret", "cond_resched", "end", "spin")
		if freezable {
			// The loop goes on forever; an iteration from an unchanged
			// livepatch state is not re-run (see `repeat`).
			k = kthread("K", "call f", "ret", "sleep-freezable", "repeat")
		}
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks: []klp.TaskConfig{k}, Script: []string{"load_lp P"}, Proposed: proposed}
	}
	const untangleRow = "2025 cond_resched untangle (open question)"
	out = append(out, lpHistory("untangle-cond-resched-hook",
		"open question, baseline: v6.4–v6.15 (e3ff7c609f39), K loops { f(); cond_resched(); } and cond_resched's __klp_sched_try_switch switches it",
		untangle(false, nil), untangleRow, "v6.4 cond_resched hook", "safe", -1))
	out = append(out, lpHistory("untangle-cpu-bound",
		"open question: \"sched,livepatch: Untangle cond_resched() and live-patching\" ([LKML] 20250509113659.wkP_HJ5z@linutronix.de, queued in tip in 2025, mainline version UNCONFIRMED) moves the hook into __schedule for tasks going to sleep with TASK_FREEZABLE; the same CPU-bound K, which only calls cond_resched, is running at every attempt again (on a kernel without preemption; preempted-but-runnable tasks, which a PREEMPT_LAZY/FULL kernel's worker could stack-check, are not modelled)",
		untangle(false, []klp.Proposal{klp.UntangleCondResched}), untangleRow, "untangled, K only calls cond_resched", "stuck:transition-completes", -1))
	out = append(out, lpHistory("untangle-freezable",
		"open question: with the untangled hook ([LKML] 20250509113659.wkP_HJ5z@linutronix.de), a K that sleeps freezable between its calls of f (wait_event_freezable and the like) is switched by __schedule as it goes to sleep outside f, or by the worker's stack check while it sleeps",
		untangle(true, []klp.Proposal{klp.UntangleCondResched}), untangleRow, "untangled, K sleeps TASK_FREEZABLE", "safe", 2))

	// 2026 RFC (not merged): hybrid mode, non-replaceable patches beside
	// cumulative ones. An open question: which version runs during a
	// replace.
	hybrid := func(proposed []klp.Proposal, nonReplaceable bool) klp.Config {
		off := vmlinuxPatch("OFF", "f")
		off.NonReplaceable = nonReplaceable
		c1 := vmlinuxPatch("C1", "f", "g")
		c1.Replace = true
		c2 := vmlinuxPatch("C2", "g")
		c2.Replace = true
		// B, started once C1 is active, sleeps in C1's g and holds C2's
		// transition open until the script wakes it; A, started from the
		// shell during the transition, is PATCHED from the start and
		// calls f.
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{off, c1, c2},
			Tasks: []klp.TaskConfig{
				{Name: "B", Kind: "kthread", Child: true, Program: []string{"call g", "block-d", "ret"}},
				{Name: "A", Kind: "user", Child: true, Program: []string{"call f", "ret", "user"}},
			},
			Script: []string{"load_lp OFF", "load_lp C1", "spawn B", "wait-sleeping B", "load_lp_nowait C2", "spawn A", "wake B"}, Proposed: proposed}
	}
	const hybridRow = "2026 hybrid mode (open question)"
	out = append(out, lpHistory("hybrid-mainline",
		"open question, baseline: mainline atomic replace — the cumulative C2 (patches g only) replaces both the off-band OFF (patches f) and C1 (patches f and g): its nop for f sends switched tasks to the original f, which is also what f runs after the transition (OFF is replaced too), so no task runs a third version",
		hybrid(nil, false), hybridRow, "mainline (OFF replaced too)", "safe", 2))
	out = append(out, lpHistory("hybrid-rfc",
		"open question: Yafang Shao's RFC \"livepatch: Implement livepatch hybrid mode\" ([LKML] lkml.iu.edu/2604.0/03092, 2026-04-02) with OFF replaceable = 0: C2's nop for f (added for C1) sends a switched task to the original f, but once C2 completes f runs OFF's version — during the transition the task runs a version that is neither the one before (C1's) nor the one after (OFF's): the unpatched window Song Liu's per-function conflict check would refuse",
		hybrid([]klp.Proposal{klp.HybridMode}, true), hybridRow, "RFC (OFF non-replaceable)", "violation:version-window", 2))

	// H26, 2025 (open upstream): an exiting task unhashed while it still
	// runs a livepatched do_exit.
	exit := func(proposed []klp.Proposal) klp.Config {
		p2 := vmlinuxPatch("P2", "do_exit")
		p2.Replace = true
		return klp.Config{Functions: []string{"do_exit", "f"},
			Patches:  []klp.PatchConfig{vmlinuxPatch("P1", "do_exit"), p2},
			Tasks:    []klp.TaskConfig{user("X", "user", "call do_exit", "release_task", "ret")},
			Script:   []string{"load_lp P1", "load_lp P2", "unload_lp P1"},
			Proposed: proposed}
	}
	const exitRow = "2025 do_exit unhashed task"
	out = append(out, lpHistory("do-exit-buggy",
		"mainline (open upstream as of 2026): P1 patches do_exit; X runs P1's do_exit and release_task unhashes it from the task list while it keeps running there; the cumulative P2 (replace) never sees X, completes, and rmmod of P1 frees the text X returns into (Yafang Shao's crash report, [LKML] CALOAHbA9WHPjeZKUcUkwULagQjTMfqAdAg+akqPzbZ7Byc=qrw@mail.gmail.com; analysis Z5DHQG4geRsuIflc@pathway.suse.cz)",
		exit(nil), exitRow, "buggy", "violation:module-text", -1))
	out = append(out, lpHistory("do-exit-releasing-count",
		"HYPOTHETICAL fix, not in mainline: Petr Mladek's POC \"Block transition until delayed_put_task_struct()\" ([LKML] Z5Jmd_Xb7Ug9GxGG@pathway.suse.cz, after his analysis Z5DaUvNAMUP0Euoy@pathway.suse.cz) as its comments intend it: release_task → klp_get_releasing_task counts the task in klp_releasing_tasks_cnt under klp_mutex while klp_track_releasing_tasks is set (klp_init_transition sets it, a successful task-list walk clears it), and the last klp_put_releasing_task (delayed_put_task_struct) completes the transition. It only counts tasks released while a transition is in progress: X, released between P1's and P2's transitions while still in P1's do_exit, is never counted nor walked, so P2 completes and rmmod P1 frees the text X returns into",
		exit([]klp.Proposal{klp.ReleasingTasksCount}), exitRow, "proposed (releasing count POC)", "violation:module-text", -1))
	out = append(out, lpHistory("do-exit-releasing-count-all",
		"HYPOTHETICAL fix, not posted: the POC's counter without klp_track_releasing_tasks — every release_task counts the task and delayed_put_task_struct uncounts it, and a transition whose task-list walk succeeded completes only when the count is zero (else the last klp_put_releasing_task completes it). X, released between P1's and P2's transitions, is counted, so P2 cannot complete (and P1 cannot be removed) until X has left do_exit",
		exit([]klp.Proposal{klp.ReleasingTasksCountAll}), exitRow, "fixed (count every release_task)", "safe", -1))
	out = append(out, lpHistory("do-exit-exiting-tasks-list",
		"HYPOTHETICAL fix, suggested by Josh Poimboeuf in the thread (20250124010848.pdcxokfsk2ngrowl@jpoimboe), not posted as code: track exiting tasks as Tasks RCU does — a task unhashed by release_task stays on an exit list until do_task_dead, and the livepatch task walks visit it. P2's transition then gives X patch_state and TIF_PATCH_PENDING, its stack check finds X running in P1's do_exit, and P2 completes only once X is dead, so rmmod P1 frees no text X runs",
		exit([]klp.Proposal{klp.ExitingTasksList}), exitRow, "fixed (Tasks-RCU-style exit list)", "safe", -1))

	// H29, 2025 report: a kthread blocked under a BPF fentry/fexit
	// trampoline frame, which has no ORC unwind data.
	bpf := func(proposed []klp.Proposal) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f")},
			Tasks:  []klp.TaskConfig{kthread("K", "call h", "bpf-trampoline", "call g", "block-d", "ret", "ret", "ret")},
			Script: []string{"wait-sleeping K", "load_lp P"}, Proposed: proposed}
	}
	const bpfRow = "2025 BPF trampoline frame (unreliable stack)"
	out = append(out, lpHistory("bpf-trampoline-buggy",
		"mainline as reported in 2025-11 ([LKML] 0e555733-c670-4e84-b2e6-abb8b84ade38@crowdstrike.com): kthread K sleeps in g, which a BPF fentry/fexit program traces, so a trampoline frame sits between h and g; P patches only f, but the stack walk fails at the trampoline (no ORC data): klp_try_switch_task reports \"K:100 has an unreliable stack\" at every attempt and the transition never completes",
		bpf(nil), bpfRow, "buggy", "stuck:transition-completes", -1))
	out = append(out, lpHistory("bpf-trampoline-orc",
		"HYPOTHETICAL fix (the direction of the thread [LKML] 0e555733-c670-4e84-b2e6-abb8b84ade38@crowdstrike.com; the merged form is UNCONFIRMED): BPF trampolines with unwind data, so the walk passes the trampoline frame, finds no f on K's stack and switches K",
		bpf([]klp.Proposal{klp.BPFTrampolineORC}), bpfRow, "fixed (trampoline unwind data)", "safe", -1))

	// H27, 2025 (not merged): the RCU task walk, Petr Mladek's
	// counterexample.
	rcu := func(proposed []klp.Proposal) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f", "g")},
			Tasks: []klp.TaskConfig{
				user("T", "call h", "fork C", "ret", "user"),
				{Name: "C", Kind: "user", Child: true, Program: []string{"call f", "call g", "ret", "ret", "user"}},
			},
			Script:   []string{"load_lp_nowait P", "echo 0 > /sys/kernel/livepatch/P/enabled"},
			Proposed: proposed}
	}
	const rcuRow = "2025 RCU task walk (rejected)"
	out = append(out, lpHistory("rcu-task-walk-buggy",
		"the rejected design of \"livepatch: Replace tasklist_lock with RCU\" (Yafang Shao, 2025, not merged): C, forked during the transition, starts UNDEF without TIF_PATCH_PENDING and the handler maps UNDEF to klp_target_state; C enters the new f, the admin reverses, C (still in new f) calls g and gets the old g (Petr Mladek's counterexample, [LKML] Z8CRXxfI24E9_IHC@pathway.suse.cz)",
		rcu([]klp.Proposal{klp.RCUTaskWalk}), rcuRow, "buggy", "violation:mixed-state", 2))
	out = append(out, lpHistory("rcu-task-walk-fixed",
		"mainline (v6.1+, 747f7a290117): klp_copy_process copies the parent's patch_state and recomputes TIF_PATCH_PENDING under tasklist_lock, so the child follows its parent's consistent version through the reverse",
		rcu(nil), rcuRow, "fixed", "safe", 2))

	// H24 review (Petr Mladek, [LKML] Y+zefMw6wqaXHZSz@alley): the
	// order of klp_reverse_transition against an in-flight
	// __klp_sched_try_switch. An open question, not a bug pair: the
	// columns are the two orders, and the verdicts are what the checker
	// finds.
	rev := func(reorder []klp.Barrier) klp.Config {
		return klp.Config{Functions: fgh, Patches: []klp.PatchConfig{vmlinuxPatch("P", "f", "g")},
			Tasks:   []klp.TaskConfig{user("T", "call f", "cond_resched", "ret", "cond_resched", "call g", "ret", "user")},
			Script:  []string{"load_lp_nowait P", "echo 0 > /sys/kernel/livepatch/P/enabled"},
			Disable: []klp.Step{klp.AtomicSelfSwitch},
			Reorder: reorder}
	}
	const revRow = "2023 reverse vs self-switch (open question)"
	out = append(out, lpHistory("reverse-self-switch-pre-review",
		"open question from the review of v1 of e3ff7c609f39 \"livepatch,sched: Add livepatch task switching to cond_resched()\" (Petr Mladek, [LKML] Y+zefMw6wqaXHZSz@alley): klp_reverse_transition flips klp_target_state first, then clears TIF_PATCH_PENDING and synchronizes, while T may be inside __klp_sched_try_switch (split into its reads of klp_target_state); does any task end up in a mixed or wrong state?",
		rev([]klp.Barrier{klp.ReverseFlipFirst}), revRow, "pre-review order", "safe", 2))
	out = append(out, lpHistory("reverse-self-switch-v6.4",
		"v6.4 order (e3ff7c609f39 as merged): klp_reverse_transition clears TIF_PATCH_PENDING, synchronizes with in-flight __klp_sched_try_switch calls, then flips klp_target_state; the same scenario as the pre-review row",
		rev(nil), revRow, "v6.4 order", "safe", 2))

	return out
}

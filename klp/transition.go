package klp

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// signalsTimeout is SIGNALS_TIMEOUT: klp_send_signals runs every 15th
// attempt.
const signalsTimeout = 15

// synchronize mirrors klp_synchronize_transition (schedule_on_each_cpu
// with an empty work): it waits until no task is inside a preempt-disabled
// klp section. step names the call site for Config.Disable ("" for one
// that cannot be disabled).
func (k *Kernel) synchronize(t *explore.Thread, step Step, where string) {
	if step != "" && k.cfg.disabled(step) {
		return
	}
	t.Await("klp_synchronize_transition ("+where+")", k.fpAll(explore.Read), func() bool {
		for _, tk := range k.Tasks {
			if tk.inHandler || tk.inUpdate {
				return false
			}
		}
		return true
	})
}

// forEachTask runs fn for every task on the task list and every idle task
// (for_each_process_thread plus the idle tasks, under tasklist_lock). By
// default the walk is one step (tasks cannot fork or exit during it; they
// can run before or after it); Config.Disable "atomic-task-walk" makes it
// one step per task under a modelled tasklist_lock, which fork and exit
// take too, so tasks may also run between two tasks' updates.
func (k *Kernel) forEachTask(t *explore.Thread, label string, fn func(tk *Task)) {
	if k.atomicWalk {
		t.Op(label, k.fpTasks(explore.Write))
		k.inWalk = true
		for _, tk := range k.Tasks {
			if tk.linked || k.onExitList(tk) {
				fn(tk)
			}
		}
		k.inWalk = false
		return
	}
	k.tasklist.Lock(t)
	for _, tk := range k.Tasks {
		if tk.linked || k.onExitList(tk) {
			fn(tk)
		}
	}
	k.tasklist.Unlock(t)
}

// onExitList reports whether tk is on the exit list of the proposed
// "exiting-tasks-list" tracking: unhashed by release_task, not yet dead.
// The list changes only in steps that write the task list (release_task,
// do_task_dead), so the walks see it as they see the task list.
func (k *Kernel) onExitList(tk *Task) bool {
	return tk.released && tk.State != Dead && k.cfg.proposed(ExitingTasksList)
}

// walkOp is a step of a per-task walk (nothing inside an atomic walk).
func (k *Kernel) walkOp(t *explore.Thread, label string, fp explore.Footprint) {
	if !k.inWalk {
		t.Op(label, fp)
	}
}

// initTransition mirrors klp_init_transition.
func (k *Kernel) initTransition(t *explore.Thread, p *Patch, state PatchState) {
	t.Op("klp_init_transition: klp_transition_patch, klp_target_state", k.fpKLP(explore.Write))
	if k.target != Undef {
		t.Failf("livepatch", "WARN: klp_init_transition with klp_target_state %s", k.target)
	}
	k.transition = p
	k.target = state
	k.forcedNow = false
	if all := k.cfg.proposed(ReleasingTasksCountAll); all || k.cfg.proposed(ReleasingTasksCount) {
		// Petr Mladek's POC: count releasing tasks while a transition
		// is in progress (the variant counts them always).
		lbl := "klp_init_transition: klp_track_releasing_tasks = true"
		if all {
			lbl = "klp_init_transition: the walk has not succeeded yet"
		}
		t.Op(lbl, k.fpWork(explore.Write))
		k.trackReleasing = !all
		k.walkDone = false
	}
	k.klpLog("'%s': initializing %s transition", p.Name, state.word())
	if p.Immediate {
		// ≤v4.15: an immediate patch skips the per-task transition.
		return
	}
	initial := Unpatched
	if state == Unpatched {
		initial = Patched
	}
	setStates := func() {
		k.forEachTask(t, "klp_init_transition: patch_state := "+initial.String()+" (tasklist_lock)", func(tk *Task) {
			k.walkOp(t, "klp_init_transition: "+tk.Name+"->patch_state = "+initial.String(), k.fpPState(tk, explore.Write))
			if tk.PatchState != Undef {
				t.Failf("pending-flag", "WARN_ON_ONCE in klp_init_transition: %s has patch_state %s", tk.Name, tk.PatchState)
			}
			tk.PatchState = initial
			tk.switched = false
		})
	}
	setTransition := func() {
		t.Op("klp_init_transition: func->transition = true", k.fpAllOps())
		for _, o := range p.Objs {
			for _, f := range o.Funcs {
				k.setFuncState(t, f, f.Patched, true, "init")
			}
		}
	}
	if k.cfg.reordered(WMB2) {
		setTransition()
		setStates()
		return
	}
	if k.cfg.reordered(WMB1) && state == Patched {
		// The transition stores are made visible after the func_stack
		// pushes (see enablePatchLocked).
		setStates()
		return
	}
	setStates()
	t.Op("klp_init_transition: smp_wmb (wmb#2; no effect under SC)", explore.Local)
	setTransition()
}

// startTransition mirrors klp_start_transition.
func (k *Kernel) startTransition(t *explore.Thread) {
	p := k.transition
	k.klpLog("'%s': starting %s transition", p.Name, k.target.word())
	if p.Immediate {
		return
	}
	k.forEachTask(t, "klp_start_transition: set TIF_PATCH_PENDING (tasklist_lock)", func(tk *Task) {
		k.walkOp(t, "klp_start_transition: set TIF_PATCH_PENDING of "+tk.Name+" if not in the target state", k.fpPStateFlags(tk, explore.Write))
		if tk.PatchState != k.target {
			tk.PatchPending = true
		}
	})
	t.Op("klp_start_transition: klp_cond_resched_enable, klp_signals_cnt = 0", k.fpWorkKLP(explore.Write))
	k.hookEnabled = true
	k.signalsCnt = 0
	k.attemptsTotal, k.idleAttempts = 0, 0
}

// noReliableStacks is the blocking reason on an arch without
// HAVE_RELIABLE_STACKTRACE: klp_try_switch_task returns false before any
// check, and prints nothing (the kernel's "has an unreliable stack" is
// for a stack walk that failed, -EINVAL from klp_check_stack).
const noReliableStacks = "cannot be switched by a stack check (no HAVE_RELIABLE_STACKTRACE; klp_try_switch_task returns false without a message)"

// switchBlocker is klp_check_and_switch_task's verdict without the
// switch: "" if the task can be switched, else the kernel's debug reason.
func (k *Kernel) switchBlocker(tk *Task, current bool) string {
	if k.cfg.UnreliableStacks {
		return noReliableStacks
	}
	if tk.State == Running && !current {
		return "is running"
	}
	if k.trampoline != nil && !k.cfg.proposed(BPFTrampolineORC) {
		for _, fr := range tk.Stack {
			if fr.Sym == k.trampoline {
				// stack_trace_save_tsk_reliable fails: -EINVAL.
				return "has an unreliable stack"
			}
		}
	}
	for f := range k.transition.stackChecked() {
		if k.funcOnStack(tk, f, k.target) {
			return "is sleeping on function " + f.OldName
		}
	}
	return ""
}

// funcOnStack is klp_check_stack_func for one func: whether the code a
// transition to target leaves (when unpatching, the func itself; when
// patching, the previous entry of func_stack, or the original) is on the
// task's stack.
func (k *Kernel) funcOnStack(tk *Task, f *Func, target PatchState) bool {
	var code *Func
	if target == Unpatched {
		code = f
	} else {
		st := k.ops[f.old.index].stack
		for i, g := range st {
			if g == f && i+1 < len(st) {
				code = st[i+1]
			}
		}
	}
	for _, fr := range tk.Stack {
		if fr.runs(f.old, code) {
			return true
		}
	}
	return false
}

// trySwitchTask mirrors klp_try_switch_task (and klp_check_and_switch_task
// run under task_call_func, or directly for current): a task already in
// the target state succeeds without touching its flag; without reliable
// stacks it fails; a running task (other than current) fails with -EBUSY;
// a task with the code being left on its stack fails with -EADDRINUSE;
// otherwise TIF_PATCH_PENDING is cleared and patch_state set. current
// says the caller is the task itself (__klp_sched_try_switch), whose step
// is already open.
func (k *Kernel) trySwitchTask(t *explore.Thread, tk *Task, current bool) bool {
	if !current {
		// Two phases, equivalent to the kernel's atomic check under the
		// task's pi_lock/rq lock: a read-only inspection, and only if the
		// task can be switched, the switch, which re-validates (a task
		// that changed in between is judged as if checked after the
		// change). Inspections of running tasks then commute with what
		// those tasks read.
		if k.listHeld && tk.Idle {
			// The idle tasks are checked after the task-list walk:
			// the first check also drops tasklist_lock.
			t.OpMulti(tk.lCheck, k.fpStatePState(tk, explore.Read), k.fpList(explore.Write))
			k.listHeld = false
		} else {
			t.Op(tk.lCheck, k.fpStatePState(tk, explore.Read))
		}
		if tk.PatchState == k.target {
			return true
		}
		if reason := k.switchBlocker(tk, false); reason != "" {
			if t.Tracing() {
				t.Notef("klp_try_switch_task: %s:%d %s", tk.Name, tk.Pid, reason)
			}
			// Only a sleep that nothing else ends makes a signal matter
			// (a timed sleep ends anyway, at any time).
			if tk.blocked && !k.cfg.disabled(Signals) {
				k.sawBlocked = true // published by the re-arm step
			}
			return false
		}
		t.Op(tk.lSwitch, k.fpTaskAll(tk))
	}
	if tk.PatchState == k.target {
		return true
	}
	if reason := k.switchBlocker(tk, current); reason != "" {
		if t.Tracing() {
			t.Notef("klp_try_switch_task: %s:%d %s", tk.Name, tk.Pid, reason)
		}
		return false
	}
	tk.PatchPending = false
	tk.PatchState = k.target
	tk.switched = true
	if t.Tracing() {
		t.Notef("klp_try_switch_task: %s switched to %s", tk.Name, k.target)
	}
	return true
}

// tryCompleteTransition mirrors klp_try_complete_transition.
func (k *Kernel) tryCompleteTransition(t *explore.Thread) {
	p := k.transition
	complete := true
	if !p.Immediate {
		// Reads the change counters, writes the work's bookkeeping, and
		// takes read_lock(&tasklist_lock): no task is linked or unlinked
		// until the walk below is over (see fpList).
		// (The labels do not name the lock: the golden trace renderings
		// of traces/testdata predate it.)
		t.OpMulti("klp_try_complete_transition", k.fpWorkEpochs(explore.Write), k.fpList(explore.Write))
		k.listHeld = true
		e := k.epoch()
		if e == k.attemptEpoch && k.attemptsTotal > 0 {
			// Nothing changed since the last attempt: the attempts until
			// the next signalling one would all fail alike (they are ≈1 s
			// apart); jump to it.
			k.idleAttempts++
			if k.signalsCnt%signalsTimeout != 0 || k.signalsCnt == 0 {
				k.signalsCnt = (k.signalsCnt/signalsTimeout + 1) * signalsTimeout
			}
		} else {
			k.idleAttempts = 0
		}
		k.attemptsTotal++
		k.attemptEpoch = e
		k.sawBlocked = false
		for _, tk := range k.Tasks {
			if tk.Idle || !tk.linked && !k.onExitList(tk) {
				continue
			}
			if !k.trySwitchTask(t, tk, false) {
				complete = false
			}
		}
		// read_unlock(&tasklist_lock) is part of the next step (the
		// first idle task's check): one scheduling point fewer.
		for _, tk := range k.Tasks {
			if !tk.Idle {
				continue
			}
			if tk.cpuState != "offline" {
				if !k.trySwitchTask(t, tk, false) {
					complete = false
					if !k.cfg.disabled(WakeUpIfIdle) && tk.cpuState == "idle" {
						t.Op(fmt.Sprintf("wake_up_if_idle(%d)", tk.cpu), k.fpFlags(tk, explore.Write))
						tk.kicked = true
					}
				}
			} else if k.listHeld {
				t.OpMulti("offline CPU: switch "+tk.Name, k.fpPStateFlags(tk, explore.Write), k.fpList(explore.Write))
				k.listHeld = false
				tk.PatchPending = false
				tk.PatchState = k.target
				tk.switched = true
			} else if tk.PatchState != k.target {
				t.Op("offline CPU: switch "+tk.Name, k.fpPStateFlags(tk, explore.Write))
				tk.PatchPending = false
				tk.PatchState = k.target
				tk.switched = true
			}
		}
		if k.listHeld { // no idle task (not reached: every scenario has a CPU)
			t.Op("klp_try_complete_transition: read_unlock(&tasklist_lock)", k.fpList(explore.Write))
			k.listHeld = false
		}
	}
	if all := k.cfg.proposed(ReleasingTasksCountAll); complete && (all || k.cfg.proposed(ReleasingTasksCount)) {
		// Petr Mladek's POC: every task on the list is migrated, so stop
		// counting releasing tasks; if some are still counted, the last
		// klp_put_releasing_task finishes the transition (the POC's
		// comment; its code calls klp_complete_transition here
		// unconditionally, which would not block at all). The variant
		// counting every release_task never stops counting: tasks
		// unhashed before this transition began may still run old code
		// too.
		lbl := "klp_try_complete_transition: klp_track_releasing_tasks = false; klp_releasing_tasks_cnt?"
		if all {
			lbl = "klp_try_complete_transition: walk succeeded; klp_releasing_tasks_cnt?"
		}
		t.Op(lbl, k.fpWork(explore.Write))
		k.trackReleasing = false
		k.walkDone = true
		if k.releasingCnt > 0 {
			k.workArmed = false
			if t.Tracing() {
				t.Notef("klp_releasing_tasks_cnt is %d: the last delayed_put_task_struct will complete the transition", k.releasingCnt)
			}
			return
		}
	}
	if !complete {
		if k.signalsCnt > 0 && k.signalsCnt%signalsTimeout == 0 && !k.cfg.disabled(Signals) {
			k.sendSignals(t)
		}
		t.Op("klp_signals_cnt++, schedule_delayed_work(klp_transition_work)", k.fpWork(explore.Write))
		k.wouldWake = k.sawBlocked
		k.signalsCnt++
		k.workArmed = true
		return
	}
	k.finishTransition(t, p)
}

// finishTransition is the end of klp_try_complete_transition once every
// task is in the target state: disable the cond_resched hook, complete the
// transition, free the disabled patch or the replaced ones.
func (k *Kernel) finishTransition(t *explore.Thread, p *Patch) {
	t.Op("klp_cond_resched_disable", k.fpWorkKLP(explore.Write))
	k.hookEnabled = false
	k.workArmed = false
	k.completeTransition(t)
	if !p.Enabled {
		k.freePatch(t, p)
	} else if p.Replace {
		for _, old := range append([]*Patch(nil), k.Patches...) {
			if old != p && !old.nonReplaceable {
				k.freePatch(t, old)
			}
		}
	}
}

// sendSignals mirrors klp_send_signals: kthreads are woken only from
// TASK_INTERRUPTIBLE sleep; user tasks get TIF_NOTIFY_SIGNAL, which wakes
// an interruptible sleeper and sends a running one through
// exit_to_user_mode.
func (k *Kernel) sendSignals(t *explore.Thread) {
	if k.signalsCnt == signalsTimeout {
		k.klpLog("signaling remaining tasks")
	}
	k.forEachTask(t, "klp_send_signals (tasklist_lock)", func(tk *Task) {
		if tk.Idle {
			return
		}
		k.walkOp(t, "klp_send_signals: "+tk.Name, k.fpTaskAll(tk))
		if !tk.PatchPending {
			return
		}
		if !tk.Kthread {
			tk.NotifySignal = true
		}
		if tk.State == SleepingInterruptible {
			tk.woken = true
		}
	})
}

// completeTransition mirrors klp_complete_transition, in its order.
func (k *Kernel) completeTransition(t *explore.Thread) {
	p := k.transition
	target := k.target
	k.klpLog("'%s': completing %s transition", p.Name, target.word())
	if p.Replace && target == Patched {
		// klp_unpatch_replaced_patches
		t.Op("klp_unpatch_replaced_patches", k.fpAllOps())
		for _, old := range k.Patches {
			if old == p || old.nonReplaceable {
				continue
			}
			old.Enabled = false
			for _, o := range old.Objs {
				if o.Patched {
					k.unpatchObject(t, o, false, "replaced")
				}
			}
		}
		// klp_discard_nops: unpatch and free the dynamic nops; the ftrace
		// ops unregistration synchronizes with the handlers.
		k.unpatchObjects(t, p, true, "klp_discard_nops", "discard-nops")
		k.synchronize(t, "", "ftrace ops unregistration in klp_discard_nops")
		k.discardNops(p)
	}
	if target == Unpatched {
		k.unpatchObjects(t, p, false, "klp_unpatch_objects", "unpatch")
		k.synchronize(t, SyncCompleteUnpatched, "after klp_unpatch_objects")
	}
	if !p.Immediate {
		t.Op("klp_complete_transition: func->transition = false", k.fpAllOps())
		for _, o := range p.Objs {
			for _, f := range o.Funcs {
				k.setFuncState(t, f, f.Patched, false, "complete")
			}
		}
		if target == Patched {
			k.synchronize(t, SyncCompletePatched, "before resetting patch_state")
		}
		k.forEachTask(t, "klp_complete_transition: patch_state = IDLE (tasklist_lock)", func(tk *Task) {
			k.walkOp(t, "klp_complete_transition: WARN_ON_ONCE(TIF_PATCH_PENDING), "+tk.Name+"->patch_state = IDLE", k.fpPStateFlags(tk, explore.Write))
			k.check(t, k.mon.Completing(k, tk))
			tk.PatchState = Undef
		})
	}
	for _, o := range p.Objs {
		if !o.Loaded() {
			continue
		}
		if target == Patched {
			k.postPatch(t, o)
		} else {
			k.postUnpatch(t, o)
		}
	}
	k.klpLog("'%s': %s complete", p.Name, target.word())
	t.Op("klp_target_state = IDLE, klp_transition_patch = NULL", k.fpKLP(explore.Write))
	k.target = Undef
	k.transition = nil
}

// discardNops frees the dynamic nop funcs and objects of p
// (klp_free_objects_dynamic).
func (k *Kernel) discardNops(p *Patch) {
	var objs []*Object
	for _, o := range p.Objs {
		if o.Dynamic {
			continue
		}
		var fs []*Func
		for _, f := range o.Funcs {
			if !f.Nop {
				fs = append(fs, f)
			}
		}
		o.Funcs = fs
		objs = append(objs, o)
	}
	p.Objs = objs
}

// cancelTransition mirrors klp_cancel_transition (enable error path, before
// klp_start_transition).
func (k *Kernel) cancelTransition(t *explore.Thread) {
	if k.target != Patched {
		return
	}
	k.klpLog("'%s': canceling patching transition, going to unpatch", k.transition.Name)
	t.Op("klp_cancel_transition: klp_target_state = UNPATCHED", k.fpKLP(explore.Write))
	k.target = Unpatched
	k.completeTransition(t)
}

// reverseTransition mirrors klp_reverse_transition (v6.4+ order: clear
// every TIF_PATCH_PENDING, synchronize, then flip the target, smp_wmb,
// klp_start_transition).
func (k *Kernel) reverseTransition(t *explore.Thread) {
	p := k.transition
	from := "patching to unpatching"
	if k.target == Unpatched {
		from = "unpatching to patching"
	}
	k.klpLog("'%s': reversing transition from %s", p.Name, from)
	flip := func() {
		t.Op("klp_reverse_transition: flip patch->enabled and klp_target_state", k.fpWorkKLP(explore.Write))
		p.Enabled = !p.Enabled
		k.attemptEpoch = ^uint64(0) // the new direction needs a new attempt
		if k.cfg.proposed(ReleasingTasksCountAll) && k.walkDone {
			// The reversed transition needs a walk of its own: the work,
			// idle while the last put was awaited, is scheduled again.
			// (The POC as posted keeps klp_track_releasing_tasks as it
			// is: see docs/history-livepatch.md.)
			k.walkDone = false
			k.workArmed = true
		}
		if k.target == Patched {
			k.target = Unpatched
		} else {
			k.target = Patched
		}
		t.Op("klp_reverse_transition: smp_wmb (no effect under SC)", explore.Local)
	}
	// Before v6.4 (and in v1 of the cond_resched hook), the flip came
	// first; Petr Mladek's review moved it after the clear and the
	// synchronisation (Config.Reorder "reverse-flip-first").
	flipFirst := k.cfg.reordered(ReverseFlipFirst)
	if flipFirst {
		flip()
	}
	k.forEachTask(t, "klp_reverse_transition: clear TIF_PATCH_PENDING (tasklist_lock)", func(tk *Task) {
		k.walkOp(t, "klp_reverse_transition: clear TIF_PATCH_PENDING of "+tk.Name, k.fpFlags(tk, explore.Write))
		tk.PatchPending = false
	})
	k.synchronize(t, SyncReverse, "klp_reverse_transition")
	if !flipFirst {
		flip()
	}
	k.startTransition(t)
}

// forceTransition mirrors klp_force_transition.
func (k *Kernel) forceTransition(t *explore.Thread) {
	k.klpLog("forcing remaining tasks to the patched state")
	k.forcedNow = true
	var switched []*Task
	k.forEachTask(t, "klp_force_transition: klp_update_patch_state on every task (tasklist_lock)", func(tk *Task) {
		k.walkOp(t, "klp_force_transition: klp_update_patch_state("+tk.Name+")", k.fpPStateFlags(tk, explore.Write))
		if tk.PatchPending {
			tk.PatchPending = false
			tk.PatchState = k.target
			tk.switched = true
			switched = append(switched, tk)
		}
	})
	for _, tk := range switched {
		tk.bump(t)
	}
	if k.target == Unpatched {
		k.transition.Forced = true
	} else if k.transition.Replace {
		for _, p := range k.Patches {
			if p != k.transition {
				p.Forced = true
			}
		}
	}
}

// transitionWork is klp_transition_work: the delayed work that re-runs
// klp_try_complete_transition under klp_mutex about once a second while a
// transition is incomplete.
//
// Time is abstracted: the work runs again when some pending task changed
// in a way that can let a retry succeed since the last attempt began (it
// went to sleep, exited, or switched itself; anything else would fail
// alike), and once more when nothing changed but the last attempt saw a
// pending task in interruptible sleep, which stands for the ≈15 identical
// attempts up to the next klp_send_signals. So a transition that cannot progress ends in
// a state where no thread can move, which the transition-completes
// property judges.
func (k *Kernel) transitionWork(t *explore.Thread) {
	for {
		t.Await("klp_transition_work: delayed work due", k.fpWorkEpochs(explore.Read), func() bool {
			return k.workArmed && k.transition != nil && (k.epoch() != k.attemptEpoch || (k.idleAttempts < 1 && k.wouldWake))
		})
		k.mutex.Lock(t)
		if k.transition != nil && k.workArmed {
			k.tryCompleteTransition(t)
		}
		k.mutex.Unlock(t)
	}
}

// SettledVersion is the version of sym a task in state st should run
// during the current transition: with st the target, the version once the
// transition completes (the transition patch's nops and, for an atomic
// replace, the replaced patches' functions are gone); otherwise the
// version before it began (the transition patch's functions are not there
// yet, or still there when unpatching). nil means the original function.
// ok is false outside a transition or for a state the transition does not
// define (IDLE, an immediate patch).
func (k *Kernel) SettledVersion(sym *Symbol, st PatchState) (fn *Func, ok bool) {
	p := k.transition
	if p == nil || p.Immediate || st == Undef || k.forcedNow {
		// (A forced transition changes running tasks' patch_state
		// under them, by design: mixed-state judges that.)
		return nil, false
	}
	patching := st == Patched
	for _, f := range k.ops[sym.index].stack {
		g := f.obj.patch
		switch {
		case g == p && (!patching || f.Nop):
			continue // not there before patching / after unpatching; nops are discarded
		case g != p && patching && p.Replace && !g.nonReplaceable:
			continue // replaced
		}
		return f, true
	}
	return nil, true
}

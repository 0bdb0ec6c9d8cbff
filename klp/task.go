package klp

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// TaskState is the scheduler's view of a task.
type TaskState uint8

const (
	// Running: on a CPU (in the kernel or in user space); task_curr() is
	// true and klp_check_and_switch_task refuses it with -EBUSY.
	Running TaskState = iota
	// SleepingInterruptible: TASK_INTERRUPTIBLE; the fake signal wakes it.
	SleepingInterruptible
	// SleepingUninterruptible: TASK_UNINTERRUPTIBLE.
	SleepingUninterruptible
	// NotStarted: a child slot not forked yet.
	NotStarted
	// Dead: exited and released (unhashed from the task list).
	Dead
)

func (s TaskState) String() string {
	return [...]string{"running", "sleeping (interruptible)", "sleeping (uninterruptible)", "not started", "dead"}[s]
}

// Task is a task_struct as livepatch sees it: scheduler state, kernel
// stack of frames (function, version), patch_state, TIF_PATCH_PENDING.
type Task struct {
	k       *Kernel
	Name    string
	Pid     int
	Kthread bool
	Idle    bool // the idle task ("swapper/N") of CPU cpu

	State        TaskState
	Stack        []Frame
	PatchState   PatchState
	PatchPending bool // TIF_PATCH_PENDING
	NotifySignal bool // TIF_NOTIFY_SIGNAL (the fake signal of user tasks)

	linked    bool // on the task list (for_each_process_thread)
	released  bool // release_task ran while the task still runs (self-reaping exit)
	releasing bool // klp_exit_counted: counted in klp_releasing_tasks_cnt (proposed fix)
	switched  bool // patch_state was last set to klp_target_state by a switch (retry model, see leftList)
	inHandler bool // inside klp_ftrace_handler's preempt-disabled section (handler object)
	inUpdate  bool // inside klp_update_patch_state's section (sched object)
	blocked   bool // in an interruptible sleep only a signal ends
	woken     bool // a wakeup is pending for a blocked sleep
	kicked    bool // wake_up_if_idle hit this CPU
	epoch     uint64
	obj       explore.Obj // sched
	objStack  explore.Obj // stack; handler is objStack+1
	objEpoch  explore.Obj // change counter; obj is sched, obj+1 flags

	lCheck, lSwitch string // step labels of the stack check

	// A module's kworker (work is its module's config): its work item is
	// queued, running, and has signalled its completion. Guarded by the
	// kworker's sched object, as are the module's parameters it reads.
	work                               *ModuleConfig
	killed                             bool   // SIGKILL from the script (sched object)
	repeatFP                           string // loopState at the start of the last iteration
	workQueued, workRunning, completed bool
	cfg                                *TaskConfig
	prog                               []instr
	cpu                                int
	cpuState                           string
}

// InKLP reports whether the task is inside a preempt-disabled klp section
// (the ftrace handler, klp_update_patch_state, __klp_sched_try_switch).
func (tk *Task) InKLP() bool { return tk.inHandler || tk.inUpdate }

// Linked reports whether the task is on the task list.
func (tk *Task) Linked() bool { return tk.linked }

func (tk *Task) top() *Symbol {
	if len(tk.Stack) == 0 {
		return nil
	}
	return tk.Stack[len(tk.Stack)-1].Sym
}

func (tk *Task) where() string {
	if s := tk.top(); s != nil {
		return s.Name
	}
	return "user space"
}

// bump records a change that may let a retry of the transition succeed
// (a pending task went to sleep, exited or switched itself). It is a step
// of its own on the task's change counter, which only the delayed work's
// timer reads: the model's stand-in for "time passes until the next
// attempt".
func (tk *Task) bump(t *explore.Thread) {
	t.Op("(the delayed work is due again)", explore.W(tk.objEpoch))
	tk.epoch++
}

// run is the task's thread: it interprets the program, then exits.
func (tk *Task) run(t *explore.Thread) {
	k := tk.k
	tk.exec(t, 0, len(tk.prog))
	if len(tk.Stack) > 0 {
		t.Op("return to do_exit", k.fpStack(tk))
		tk.Stack = nil
	}
	if tk.released {
		// The task already left the task list (release_task in the
		// middle of its program): do_task_dead, then the RCU callback
		// delayed_put_task_struct drops the last reference.
		if k.cfg.proposed(ExitingTasksList) {
			// It leaves the exit list (exit_tasks_rcu_finish-like),
			// under the lock the walks hold.
			k.listWrite(t, "do_exit: leave the exit list, do_task_dead", k.fpTaskAll(tk))
			pending := tk.PatchPending
			tk.State = Dead
			tk.leftList(t, pending)
			return
		}
		t.Op("do_exit: do_task_dead", k.fpState(tk, explore.Write))
		tk.State = Dead
		if tk.releasing {
			tk.putReleasing(t)
		}
		return
	}
	// do_exit → release_task: the task leaves the task list.
	tk.unhash(t, "do_exit: release_task", true)
}

// unhash mirrors release_task's __unhash_process under
// write_lock(&tasklist_lock): the task leaves the task list (and, when
// dead, is done); then a retry of the transition may be due.
func (tk *Task) unhash(t *explore.Thread, label string, dead bool) {
	k := tk.k
	if !k.atomicWalk {
		k.tasklist.Lock(t)
	}
	k.listWrite(t, label, k.fpTaskAll(tk))
	pending := tk.PatchPending
	tk.linked = false
	if dead {
		tk.State = Dead
	} else {
		tk.released = true
	}
	if !k.atomicWalk {
		k.tasklist.Unlock(t)
	}
	if !dead && t.Tracing() {
		t.Notef("%s left the task list while still running %s", tk.Name, tk.where())
	}
	tk.leftList(t, pending)
}

// leftList records, for the delayed work's retry model (see
// transitionWork), that a task left the task list: a change that can let a
// retry succeed if the task blocked the last attempt, i.e. if it was not in
// the target state. That is decided from the task's own state, without
// reading klp_target_state (which would make every exit depend on every
// transition step): outside the admin's klp_mutex sections, which no
// attempt observes, a task on the list with patch_state set and not in the
// target state either has TIF_PATCH_PENDING (klp_start_transition sets it
// on every such task, and only a switch or force clears it), or has not
// switched since klp_init_transition gave it the initial state, or is a
// child whose flag and patch_state were copied at different times (before
// v6.1; such children count as not switched). A task with patch_state
// UNDEF is outside any transition, except the children of the rejected
// RCU walk, which block while UNDEF. Every such exit bumps; a few bump
// needlessly (a task that never switched but whose initial state became
// the target through a reverse), which costs a retry, never a verdict.
// (Model bookkeeping, not kernel code.)
func (tk *Task) leftList(t *explore.Thread, pending bool) {
	k := tk.k
	switch {
	case pending, tk.PatchState != Undef && !tk.switched, tk.PatchState == Undef && k.cfg.proposed(RCUTaskWalk):
		tk.bump(t)
	}
}

// exec interprets prog[lo:hi].
func (tk *Task) exec(t *explore.Thread, lo, hi int) {
	k := tk.k
	prog := tk.prog
	counts := make([]int, len(prog))
	lastLoop, lastEnd := -1, -1
	for pc := lo; pc < hi; pc++ {
		in := prog[pc]
		switch in.op {
		case opCall:
			if in.object != "vmlinux" {
				t.Op("call "+in.arg+": is module "+in.object+" loaded?", k.fpModules(explore.Read))
				if m := k.module(in.object); m == nil {
					t.Failf("program", "%s calls %s of module %s, which is not loaded", tk.Name, in.arg, in.object)
				}
			}
			tk.call(t, k.lookup(in.object, in.arg)[0])
		case opLog:
			t.Op("pr_info", explore.Local)
			k.logf("%s: %s", tk.work.Name, in.arg)
		case opComplete:
			t.Op("complete()", k.fpState(tk, explore.Write))
			tk.completed = true
		case opSleepWhile:
			tk.sleepWhile(t, in.arg)
		case opRet:
			lbl := "return from user space"
			if top := tk.top(); top != nil {
				lbl = top.lRet
			}
			t.Op(lbl, k.fpStack(tk))
			if len(tk.Stack) == 0 {
				t.Failf("program", "%s: ret with an empty kernel stack", tk.Name)
			}
			tk.Stack = tk.Stack[:len(tk.Stack)-1]
		case opSleep, opBlock:
			tk.sleep(t, in)
		case opUser:
			if len(tk.Stack) != 0 {
				t.Op("exit to user mode", explore.Local)
				t.Failf("program", "%s: `user` with %s still on its kernel stack", tk.Name, tk.where())
			}
			tk.updatePatchState(t, "exit_to_user_mode: klp_update_patch_state: test_and_clear TIF_PATCH_PENDING")
		case opCondResched:
			tk.condResched(t)
		case opLoop:
			counts[pc] = 0
		case opEnd:
			lp := in.n
			counts[lp]++
			if counts[lp] < prog[lp].n {
				pc = lp // the loop's body starts after it
			} else {
				lastLoop, lastEnd = lp, pc
			}
		case opSpin:
			tk.spin(t, lastLoop, lastEnd)
		case opFork:
			tk.fork(t, k.taskNamed(in.arg), in.uninterruptib)
		case opRelease:
			tk.releaseTask(t)
		case opTrampoline:
			t.Op("enter a BPF trampoline", k.fpStack(tk))
			tk.Stack = append(tk.Stack, Frame{Sym: k.trampoline})
		case opRepeat:
			if !tk.repeat(t) {
				return
			}
			pc = lo - 1
		}
	}
}

// sleep is `sleep`, `sleep-d`, `block` and `block-d`: the task sleeps in
// its current function and wakes up (or waits for a signal).
func (tk *Task) sleep(t *explore.Thread, in instr) {
	k := tk.k
	st := SleepingInterruptible
	if in.uninterruptib {
		st = SleepingUninterruptible
	}
	lSleep, lWake, lWoken := "sleep", "wake up", "woken"
	if top := tk.top(); top != nil {
		lSleep, lWake, lWoken = top.lSleep, top.lWake, top.lWoken
	}
	if in.freezable && k.cfg.proposed(UntangleCondResched) {
		// __schedule: klp_sched_try_switch(prev) for a TASK_FREEZABLE
		// sleeper, still current, before it is dequeued.
		tk.schedTrySwitch(t, "__schedule: klp_sched_try_switch (TASK_FREEZABLE): TIF_PATCH_PENDING?")
	}
	t.Op(lSleep, k.fpState(tk, explore.Write))
	tk.State = st
	tk.woken = false
	tk.blocked = in.op == opBlock && !in.uninterruptib
	// A pending task asleep: if it could now pass the stack check,
	// a retry is due. (Model bookkeeping for the delayed work's
	// time abstraction, not kernel code.)
	t.Op("(is the sleeper pending?)", k.fpFlags(tk, explore.Read))
	if tk.PatchPending {
		// A retry is due if the stack check can pass now, or if
		// only the fake signal can end this sleep.
		t.Op("(can the stack check pass now?)", k.fpKLPOps())
		if k.transition != nil && (tk.blocked || k.switchBlocker(tk, false) == "") {
			tk.bump(t)
		}
	}
	if in.op == opSleep {
		t.Op(lWake, k.fpState(tk, explore.Write))
	} else {
		t.Await(lWoken, k.fpState(tk, explore.Write), func() bool { return tk.woken })
		tk.blocked = false
	}
	// Waking makes no task easier to switch: no retry is due.
	tk.State = Running
	tk.woken = false
}

// spin keeps the task running forever, repeating the body of the loop
// that precedes it (a CPU-bound kthread). Iterations that cannot change
// anything are not explored: the task repeats its body only when the
// livepatch hook is armed for it (klp_cond_resched_enable and
// TIF_PATCH_PENDING) and some task changed since its last iteration; an
// iteration that changes nothing would be followed by identical ones.
// Without a loop before it, spin just runs forever.
func (tk *Task) spin(t *explore.Thread, loop, end int) {
	k := tk.k
	label := "running forever (CPU-bound) in " + tk.where()
	if loop < 0 {
		t.Await(label, explore.Local, func() bool { return false })
		return
	}
	last := ^uint64(0)
	for {
		t.Await(label, k.fpWorkUpTo(tk, explore.Read), func() bool {
			return k.hookEnabled && tk.PatchPending && k.condReschedHook() && k.epoch() != last
		})
		last = k.epoch()
		tk.exec(t, loop+1, end)
	}
}

// call enters fn: through klp_ftrace_handler (patch.c) when some patch of
// the scenario may patch it.
func (tk *Task) call(t *explore.Thread, sym *Symbol) {
	k := tk.k
	if !k.patchable(sym) {
		t.Op(sym.lCall, k.fpStack(tk))
		tk.Stack = append(tk.Stack, Frame{Sym: sym})
		k.check(t, k.mon.Entered(k, tk, Frame{Sym: sym}))
		return
	}
	if k.arch != nil && k.arch.Traced(sym) {
		switch k.arch.Fentry(t, tk, sym) {
		case FentryDied:
			t.Op("the CPU died at the fentry site of "+sym.Name, explore.Local)
			t.Failf("model", "%s: its CPU died at the fentry site of %s without the architecture reporting why (model bug)", tk.Name, sym.Name)
		case FentrySkipped:
			// Nothing called ftrace: the original body runs, whatever
			// the task's patch_state.
			t.Op(sym.lCall+" (fentry skipped)", k.fpStack(tk))
			fr := Frame{Sym: sym}
			if t.Tracing() {
				t.Notef("%s enters %s: its fentry call was skipped, klp_ftrace_handler did not run", tk.Name, fr)
			}
			tk.Stack = append(tk.Stack, fr)
			k.check(t, k.mon.Entered(k, tk, fr))
			return
		}
	}
	fr := k.ftraceHandler(t, tk, sym)
	t.Op(sym.lEnter, k.fpStackHandler(tk))
	if t.Tracing() {
		t.Notef("%s enters %s", tk.Name, fr)
	}
	tk.inHandler = false
	tk.Stack = append(tk.Stack, fr)
	if !fr.Original() && fr.Func.RemovesCaller {
		// lp_sys_getpid: under kpid_mutex, take current off klp_pids.
		// Tasks remove distinct entries, so the removals commute; the
		// step writes the task's own stack, which readers of npids
		// (the script, fpAll) conflict with.
		p := fr.Func.Patch()
		for i, n := range p.pendingPids {
			if n == tk.Name {
				p.pendingPids = append(p.pendingPids[:i:i], p.pendingPids[i+1:]...)
				break
			}
		}
	}
	k.check(t, k.mon.Entered(k, tk, fr))
}

// updatePatchState mirrors klp_update_patch_state(current) at a
// self-switch point: with preemption disabled, test_and_clear
// TIF_PATCH_PENDING (a full barrier), and if it was set copy
// klp_target_state into patch_state.
func (tk *Task) updatePatchState(t *explore.Thread, where string) {
	k := tk.k
	t.Op(where, k.fpFlags(tk, explore.Write))
	tk.NotifySignal = false
	tk.kicked = false
	if !tk.PatchPending {
		return
	}
	tk.PatchPending = false
	tk.inUpdate = true
	t.Op("klp_update_patch_state: READ_ONCE(klp_target_state)", k.fpKLP(explore.Read))
	target := k.target
	t.Op("klp_update_patch_state: patch_state = klp_target_state", k.fpPStateFlags(tk, explore.Write))
	tk.PatchState = target
	tk.switched = true
	tk.inUpdate = false
	tk.bump(t)
	if t.Tracing() {
		t.Notef("%s switched itself to %s", tk.Name, target)
	}
}

// condResched mirrors cond_resched() with the v6.4+ livepatch hook
// (klp_sched_try_switch → __klp_sched_try_switch).
func (tk *Task) condResched(t *explore.Thread) {
	k := tk.k
	if !k.condReschedHook() {
		t.Op("cond_resched", explore.Local)
		return
	}
	tk.schedTrySwitch(t, "cond_resched: klp_sched_try_switch: TIF_PATCH_PENDING?")
}

// condReschedHook reports whether cond_resched calls the livepatch hook
// (v6.4 on, unless the step is disabled or the untangled hook proposed).
func (k *Kernel) condReschedHook() bool {
	return !k.cfg.disabled(CondReschedHook) && !k.cfg.proposed(UntangleCondResched)
}

// schedTrySwitch is klp_sched_try_switch: if the hook's key is on and
// current has TIF_PATCH_PENDING, __klp_sched_try_switch checks the task's
// own stack and switches it.
func (tk *Task) schedTrySwitch(t *explore.Thread, label string) {
	k := tk.k
	t.Op(label, k.fpFlags(tk, explore.Read))
	if !tk.PatchPending {
		return
	}
	if k.cfg.disabled(AtomicSelfSwitch) {
		tk.selfSwitchSteps(t)
		return
	}
	t.Op("__klp_sched_try_switch: preempt_disable, recheck, smp_rmb, klp_try_switch_task(current)", k.fpUpTo(tk))
	if !k.hookEnabled || !tk.PatchPending {
		return
	}
	if k.trySwitchTask(t, tk, true) {
		tk.bump(t)
	}
}

// selfSwitchSteps is __klp_sched_try_switch split into the steps at
// which it reads shared state (Config.Disable "atomic-self-switch"): the
// recheck of the hook and TIF_PATCH_PENDING, klp_try_switch_task's
// already-in-target check, klp_check_stack's read of klp_target_state
// for each patched function (which version must not be on the stack),
// and klp_check_and_switch_task's switch (clear TIF_PATCH_PENDING,
// patch_state = klp_target_state, read again). The task is inside a
// preempt-disabled section (klp_synchronize_transition waits for it)
// from the recheck to its last step. Every step declares klp, every
// func_stack and the task objects up to its own, written.
func (tk *Task) selfSwitchSteps(t *explore.Thread) {
	k := tk.k
	fp := k.fpUpTo(tk)
	t.Op("__klp_sched_try_switch: preempt_disable, recheck TIF_PATCH_PENDING, smp_rmb", fp)
	if !k.hookEnabled || !tk.PatchPending {
		return
	}
	tk.inUpdate = true
	t.Op("klp_try_switch_task(current): patch_state == klp_target_state?", fp)
	if tk.PatchState == k.target || k.cfg.UnreliableStacks {
		tk.inUpdate = false
		return
	}
	if k.switchBlocker(tk, true) == "has an unreliable stack" {
		tk.inUpdate = false
		return
	}
	for f := range k.transition.stackChecked() {
		t.Op("klp_check_stack: klp_target_state, func_stack of "+f.OldName, fp)
		if k.funcOnStack(tk, f, k.target) {
			if t.Tracing() {
				t.Notef("klp_try_switch_task: %s:%d is sleeping on function %s", tk.Name, tk.Pid, f.OldName)
			}
			tk.inUpdate = false
			return
		}
	}
	t.Op("klp_check_and_switch_task(current): clear TIF_PATCH_PENDING, patch_state = klp_target_state", fp)
	tk.PatchPending = false
	tk.PatchState = k.target
	tk.switched = true
	tk.inUpdate = false
	if t.Tracing() {
		t.Notef("klp_try_switch_task: %s switched itself to %s", tk.Name, k.target)
	}
	tk.bump(t)
}

// fork mirrors copy_process for a child: dup_task_struct copies the thread
// flags early; klp_copy_process (v6.1+) recomputes the child's
// TIF_PATCH_PENDING from the parent's current flag and copies patch_state,
// under tasklist_lock, right before the child is linked.
//
// With sleeps (the `fork-sleep` instruction) the parent sleeps
// uninterruptibly inside copy_process between the two (a GFP_KERNEL
// allocation), where the worker's stack check can switch it: Josh
// Poimboeuf's forward variant of the fork race.
func (tk *Task) fork(t *explore.Thread, child *Task, sleeps bool) {
	k := tk.k
	lo, hi := tk.obj, child.obj
	if hi < lo {
		lo, hi = hi, lo
	}
	fp := explore.WRange(lo, int(hi-lo)+3) // both tasks' objects
	t.Op("fork "+child.Name+": dup_task_struct (copies thread flags)", fp)
	child.PatchPending = tk.PatchPending
	if sleeps {
		tk.sleep(t, instr{op: opSleep, uninterruptib: true})
	}
	if !k.atomicWalk {
		k.tasklist.Lock(t)
		defer k.tasklist.Unlock(t)
	}
	k.listWrite(t, "fork "+child.Name+": copy_process: klp_copy_process, link under tasklist_lock", fp)
	switch {
	case k.cfg.proposed(RCUTaskWalk):
		// The rejected RCU-walk design: the child starts UNDEF with no
		// TIF_PATCH_PENDING; the handler will map UNDEF to the target.
		child.PatchPending = false
		child.PatchState = Undef
		child.switched = false
	default:
		if !k.cfg.disabled(CopyProcessTIF) {
			child.PatchPending = tk.PatchPending
			child.switched = tk.switched
		} else {
			child.switched = false // its flag is older than its patch_state
		}
		child.PatchState = tk.PatchState
	}
	child.linked = true
	child.State = Running
	t.System().Go(child.Name, child.run)
}

// releaseTask mirrors exit_notify of a self-reaping task (a thread whose
// exit signal is -1, or one whose parent ignores SIGCHLD): release_task →
// __exit_signal → __unhash_process removes it from the task list under
// tasklist_lock, and the task goes on running the rest of do_exit (the
// 2025 do_exit crash, [LKML] CALOAHbA9WHPjeZKUcUkwULagQjTMfqAdAg+akqPzbZ7Byc=qrw@mail.gmail.com).
// With the proposed releasing-tasks count, release_task first counts the
// task in klp_releasing_tasks.
func (tk *Task) releaseTask(t *explore.Thread) {
	k := tk.k
	if tk.released {
		t.Op("release_task", explore.Local)
		t.Failf("program", "%s: release_task twice", tk.Name)
	}
	if all := k.cfg.proposed(ReleasingTasksCountAll); all || k.cfg.proposed(ReleasingTasksCount) {
		// klp_get_releasing_task, under klp_mutex.
		k.mutex.Lock(t)
		lbl := "release_task: klp_get_releasing_task: klp_releasing_tasks_cnt++ if klp_track_releasing_tasks"
		if all {
			lbl = "release_task: klp_get_releasing_task: klp_releasing_tasks_cnt++"
		}
		t.Op(lbl, k.fpWork(explore.Write))
		if k.trackReleasing || all {
			k.releasingCnt++
			tk.releasing = true
		} else if t.Tracing() {
			t.Notef("no transition in progress: %s is not counted", tk.Name)
		}
		k.mutex.Unlock(t)
	}
	tk.unhash(t, "exit_notify: release_task: __unhash_process (still running do_exit)", false)
}

// putReleasing mirrors klp_put_releasing_task (Petr Mladek's POC), called
// from delayed_put_task_struct for a task klp_get_releasing_task counted:
// under klp_mutex, the last counted task finishes the transition once the
// task-list walk has succeeded (klp_track_releasing_tasks cleared). (The
// RCU callback runs in softirq context on some CPU; the model runs it in
// the exiting task's thread after do_task_dead. Tasks the POC did not
// count take klp_mutex and do nothing: those steps are left out.)
func (tk *Task) putReleasing(t *explore.Thread) {
	k := tk.k
	k.mutex.Lock(t)
	t.Op("delayed_put_task_struct: klp_put_releasing_task: klp_releasing_tasks_cnt--", k.fpWork(explore.Write))
	tk.releasing = false
	k.releasingCnt--
	if k.releasingCnt < 0 {
		t.Fail("livepatch", "WARN_ON_ONCE(!klp_releasing_tasks_cnt) in klp_put_releasing_task")
	}
	if k.releasingCnt == 0 && k.walkDone && k.transition != nil {
		k.klpLog("'%s': the last releasing task is gone", k.transition.Name)
		k.finishTransition(t, k.transition)
	}
	k.mutex.Unlock(t)
}

// idleLoop is the idle task of an idle CPU: it waits for a wakeup and at
// the end of each do_idle() iteration switches itself if
// TIF_PATCH_PENDING is set.
func (tk *Task) idleLoop(t *explore.Thread) {
	for {
		t.Await("do_idle: CPU idle until woken", tk.k.fpFlags(tk, explore.Read), func() bool { return tk.kicked })
		tk.updatePatchState(t, "do_idle (end of iteration): klp_update_patch_state: test_and_clear TIF_PATCH_PENDING")
	}
}

// kworker is the thread of a module's kworker: idle in worker_thread
// (TASK_IDLE, no frame) until the module queues its work, then it runs
// the work's program and goes idle again.
func (tk *Task) kworker(t *explore.Thread) {
	k := tk.k
	for {
		t.Await("worker_thread: idle until work is queued", k.fpState(tk, explore.Write), func() bool { return tk.workQueued })
		tk.workQueued, tk.workRunning = false, true
		tk.State = Running
		tk.exec(t, 0, len(tk.prog))
		if len(tk.Stack) > 0 {
			t.Op("work function returns", explore.Local)
			t.Failf("program", "%s: the work of %s returns with %s on its stack", tk.Name, tk.work.Name, tk.where())
		}
		t.Op("worker_thread: work done, idle", k.fpState(tk, explore.Write))
		tk.workRunning = false
		tk.State = SleepingUninterruptible
		tk.sleptPending(t)
	}
}

// sleepWhile mirrors `while (READ_ONCE(param)) msleep(20);` in the current
// function. The 20 ms wakeups are left out: each finds the task in the
// same function, where a running task cannot be switched either.
func (tk *Task) sleepWhile(t *explore.Thread, param string) {
	k := tk.k
	on := func() bool {
		m := k.module(tk.work.Name)
		if m == nil {
			return false // unloaded: see below
		}
		v, _ := kstrtobool(m.Params[param])
		return v
	}
	gone := func() {
		if k.module(tk.work.Name) == nil {
			t.Failf("module-text", "%s runs the work of module %s, which was unloaded without flushing it: its code is freed", tk.Name, tk.work.Name)
		}
	}
	t.OpMulti("READ_ONCE("+param+")", k.fpState(tk, explore.Read), k.fpModules(explore.Read))
	gone()
	if !on() {
		return
	}
	lSleep := "msleep"
	if top := tk.top(); top != nil {
		lSleep = "msleep in " + top.Name
	}
	t.Op(lSleep, k.fpState(tk, explore.Write))
	tk.State = SleepingUninterruptible
	tk.sleptPending(t)
	t.AwaitMulti(lSleep+" until "+param+" is cleared", func() bool { return !on() }, k.fpState(tk, explore.Write), k.fpModules(explore.Read))
	gone()
	tk.State = Running
}

// sleptPending is the retry bookkeeping of a task that just went to
// sleep (see sleep): if it is pending and could pass the stack check now,
// a retry of the transition is due. (Model bookkeeping, not kernel code.)
func (tk *Task) sleptPending(t *explore.Thread) {
	k := tk.k
	t.Op("(is the sleeper pending?)", k.fpFlags(tk, explore.Read))
	if tk.PatchPending {
		t.Op("(can the stack check pass now?)", k.fpKLPOps())
		if k.transition != nil && k.switchBlocker(tk, false) == "" {
			tk.bump(t)
		}
	}
}

// repeat is the end of a `repeat` program: it waits until the script
// kills the task (false: exit) or the livepatch state the next iteration
// would start from differs from the one the last iteration started from
// (true: run the program again). An iteration from the same state would
// take the same steps to the same end, so leaving it out loses no
// behaviour. The state is what the program's steps read: the transition
// and its target, the cond_resched key, the task's patch_state and
// TIF_PATCH_PENDING, the func_stack heads and transition flags, and the
// pending pids of patches.
func (tk *Task) repeat(t *explore.Thread) bool {
	k := tk.k
	if tk.repeatFP == "" {
		tk.repeatFP = "(first)"
	}
	last := tk.repeatFP
	fp := explore.Footprint{Lo: k.objKLP, Hi: tk.obj + 3, Access: explore.Read}
	t.AwaitMulti("user space: loop until killed", func() bool { return tk.killed || tk.loopState() != last }, fp, k.fpState(tk, explore.Write))
	if tk.killed {
		return false
	}
	tk.repeatFP = tk.loopState()
	return true
}

// loopState is the state a repeat iteration starts from (see repeat).
func (tk *Task) loopState() string {
	k := tk.k
	var b strings.Builder
	tr := ""
	if k.transition != nil {
		tr = k.transition.Name
	}
	fmt.Fprintf(&b, "%s/%d/%v/%d/%v", tr, k.target, k.hookEnabled, tk.PatchState, tk.PatchPending)
	for i := range k.ops {
		if st := k.ops[i].stack; len(st) > 0 {
			fmt.Fprintf(&b, "|%d:%p:%v", i, st[0], st[0].Transition)
		}
	}
	for _, p := range k.Patches {
		for _, n := range p.pendingPids {
			if n == tk.Name {
				fmt.Fprintf(&b, "|pending in %s", p.Name)
			}
		}
	}
	return b.String()
}

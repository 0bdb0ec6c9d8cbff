package klp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// Violation is a property failure reported by a Monitor.
type Violation struct{ Property, Message string }

func (v *Violation) Error() string { return v.Property + ": " + v.Message }

// CallbackKind names a klp_callbacks member.
type CallbackKind string

const (
	PrePatch    CallbackKind = "pre_patch"
	PostPatch   CallbackKind = "post_patch"
	PreUnpatch  CallbackKind = "pre_unpatch"
	PostUnpatch CallbackKind = "post_unpatch"
)

// CallbackPath says which kernel path ran a callback.
type CallbackPath uint8

const (
	CallbackTransition CallbackPath = iota
	CallbackModuleComing
	CallbackModuleGoing
)

func (p CallbackPath) String() string {
	return [...]string{"transition", "klp_module_coming", "klp_module_going"}[p]
}

// FuncState is a klp_func's (patched, transition) pair.
type FuncState struct{ Patched, Transition bool }

func (s FuncState) String() string {
	b := func(x bool) int {
		if x {
			return 1
		}
		return 0
	}
	return fmt.Sprintf("(patched=%d, transition=%d)", b(s.Patched), b(s.Transition))
}

// Monitor judges what the model reports at its observation points. A nil
// error means the property holds; a *Violation names the property. The
// props package provides the monitor of the livepatch properties; tests
// may pass NoMonitor.
type Monitor interface {
	// Entered: task entered a function (fr is the version the ftrace
	// handler chose).
	Entered(k *Kernel, task *Task, fr Frame) error
	// HandlerRead: the handler read current->patch_state because
	// func->transition was set.
	HandlerRead(k *Kernel, task *Task, fn *Func, state PatchState) error
	// FuncStateChanged: a klp_func's (patched, transition) changed; why
	// names the kernel path ("patch", "unpatch", "init", "complete",
	// "module-coming", "module-going", "replaced", "discard-nops").
	FuncStateChanged(k *Kernel, f *Func, from, to FuncState, why string) error
	// Callback: a callback ran (ret is pre_patch's return value); path
	// is CallbackTransition when the callback belongs to a patch's own
	// (un)patching transition (enable, disable, completion, cancel) and
	// CallbackModuleComing / CallbackModuleGoing when klp_module_coming
	// or klp_module_going ran it for a loading or unloading module, which
	// the kernel does whatever transition is in progress.
	Callback(k *Kernel, o *Object, cb CallbackKind, ret int, path CallbackPath) error
	// StateAccess: a callback body used the system-state API (state.go).
	StateAccess(k *Kernel, o *Object, a StateAccess) error
	// ShadowAccess: a callback body used the shadow variable API
	// (shadow.go).
	ShadowAccess(k *Kernel, o *Object, a ShadowAccess) error
	// Completing: klp_complete_transition is about to reset the task's
	// patch_state to IDLE (where the kernel WARNs about a pending flag).
	Completing(k *Kernel, tk *Task) error
	// ModuleRemoved: a module's text is freed by rmmod (a livepatch
	// module's: m.Patch() is its patch).
	ModuleRemoved(k *Kernel, m *Module) error
	// Quiescent judges an execution in which no thread can move.
	Quiescent(k *Kernel, blocked []*explore.Thread) *explore.Failure
	// End judges a finished execution.
	End(k *Kernel) error
}

// Kernel is the livepatch world of one execution.
type Kernel struct {
	cfg *Config
	sys *explore.System
	mon Monitor

	objKLP     explore.Obj // klp_target_state, klp_transition_patch, hook key, work
	objEpoch   explore.Obj // one per task slot: its change counter
	objSched   explore.Obj // one per task slot
	objOps     explore.Obj // one per symbol: func_stack + func->transition
	objEnd     explore.Obj
	mutex      *explore.Mutex
	tasklist   *explore.Mutex
	objList    explore.Obj // the task list: every task's link, and listHeld
	listHeld   bool        // klp_try_complete_transition holds read_lock(&tasklist_lock)
	listFree   func() bool // !listHeld (allocated once)
	atomicWalk bool        // task-list walks are one step (see forEachTask)
	inWalk     bool

	syms    []*Symbol
	symsBy  map[string][]*Symbol // by object + "\x00" + name
	ops     []ops
	modules []*Module // loaded modules, in load order

	// klp_patches, in order.
	Patches     []*Patch
	transition  *Patch
	target      PatchState
	signalsCnt  int
	hookEnabled bool // klp_cond_resched_enable
	patchSeq    int

	// The delayed work.
	workArmed     bool
	attemptEpoch  uint64
	idleAttempts  int
	attemptsTotal int
	wouldWake     bool // the last attempt saw a pending interruptible sleeper
	// Petr Mladek's POC (Config.Proposed "releasing-tasks-count"), in the
	// work object, under klp_mutex.
	trackReleasing bool // klp_track_releasing_tasks
	releasingCnt   int  // klp_releasing_tasks_cnt
	// walkDone: the transition's task-list walk succeeded; the last put of a
	// counted task then completes it ("releasing-tasks-count-all" counts
	// every release_task, not only those during a transition).
	walkDone   bool
	sawBlocked bool // the attempt in progress saw one (attempt-private)

	Tasks []*Task // every task slot (linked or not), idle tasks first
	log   []string
	shell []string
	// ftrace: the ftrace_enabled sysctl (inverted: the zero value is
	// enabled) and, per symbol, who has an IPMODIFY ftrace ops on it
	// ("livepatch", "kprobe", "").
	ftraceDisabled bool
	// objModules is the list of loaded modules, an object only when some
	// program calls a module's function (the call reads it, load and
	// unload write it).
	callsModules bool
	// forcedNow: the current transition was forced.
	forcedNow bool
	// trampoline is the BPF trampoline's pseudo-symbol (nil: unused).
	trampoline *Symbol
	objModules explore.Obj
	ipmodify   []string
	// The shadow variable hash (shadow.go).
	shadows   []*Shadow
	shadowSeq int
	// stateFreed[i] says whether state data buffer i+1 was freed.
	stateFreed []bool
	// cbPath is the path running callbacks now (under klp_mutex).
	cbPath CallbackPath

	patchableSym []bool
	arch         Arch // nil: fentry sites are not modelled
}

// Log returns the event log: what the selftests' check_result compares,
// in order. It holds the kernel's messages in dmesg wording (livepatch
// core, test modules' pr_info), the lines the functions.sh helpers write
// to /dev/kmsg (the "% insmod …" / "% rmmod …" / "% echo …" command lines
// and, for load_failing_mod only, insmod's error), and the script's `log`
// lines. Nothing a command prints on the terminal is in it (see Shell).
func (k *Kernel) Log() []string { return k.log }

// Shell returns what the script's commands printed on their terminal
// (stderr): bash's "write error", insmod's and rmmod's errors for plain
// commands, cat's errors. The kernel log never holds these lines, so
// check_result never sees them.
func (k *Kernel) Shell() []string { return k.shell }

func (k *Kernel) shellf(format string, args ...any) {
	k.shell = append(k.shell, fmt.Sprintf(format, args...))
}

// TransitionPatch is klp_transition_patch (nil when idle).
func (k *Kernel) TransitionPatch() *Patch { return k.transition }

// TargetState is klp_target_state.
func (k *Kernel) TargetState() PatchState { return k.target }

// Config returns the scenario's configuration.
func (k *Kernel) Config() *Config { return k.cfg }

func (k *Kernel) logf(format string, args ...any) {
	k.log = append(k.log, fmt.Sprintf(format, args...))
}

func (k *Kernel) klpLog(format string, args ...any) {
	k.log = append(k.log, "livepatch: "+fmt.Sprintf(format, args...))
}

// check turns a monitor's verdict into a failure of the thread.
func (k *Kernel) check(t *explore.Thread, err error) {
	if err == nil {
		return
	}
	if v, ok := err.(*Violation); ok {
		t.Fail(v.Property, v.Message)
	}
	t.Fail("livepatch", err.Error())
}

// Footprints. The object layout of one execution is
//
//	work | klp | func_stack[0..m) | epoch[0..n) | state[0], patch_state[0], flags[0], … | stack[0], handler[0], …
//
// work holds the delayed work's state (armed, what its last attempt saw)
// and klp_patches; klp holds klp_target_state, klp_transition_patch and
// the cond_resched key; epoch[i] counts a task's changes that can let a
// retry succeed; sched[i] a task's scheduler state, patch_state and
// TIF_PATCH_PENDING; func_stack[s] the
// klp_ops of function s (its func_stack and the funcs' transition flags);
// stack[i] a task's kernel stack and handler[i] whether it is inside the
// ftrace handler's preempt-disabled section. A task's stack changes only
// while it runs, and klp_try_switch_task reads it only while the task is
// not running, so the stack check declares sched[i] alone.
func (k *Kernel) fpKLP(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP + 1, Hi: k.objKLP + 2, Access: a}
}

// fpWork is the delayed work's state (armed, last attempt); fpWorkKLP
// covers it and klp.
func (k *Kernel) fpWork(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP, Hi: k.objKLP + 1, Access: a}
}
func (k *Kernel) fpWorkKLP(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP, Hi: k.objKLP + 2, Access: a}
}
func (k *Kernel) fpOps(sym *Symbol, a explore.Access) explore.Footprint {
	o := k.objOps + explore.Obj(sym.index)
	return explore.Footprint{Lo: o, Hi: o + 1, Access: a}
}
func (k *Kernel) fpAllOps() explore.Footprint {
	return explore.WRange(k.objOps, len(k.syms))
}

// fpTasks covers every task's state, patch_state and flags objects.
func (k *Kernel) fpTasks(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objSched, Hi: k.objSched + explore.Obj(3*len(k.Tasks)), Access: a}
}

// fpState is a task's scheduler state (running, sleeping, on the task
// list, a pending wakeup).
func (k *Kernel) fpState(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: tk.obj, Hi: tk.obj + 1, Access: a}
}

// fpPState is a task's patch_state.
func (k *Kernel) fpPState(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: tk.obj + 1, Hi: tk.obj + 2, Access: a}
}

// fpFlags is a task's thread flags (TIF_PATCH_PENDING, TIF_NOTIFY_SIGNAL,
// the klp_update_patch_state section, an idle kick).
func (k *Kernel) fpFlags(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: tk.obj + 2, Hi: tk.obj + 3, Access: a}
}

func (k *Kernel) fpStatePState(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: tk.obj, Hi: tk.obj + 2, Access: a}
}

func (k *Kernel) fpPStateFlags(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: tk.obj + 1, Hi: tk.obj + 3, Access: a}
}

// fpTaskAll is all three.
func (k *Kernel) fpTaskAll(tk *Task) explore.Footprint { return explore.WRange(tk.obj, 3) }

// fpStack is a task's kernel stack.
func (k *Kernel) fpStack(tk *Task) explore.Footprint { return explore.W(tk.objStack) }

// fpHandler is a task's ftrace-handler section flag.
func (k *Kernel) fpHandler(tk *Task) explore.Footprint { return explore.W(tk.objStack + 1) }

// fpStackHandler is both.
func (k *Kernel) fpStackHandler(tk *Task) explore.Footprint { return explore.WRange(tk.objStack, 2) }

// fpUpTo covers klp, every func_stack and the sched objects up to tk's:
// what a task's own stack check (__klp_sched_try_switch) reads and writes
// without klp_mutex.
func (k *Kernel) fpUpTo(tk *Task) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP + 1, Hi: tk.obj + 3, Access: explore.Write}
}

// fpKLPOps covers klp and every func_stack: what a stack check reads.
func (k *Kernel) fpKLPOps() explore.Footprint {
	return explore.Footprint{Lo: k.objKLP + 1, Hi: k.objOps + explore.Obj(max(1, len(k.syms))), Access: explore.Read}
}

// fpWorkEpochs covers the work, klp and every task's change counter: what
// the delayed work's timer reads.
func (k *Kernel) fpWorkEpochs(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP, Hi: k.objEpoch + explore.Obj(len(k.Tasks)), Access: a}
}

// fpWorkUpTo covers the work, klp, every func_stack and change counter,
// and the task objects up to tk's.
func (k *Kernel) fpWorkUpTo(tk *Task, a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP, Hi: tk.obj + 3, Access: a}
}

// fpList is the task list: which tasks are linked (for_each_process_thread
// sees them), and whether klp_try_complete_transition's walk holds
// tasklist_lock for reading. Every step that links or unlinks a task writes
// it and waits until the walk has dropped the lock (write_lock_irq in
// copy_process and release_task); the walk reads the links only while it
// holds the lock, so no step that changes them can run in between.
func (k *Kernel) fpList(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objList, Hi: k.objList + 1, Access: a}
}

// listWrite is a step that links or unlinks a task under
// write_lock_irq(&tasklist_lock): it waits while the worker's walk holds
// the lock for reading, and writes the task list and fp.
func (k *Kernel) listWrite(t *explore.Thread, label string, fp explore.Footprint) {
	t.AwaitMulti(label, k.listFree, fp, k.fpList(explore.Write))
}

// fpModules is the list of loaded modules (Local when no program calls a
// module function).
func (k *Kernel) fpModules(a explore.Access) explore.Footprint {
	if !k.callsModules {
		return explore.Local
	}
	return explore.Footprint{Lo: k.objModules, Hi: k.objModules + 1, Access: a}
}

// fpAll covers every object.
func (k *Kernel) fpAll(a explore.Access) explore.Footprint {
	return explore.Footprint{Lo: k.objKLP, Hi: k.objEnd, Access: a}
}

// lookup finds the symbols of an object with a name.
func (k *Kernel) lookup(object, name string) []*Symbol { return k.symsBy[object+"\x00"+name] }

func (k *Kernel) module(name string) *Module {
	for _, m := range k.modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func (k *Kernel) patchNamed(name string) *Patch {
	for _, p := range k.Patches {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Program validates cfg and returns the program that builds the world and
// runs the script. newMonitor (nil: NoMonitor) makes each execution's
// monitor. observe, if not nil, is called with every execution's Kernel
// once it is built (tests read the event log through it).
func Program(cfg *Config, newMonitor func() Monitor, observe func(*Kernel)) (explore.Program, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	script, _ := parseScript(cfg)
	children := map[string]bool{}
	for _, tc := range cfg.Tasks {
		if tc.Child {
			children[tc.Name] = true
		}
	}
	// resolve binds each call to vmlinux or to the one module that has
	// the function (a module's work may call only vmlinux and its own).
	resolve := func(field string, prog []instr, own *ModuleConfig) error {
		for j := range prog {
			in := &prog[j]
			if in.op != opCall {
				continue
			}
			if slices.Contains(cfg.Functions, in.arg) {
				in.object = "vmlinux"
				continue
			}
			for _, m := range cfg.Modules {
				if slices.Contains(m.Functions, in.arg) && (own == nil || own.Name == m.Name) {
					if in.object != "" {
						return fmt.Errorf("%s: call %s: modules %s and %s both have it", field, in.arg, in.object, m.Name)
					}
					in.object = m.Name
				}
			}
			if in.object == "" {
				if own != nil {
					return fmt.Errorf("%s: call %s: no such function of vmlinux (params.functions) or of module %s", field, in.arg, own.Name)
				}
				return fmt.Errorf("%s: call %s: no such function of vmlinux (params.functions) or of a module (params.modules[].functions)", field, in.arg)
			}
		}
		return nil
	}
	progs := make([][]instr, len(cfg.Tasks))
	for i, tc := range cfg.Tasks {
		progs[i], _ = parseProgram(tc.Program, children)
		if err := resolve(fmt.Sprintf("params.tasks[%d].program", i), progs[i], nil); err != nil {
			return nil, err
		}
	}
	var works []kworkerSpec
	for i := range cfg.Modules {
		m := &cfg.Modules[i]
		if len(m.Work) == 0 {
			continue
		}
		prog, _ := parseProgramOpts(m.Work, nil, m)
		if err := resolve(fmt.Sprintf("params.modules[%d].work", i), prog, m); err != nil {
			return nil, err
		}
		works = append(works, kworkerSpec{mod: m, prog: prog})
	}
	if newMonitor == nil {
		newMonitor = func() Monitor { return NoMonitor{} }
	}
	return func(s *explore.System) {
		mon := newMonitor()
		k := newKernel(cfg, s, mon, progs, works)
		if observe != nil {
			observe(k)
		}
		s.Go("admin", func(t *explore.Thread) { k.runScript(t, script) })
		s.Daemon("klp_transition_work", k.transitionWork)
		for _, tk := range k.Tasks {
			if tk.Idle && tk.cpuState == "idle" {
				s.Daemon(tk.Name, tk.idleLoop)
			} else if tk.work != nil {
				s.Daemon(tk.Name, tk.kworker)
			} else if !tk.Idle && !tk.cfg.Child {
				s.Go(tk.Name, tk.run)
			}
		}
		s.OnQuiescent(func(blocked []*explore.Thread) *explore.Failure { return mon.Quiescent(k, blocked) })
		s.AtEnd("livepatch-end", func() error {
			err := mon.End(k)
			if v, ok := err.(*Violation); ok {
				// Reported under the property the monitor named.
				return &explore.Failure{Property: v.Property, Message: v.Message, Thread: -1}
			}
			return err
		})
	}, nil
}

// kworkerSpec is a module's work item and its program.
type kworkerSpec struct {
	mod  *ModuleConfig
	prog []instr
}

func newKernel(cfg *Config, s *explore.System, mon Monitor, progs [][]instr, works []kworkerSpec) *Kernel {
	k := &Kernel{cfg: cfg, sys: s, mon: mon, target: Undef, symsBy: map[string][]*Symbol{}}
	addSym := func(object, name string) {
		key := object + "\x00" + name
		sym := &Symbol{Name: name, Object: object, Pos: len(k.symsBy[key]) + 1, index: len(k.syms)}
		sym.buildLabels()
		k.syms = append(k.syms, sym)
		k.symsBy[key] = append(k.symsBy[key], sym)
	}
	for _, f := range cfg.Functions {
		addSym("vmlinux", f)
	}
	for _, m := range cfg.Modules {
		for _, f := range m.Functions {
			addSym(m.Name, f)
		}
	}
	for _, p := range progs {
		for _, in := range p {
			if in.op == opTrampoline && k.trampoline == nil {
				addSym("bpf", "bpf_trampoline")
				k.trampoline = k.syms[len(k.syms)-1]
			}
		}
	}
	k.ops = make([]ops, len(k.syms))
	k.patchableSym = make([]bool, len(k.syms))
	k.ipmodify = make([]string, len(k.syms))
	for _, sym := range k.syms {
		k.patchableSym[sym.index] = k.namedByPatch(sym)
	}
	cpus := cfg.CPUs
	if len(cpus) == 0 {
		cpus = []string{"busy"}
	}
	nTasks := len(cpus) + len(cfg.Tasks) + len(works)
	k.objKLP = s.Object("klp_transition_work")
	s.Object("klp")
	k.objOps = s.Objects("func_stack", max(1, len(k.syms)))
	k.objEpoch = s.Objects("epoch", nTasks)
	k.objSched = s.Object("state[0]")
	s.Object("patch_state[0]")
	s.Object("flags[0]")
	for i := 1; i < nTasks; i++ {
		s.Object(fmt.Sprintf("state[%d]", i))
		s.Object(fmt.Sprintf("patch_state[%d]", i))
		s.Object(fmt.Sprintf("flags[%d]", i))
	}
	objStacks := s.Object("stack[0]")
	s.Object("handler[0]")
	for i := 1; i < nTasks; i++ {
		s.Object(fmt.Sprintf("stack[%d]", i))
		s.Object(fmt.Sprintf("handler[%d]", i))
	}
	k.objEnd = objStacks + explore.Obj(2*nTasks)
	k.mutex = explore.NewMutex(s, "klp_mutex")
	k.tasklist = explore.NewMutex(s, "tasklist_lock")
	k.objList = s.Object("task list")
	k.listFree = func() bool { return !k.listHeld }
	k.atomicWalk = !cfg.disabled(AtomicTaskWalk)
	for i, st := range cpus {
		tk := &Task{k: k, Name: fmt.Sprintf("swapper/%d", i), Pid: 0, Idle: true, Kthread: true, cpu: i, cpuState: st,
			PatchState: Undef, obj: k.objSched + explore.Obj(3*i), objEpoch: k.objEpoch + explore.Obj(i), objStack: objStacks + explore.Obj(2*i), linked: true}
		if st == "idle" {
			tk.State = Running
		} else {
			tk.State = SleepingInterruptible
		}
		k.Tasks = append(k.Tasks, tk)
	}
	for i := range cfg.Tasks {
		tc := &cfg.Tasks[i]
		tk := &Task{k: k, Name: tc.Name, Pid: 100 + i, Kthread: tc.Kind == "kthread", cfg: tc, prog: progs[i],
			PatchState: Undef, obj: k.objSched + explore.Obj(3*(len(cpus)+i)), objEpoch: k.objEpoch + explore.Obj(len(cpus)+i), objStack: objStacks + explore.Obj(2*(len(cpus)+i)),
			linked: !tc.Child, State: Running}
		if tc.Child {
			tk.State = NotStarted
		}
		k.Tasks = append(k.Tasks, tk)
	}
	for j, w := range works {
		// A kworker of the module's own: on the task list from the
		// start, idle (TASK_IDLE) in worker_thread with no frame.
		i := len(cpus) + len(cfg.Tasks) + j
		tk := &Task{k: k, Name: "kworker/" + w.mod.Name, Pid: 100 + len(cfg.Tasks) + j, Kthread: true, prog: w.prog,
			work: w.mod, PatchState: Undef, obj: k.objSched + explore.Obj(3*i), objEpoch: k.objEpoch + explore.Obj(i), objStack: objStacks + explore.Obj(2*i),
			linked: true, State: SleepingUninterruptible}
		k.Tasks = append(k.Tasks, tk)
	}
	for _, p := range progs {
		for _, in := range p {
			k.callsModules = k.callsModules || in.op == opCall && in.object != "vmlinux"
		}
	}
	for _, w := range works {
		for _, in := range w.prog {
			k.callsModules = k.callsModules || in.op == opCall && in.object != "vmlinux"
		}
	}
	// A kworker reads whether its module is still loaded (its work
	// outliving the module is a module-text failure).
	k.callsModules = k.callsModules || len(works) > 0
	if k.callsModules {
		k.objModules = s.Object("modules")
	}
	for _, tk := range k.Tasks {
		tk.lCheck = "klp_try_switch_task(" + tk.Name + ")"
		tk.lSwitch = "klp_check_and_switch_task(" + tk.Name + "): switch"
	}
	return k
}

func (k *Kernel) taskNamed(name string) *Task {
	for _, tk := range k.Tasks {
		if tk.Name == name {
			return tk
		}
	}
	return nil
}

// epoch sums the tasks' change counters: the delayed work retries only
// when some task changed since its last attempt (see transitionWork).
func (k *Kernel) epoch() uint64 {
	var e uint64
	for _, tk := range k.Tasks {
		e += tk.epoch
	}
	return e
}

// BlockingReasons explains, for every task that has not reached the
// target state, why klp_try_switch_task cannot switch it now, in the
// kernel's debug wording ("is running", "is sleeping on function f"; on
// an arch without reliable stack traces, where the kernel prints nothing,
// a sentence that says so).
func (k *Kernel) BlockingReasons() []string {
	var out []string
	if k.transition == nil {
		return nil
	}
	for _, tk := range k.Tasks {
		if !tk.linked && !k.onExitList(tk) || tk.PatchState == k.target {
			continue
		}
		if tk.Idle && tk.cpuState == "offline" {
			continue
		}
		reason := k.switchBlocker(tk, false)
		if reason == "" {
			reason = "could switch now"
		}
		out = append(out, fmt.Sprintf("%s:%d %s", tk.Name, tk.Pid, reason))
	}
	return out
}

// NoMonitor judges nothing: every execution is acceptable except that an
// execution that ends with a transition in progress is reported stuck.
type NoMonitor struct{}

func (NoMonitor) Entered(*Kernel, *Task, Frame) error                                 { return nil }
func (NoMonitor) HandlerRead(*Kernel, *Task, *Func, PatchState) error                 { return nil }
func (NoMonitor) FuncStateChanged(*Kernel, *Func, FuncState, FuncState, string) error { return nil }
func (NoMonitor) Callback(*Kernel, *Object, CallbackKind, int, CallbackPath) error    { return nil }
func (NoMonitor) StateAccess(*Kernel, *Object, StateAccess) error                     { return nil }
func (NoMonitor) ShadowAccess(*Kernel, *Object, ShadowAccess) error                   { return nil }
func (NoMonitor) Completing(*Kernel, *Task) error                                     { return nil }
func (NoMonitor) ModuleRemoved(*Kernel, *Module) error                                { return nil }
func (NoMonitor) End(*Kernel) error                                                   { return nil }
func (NoMonitor) Quiescent(k *Kernel, blocked []*explore.Thread) *explore.Failure {
	if k.transition != nil {
		return &explore.Failure{Property: "transition-completes", Stuck: true, Thread: -1,
			Message: fmt.Sprintf("'%s': transition never completes: %s", k.transition.Name, strings.Join(k.BlockingReasons(), "; "))}
	}
	return nil
}

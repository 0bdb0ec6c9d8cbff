package klp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// Config describes a livepatch world and what happens in it: the kernel's
// functions, target modules, livepatch modules, tasks, CPUs, the admin
// script and the algorithm variant. It is the "params" of a livepatch
// scenario (catalog decodes it strictly); Validate names offending fields
// as params.<field>.
type Config struct {
	// Functions are vmlinux's functions (kallsyms). The same name may
	// appear more than once: old_sympos then selects among them (1-based,
	// in this order).
	Functions []string `json:"functions,omitempty"`
	// Modules are target (non-livepatch) modules that scripts load and
	// unload.
	Modules []ModuleConfig `json:"modules,omitempty"`
	// Patches are the livepatch modules.
	Patches []PatchConfig `json:"patches,omitempty"`
	// Tasks are the scenario's tasks (threads of the model).
	Tasks []TaskConfig `json:"tasks,omitempty"`
	// CPUs says what each CPU's idle task does: "busy" (the CPU runs other
	// work, its idle task sleeps in schedule_idle() and can be switched by
	// a stack check), "idle" (the idle task is running: it can only switch
	// itself at the end of a do_idle() iteration) or "offline". Default:
	// one busy CPU.
	CPUs []string `json:"cpus,omitempty"`
	// Script is the admin script, one command per line (see script.go).
	Script []string `json:"script"`
	// UnreliableStacks models an arch without HAVE_RELIABLE_STACKTRACE:
	// klp_try_switch_task never switches another task by stack check.
	UnreliableStacks bool `json:"unreliable_stacks,omitempty"`
	// Disable lists named steps of the current algorithm to leave out, to
	// model older kernels or mutants (see Steps).
	Disable []Step `json:"disable,omitempty"`
	// Reorder lists named store pairs to swap, modelling the omission of
	// the barrier between them (see Reorders).
	Reorder []Barrier `json:"reorder,omitempty"`
	// Proposed lists mechanisms that are not in mainline (posted fixes,
	// proofs of concept) to add to the algorithm (see Proposals).
	Proposed []Proposal `json:"proposed,omitempty"`
}

// ModuleConfig is a target module.
type ModuleConfig struct {
	Name string `json:"name"`
	// Functions are the module's functions (found by kallsyms only while
	// the module is loaded).
	Functions []string `json:"functions,omitempty"`
	// Init and Exit are the lines the module prints from module_init and
	// module_exit (without the "<name>: " prefix, which is added).
	Init []string `json:"init,omitempty"`
	Exit []string `json:"exit,omitempty"`
	// Params are the module's parameters (module_param); insmod may set
	// only these.
	Params []string `json:"params,omitempty"`
	// Kprobe is a kprobe the module registers at init (see ftrace.go).
	Kprobe *KprobeConfig `json:"kprobe,omitempty"`
	// Work is the program of the module's work item, run by a kworker
	// of its own (a kthread on the task list from the start, idle until
	// the work is queued): task instructions, whose calls may name the
	// module's functions, plus `log TEXT` (pr_info), `complete` (the
	// completion InitSteps may wait for) and `sleep-while PARAM` (while
	// the module parameter is true, msleep in the current function).
	Work []string `json:"work,omitempty"`
	// InitSteps and ExitSteps, when given, are module_init and
	// module_exit as steps instead of the Init and Exit lines: `log
	// TEXT`, `schedule_work`, `wait_for_completion`, `flush_work`, `set
	// PARAM VALUE` (WRITE_ONCE of a module parameter), each optionally
	// guarded by `if PARAM:` or `if !PARAM:`.
	InitSteps []string `json:"init_steps,omitempty"`
	ExitSteps []string `json:"exit_steps,omitempty"`
	// Body names a test module whose init is modelled in Go on the
	// model's kernel API (see BuiltinModules), run after Init.
	Body string `json:"body,omitempty"`
}

// BuiltinModules are the module bodies ModuleConfig.Body may name.
var BuiltinModules = []struct {
	Name, Meaning string
	init          func(k *Kernel, t *explore.Thread, m *Module) int
}{
	{"test_klp_shadow_vars", "test_modules/test_klp_shadow_vars.c: exercises klp_shadow_get/alloc/get_or_alloc/free/free_all on three objects, printing pointers as PTR<n>", (*Kernel).shadowVarsInit},
}

// PatchConfig is a livepatch module: struct klp_patch and its module.
type PatchConfig struct {
	// Name is the livepatch module's name (patch->mod->name).
	Name    string         `json:"name"`
	Objects []ObjectConfig `json:"objects"`
	// Replace is klp_patch.replace (cumulative, atomic replace); the
	// module parameter replace=0|1 at insmod overrides it.
	Replace bool `json:"replace,omitempty"`
	// Immediate is the removed (≤v4.15) klp_patch.immediate: patch
	// without the per-task consistency model.
	Immediate bool `json:"immediate,omitempty"`
	// States are klp_state entries (id, version) for the system-state API.
	States []StateConfig `json:"states,omitempty"`
	// PrePatchRet is the module parameter pre_patch_ret returned by every
	// pre_patch callback of the patch (test_klp_callbacks_demo).
	PrePatchRet int `json:"pre_patch_ret,omitempty"`
	// NonReplaceable is the "replaceable = 0" attribute of Yafang Shao's
	// 2026 RFC "livepatch: Implement livepatch hybrid mode" (needs
	// proposed "hybrid-mode"): an atomic-replace patch adds no nops for
	// this patch's functions and neither unpatches nor frees it.
	NonReplaceable bool `json:"non_replaceable,omitempty"`
	// PidsParam names a module parameter, a comma-separated array of
	// task names, whose tasks a new function with removes_caller takes
	// off the list when they call it; /sys/kernel/<name>/npids reads how
	// many remain (test_klp_syscall's klp_pids).
	PidsParam string `json:"pids_param,omitempty"`
}

// ObjectConfig is struct klp_object.
type ObjectConfig struct {
	// Name is "vmlinux" or a module name.
	Name  string       `json:"name"`
	Funcs []FuncConfig `json:"funcs,omitempty"`
	// Callbacks gives the object all four callbacks, printing as the
	// kernel's test_klp_callbacks_demo does.
	Callbacks bool `json:"callbacks,omitempty"`
	// PrePatchRet, if not zero, is what this object's pre_patch returns
	// (instead of the module's pre_patch_ret).
	PrePatchRet int `json:"pre_patch_ret,omitempty"`
	// Bodies are what the callbacks do after printing, written against
	// the system-state API (see state.go); they need Callbacks.
	Bodies *CallbackBodies `json:"callback_bodies,omitempty"`
}

// FuncConfig is struct klp_func.
type FuncConfig struct {
	OldName   string `json:"old_name"`
	NewFunc   string `json:"new_func,omitempty"`
	OldSympos int    `json:"old_sympos,omitempty"`
	// Output is what the new function prints into the kernel log when the
	// script reads it with `cat` (e.g. "this has been live patched").
	Output string `json:"output,omitempty"`
	// RemovesCaller: the new function takes the calling task off the
	// patch's pids_param list (test_klp_syscall's lp_sys_getpid).
	RemovesCaller bool `json:"removes_caller,omitempty"`
}

// StateConfig is struct klp_state.
type StateConfig struct {
	ID      int `json:"id"`
	Version int `json:"version"`
}

// TaskConfig is a task: a thread running a small program.
type TaskConfig struct {
	Name string `json:"name"`
	// Kind is "user" (a user process's thread) or "kthread".
	Kind string `json:"kind"`
	// Program is the task's program, one instruction per entry:
	//   call F        call function F (through the ftrace handler if patched)
	//   ret           return from the current function
	//   sleep         sleep interruptibly in the current function; wakes later
	//   sleep-d       the same, TASK_UNINTERRUPTIBLE
	//   sleep-freezable  the same, TASK_INTERRUPTIBLE|TASK_FREEZABLE (a kthread's
	//                 freezable wait; with the proposed untangled hook,
	//                 __schedule tries to switch the task as it goes to sleep)
	//   block         sleep interruptibly until a (fake) signal wakes it
	//   block-d       sleep uninterruptibly, never woken
	//   user          return to user space (exit_to_user_mode: klp_update_patch_state)
	//   cond_resched  cond_resched() (the v6.4+ livepatch hook)
	//   loop N … end  repeat the body N times (a CPU-bound loop)
	//   spin          keep running on the CPU forever (CPU-bound)
	//   fork C        fork task C (declared with child: true)
	//   fork-sleep C  fork C, sleeping uninterruptibly inside copy_process
	//                 between dup_task_struct and klp_copy_process
	//   release_task  exit_notify of a self-reaping task: release_task unhashes
	//                 it from the task list while it keeps running do_exit
	//   bpf-trampoline enter a BPF fentry/fexit trampoline (the call that
	//                 follows is the traced function); its frame has no ORC
	//                 unwind data, so the stack walk fails ("has an unreliable
	//                 stack") until `ret` leaves it
	//   repeat        (last) start the program again, until the script kills
	//                 the task (a user process looping forever); an iteration
	//                 that would start from the livepatch state the previous
	//                 one started from is not run again (it would do the same)
	Program []string `json:"program"`
	// Child tasks start only when forked.
	Child bool `json:"child,omitempty"`
}

// Step names a step of the current algorithm that Config.Disable may
// remove; Proposal a mechanism Config.Proposed may add; Barrier a barrier
// Config.Reorder may omit. The model asks for them by these constants
// (a misspelt one does not compile); a scenario names them as strings,
// which Validate checks against Steps, Proposals and Reorders.
type (
	Step     string
	Proposal string
	Barrier  string
)

// Named is an entry of the Steps, Proposals and Reorders tables.
type Named[N ~string] struct {
	Name    N
	Meaning string
}

// Step names.
const (
	CondReschedHook       Step = "cond-resched-hook"
	WakeUpIfIdle          Step = "wake-up-if-idle"
	CopyProcessTIF        Step = "klp-copy-process-tif"
	SyncCompleteUnpatched Step = "sync-complete-unpatched"
	SyncCompletePatched   Step = "sync-complete-patched"
	SyncReverse           Step = "sync-reverse"
	Signals               Step = "signals"
	AtomicTaskWalk        Step = "atomic-task-walk"
	AtomicSelfSwitch      Step = "atomic-self-switch"
)

// Steps are the named steps of the current algorithm that Config.Disable
// may remove, with what removing them models.
var Steps = []Named[Step]{
	{CondReschedHook, "no __klp_sched_try_switch in cond_resched (kernels before v6.4, e3ff7c609f39)"},
	{WakeUpIfIdle, "klp_try_complete_transition does not kick idle CPUs (kernels before v5.16)"},
	{CopyProcessTIF, "fork copies TIF_PATCH_PENDING early (dup_task_struct) and klp_copy_process does not recompute it (before v6.1, 747f7a290117)"},
	{SyncCompleteUnpatched, "klp_complete_transition skips klp_synchronize_transition after unpatching"},
	{SyncCompletePatched, "klp_complete_transition skips klp_synchronize_transition before resetting patch_state"},
	{SyncReverse, "klp_reverse_transition skips klp_synchronize_transition"},
	{Signals, "klp_try_complete_transition never calls klp_send_signals"},
	{AtomicTaskWalk, "task-list walks become one step per task under a modelled tasklist_lock (finer, slower to explore)"},
	{AtomicSelfSwitch, "__klp_sched_try_switch becomes separate steps: the TIF recheck, the already-in-target check, one klp_check_stack read of klp_target_state per patched function, and the switch (finer, slower to explore)"},
}

// Proposal names.
const (
	RCUTaskWalk            Proposal = "rcu-task-walk"
	ReleasingTasksCount    Proposal = "releasing-tasks-count"
	ExitingTasksList       Proposal = "exiting-tasks-list"
	BPFTrampolineORC       Proposal = "bpf-trampoline-orc"
	UntangleCondResched    Proposal = "untangle-cond-resched"
	HybridMode             Proposal = "hybrid-mode"
	ReleasingTasksCountAll Proposal = "releasing-tasks-count-all"
)

// Proposals are the mechanisms Config.Proposed may add: fixes that were
// posted or sketched upstream but are not in mainline.
var Proposals = []Named[Proposal]{
	{RCUTaskWalk, "the rejected 2025 design of \"livepatch: Replace tasklist_lock with RCU\" (Yafang Shao): klp_copy_process leaves the child UNDEF without TIF_PATCH_PENDING, and klp_ftrace_handler maps an UNDEF patch_state to klp_target_state"},
	{ReleasingTasksCount, "Petr Mladek's POC \"Block transition until delayed_put_task_struct()\" for the 2025 do_exit crash: release_task counts the task under klp_mutex while a transition is in progress (klp_track_releasing_tasks); once the task-list walk succeeds the last delayed_put_task_struct completes the transition"},
	{ExitingTasksList, "Josh Poimboeuf's suggestion for the 2025 do_exit crash, tracking exiting tasks as Tasks RCU does (exit_tasks_rcu_start/finish): a task unhashed by release_task stays on an exit list until do_task_dead, and every livepatch task walk (init, start, the stack checks, complete, signals, force) also visits the tasks on it"},
	{BPFTrampolineORC, "unwind data for BPF trampolines, the fix discussed for the 2025 report \"BPF fentry/fexit trampolines stall livepatch transition due to missing ORC unwind metadata\": a trampoline frame no longer makes the stack unreliable"},
	{UntangleCondResched, "\"sched,livepatch: Untangle cond_resched() and live-patching\" (Peter Zijlstra / Sebastian Andrzej Siewior, 2025, queued in tip; mainline version UNCONFIRMED): cond_resched no longer calls __klp_sched_try_switch; __schedule calls it for a task going to sleep with TASK_FREEZABLE"},
	{HybridMode, "Yafang Shao's RFC \"livepatch: Implement livepatch hybrid mode\" (2026-04, [LKML] lkml.iu.edu/2604.0/03092): patches with replaceable = 0 (non_replaceable) survive an atomic replace: klp_add_nops skips them, klp_free_replaced_patches_async (and, the model assumes, klp_unpatch_replaced_patches) leaves them installed"},
	{ReleasingTasksCountAll, "hypothetical variant of that POC: release_task counts every task, also outside a transition, so a task unhashed before the transition began still holds its completion until delayed_put_task_struct"},
}

// Barrier names.
const (
	WMB1             Barrier = "wmb1"
	WMB2             Barrier = "wmb2"
	ReverseFlipFirst Barrier = "reverse-flip-first"
)

// Reorders are the barrier mutants Config.Reorder may apply: the stores a
// barrier orders are swapped (under sequential consistency this is what
// omitting the barrier allows).
var Reorders = []Named[Barrier]{
	{WMB1, "__klp_enable_patch: the func_stack pushes become visible before func->transition=true (no wmb#1)"},
	{WMB2, "klp_init_transition: func->transition=true before the patch_state initialisation (no wmb#2)"},
	{ReverseFlipFirst, "klp_reverse_transition flips patch->enabled and klp_target_state before clearing TIF_PATCH_PENDING and synchronizing (the order before v6.4, kept by v1 of the cond_resched hook, e3ff7c609f39)"},
}

// Validate checks the configuration, naming the offending field.
func (c *Config) Validate() error {
	seen := map[string]string{}
	addName := func(field, name string) error {
		if name == "" {
			return fmt.Errorf("params.%s: empty name", field)
		}
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("params.%s: name %q already used by params.%s", field, name, prev)
		}
		seen[name] = field
		return nil
	}
	for i, f := range c.Functions {
		if f == "" {
			return fmt.Errorf("params.functions[%d]: empty function name", i)
		}
	}
	for i, m := range c.Modules {
		if err := addName(fmt.Sprintf("modules[%d].name", i), m.Name); err != nil {
			return err
		}
		if m.Name == "vmlinux" {
			return fmt.Errorf("params.modules[%d].name: vmlinux is not a module", i)
		}
		for j, f := range m.Functions {
			if f == "" {
				return fmt.Errorf("params.modules[%d].functions[%d]: empty function name", i, j)
			}
		}
		for j, p := range m.Params {
			if p == "" || strings.ContainsAny(p, "= ") {
				return fmt.Errorf("params.modules[%d].params[%d]: %q is not a parameter name", i, j, p)
			}
		}
		if len(m.InitSteps) > 0 && len(m.Init) > 0 || len(m.ExitSteps) > 0 && len(m.Exit) > 0 {
			return fmt.Errorf("params.modules[%d]: give init or init_steps (exit or exit_steps), not both", i)
		}
		for _, st := range []struct {
			field string
			lines []string
		}{{"init_steps", m.InitSteps}, {"exit_steps", m.ExitSteps}} {
			for j, l := range st.lines {
				if _, err := parseModStep(l, &m); err != nil {
					return fmt.Errorf("params.modules[%d].%s[%d]: %q: %v", i, st.field, j, l, err)
				}
			}
		}
		if _, err := parseProgramOpts(m.Work, nil, &m); err != nil {
			return fmt.Errorf("params.modules[%d].work%s", i, err.Error())
		}
		if m.Body != "" {
			ok := false
			for _, b := range BuiltinModules {
				ok = ok || b.Name == m.Body
			}
			if !ok {
				return fmt.Errorf("params.modules[%d].body: unknown module body %q", i, m.Body)
			}
		}
		if kp := m.Kprobe; kp != nil {
			if !slices.Contains(c.Functions, kp.Function) {
				return fmt.Errorf("params.modules[%d].kprobe.function: %q is not a vmlinux function of params.functions", i, kp.Function)
			}
			if kp.PostHandlerParam != "" && !slices.Contains(m.Params, kp.PostHandlerParam) {
				return fmt.Errorf("params.modules[%d].kprobe.post_handler_param: %q is not in the module's params", i, kp.PostHandlerParam)
			}
		}
	}
	for i, p := range c.Patches {
		if err := addName(fmt.Sprintf("patches[%d].name", i), p.Name); err != nil {
			return err
		}
		if p.NonReplaceable && !c.proposed(HybridMode) {
			return fmt.Errorf("params.patches[%d].non_replaceable: the replaceable attribute exists only with proposed \"hybrid-mode\"", i)
		}
		if p.PidsParam == "replace" || p.PidsParam == "pre_patch_ret" || strings.ContainsAny(p.PidsParam, "= ") {
			return fmt.Errorf("params.patches[%d].pids_param: %q cannot be a parameter name", i, p.PidsParam)
		}
		if len(p.Objects) == 0 {
			return fmt.Errorf("params.patches[%d].objects: a patch needs at least one object", i)
		}
		for j, o := range p.Objects {
			if o.Name == "" {
				return fmt.Errorf("params.patches[%d].objects[%d].name: empty (use \"vmlinux\")", i, j)
			}
			if _, err := parseBodies(o.Bodies); err != nil {
				return fmt.Errorf("params.patches[%d].objects[%d].callback_bodies%v", i, j, err)
			}
			if o.Bodies != nil && !o.Callbacks {
				return fmt.Errorf("params.patches[%d].objects[%d].callback_bodies: the object has no callbacks (set callbacks: true)", i, j)
			}
			for k, f := range o.Funcs {
				if f.OldName == "" {
					return fmt.Errorf("params.patches[%d].objects[%d].funcs[%d].old_name: empty", i, j, k)
				}
				if f.RemovesCaller && p.PidsParam == "" {
					return fmt.Errorf("params.patches[%d].objects[%d].funcs[%d].removes_caller: the patch has no pids_param", i, j, k)
				}
				if f.OldSympos < 0 {
					return fmt.Errorf("params.patches[%d].objects[%d].funcs[%d].old_sympos: %d is negative", i, j, k, f.OldSympos)
				}
			}
		}
	}
	children := map[string]bool{}
	for i, t := range c.Tasks {
		if err := addName(fmt.Sprintf("tasks[%d].name", i), t.Name); err != nil {
			return err
		}
		if t.Kind != "user" && t.Kind != "kthread" {
			return fmt.Errorf("params.tasks[%d].kind: %q is not \"user\" or \"kthread\"", i, t.Kind)
		}
		if t.Child {
			children[t.Name] = true
		}
	}
	for i, t := range c.Tasks {
		if _, err := parseProgram(t.Program, children); err != nil {
			return fmt.Errorf("params.tasks[%d].program%s", i, err.Error())
		}
	}
	kworkers := 0
	for _, m := range c.Modules {
		if len(m.Work) > 0 {
			kworkers++
		}
	}
	if len(c.Tasks)+len(c.CPUs)+kworkers > 40 {
		return fmt.Errorf("params.tasks: %d tasks, %d CPUs and %d module kworkers are more than the model's 40", len(c.Tasks), len(c.CPUs), kworkers)
	}
	for i, s := range c.CPUs {
		if s != "busy" && s != "idle" && s != "offline" {
			return fmt.Errorf("params.cpus[%d]: %q is not \"busy\", \"idle\" or \"offline\"", i, s)
		}
	}
	if _, err := parseScript(c); err != nil {
		return err
	}
	if err := checkNames("disable", c.Disable, Steps, "step"); err != nil {
		return err
	}
	if err := checkNames("proposed", c.Proposed, Proposals, "mechanism"); err != nil {
		return err
	}
	if err := checkNames("reorder", c.Reorder, Reorders, "barrier"); err != nil {
		return err
	}
	if c.proposed(ReleasingTasksCount) && c.proposed(ReleasingTasksCountAll) {
		return fmt.Errorf("params.proposed: releasing-tasks-count and releasing-tasks-count-all are two versions of one counter; give one")
	}
	return nil
}

func (c *Config) disabled(step Step) bool { return slices.Contains(c.Disable, step) }

func (c *Config) proposed(m Proposal) bool { return slices.Contains(c.Proposed, m) }

func (c *Config) reordered(b Barrier) bool { return slices.Contains(c.Reorder, b) }

// instruction kinds of task programs.
type opcode uint8

const (
	opCall opcode = iota
	opRet
	opSleep
	opBlock
	opUser
	opCondResched
	opLoop
	opEnd
	opSpin
	opFork
	opRelease
	opRepeat
	opTrampoline // a BPF fentry/fexit trampoline frame (no unwind data)
	opLog        // module work: pr_info
	opComplete   // module work: complete()
	opSleepWhile // module work: while (READ_ONCE(param)) msleep()
)

type instr struct {
	op            opcode
	arg           string
	n             int    // loop count; for opEnd the index of its loop
	uninterruptib bool   // sleep-d, block-d
	freezable     bool   // sleep-freezable
	object        string // opCall: "vmlinux" or the module the function belongs to
}

func parseProgram(lines []string, children map[string]bool) ([]instr, error) {
	return parseProgramOpts(lines, children, nil)
}

// parseProgramOpts parses a task program, or with mod the program of that
// module's work item, which may also log, complete and sleep-while.
func parseProgramOpts(lines []string, children map[string]bool, mod *ModuleConfig) ([]instr, error) {
	var out []instr
	var loops []int
	depth := 0 // call depth is checked dynamically; this is syntax only
	_ = depth
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			return nil, fmt.Errorf("[%d]: empty instruction", i)
		}
		bad := func(msg string) ([]instr, error) { return nil, fmt.Errorf("[%d]: %q: %s", i, l, msg) }
		want := func(n int) bool { return len(f) == n }
		switch f[0] {
		case "call":
			if !want(2) {
				return bad("want `call FUNC`")
			}
			out = append(out, instr{op: opCall, arg: f[1]})
		case "repeat":
			if !want(1) || i != len(lines)-1 || mod != nil {
				return bad("`repeat` takes no argument and ends a task's program")
			}
			out = append(out, instr{op: opRepeat})
		case "bpf-trampoline":
			if !want(1) {
				return bad("takes no argument")
			}
			out = append(out, instr{op: opTrampoline})
		case "ret", "user", "cond_resched", "spin", "sleep", "sleep-d", "sleep-freezable", "block", "block-d", "release_task":
			if !want(1) {
				return bad("takes no argument")
			}
			switch f[0] {
			case "ret":
				out = append(out, instr{op: opRet})
			case "user":
				out = append(out, instr{op: opUser})
			case "cond_resched":
				out = append(out, instr{op: opCondResched})
			case "spin":
				out = append(out, instr{op: opSpin})
			case "sleep":
				out = append(out, instr{op: opSleep})
			case "sleep-d":
				out = append(out, instr{op: opSleep, uninterruptib: true})
			case "sleep-freezable":
				out = append(out, instr{op: opSleep, freezable: true})
			case "block":
				out = append(out, instr{op: opBlock})
			case "block-d":
				out = append(out, instr{op: opBlock, uninterruptib: true})
			case "release_task":
				out = append(out, instr{op: opRelease})
			}
		case "log", "complete", "sleep-while":
			if mod == nil {
				return bad("only a module's work program may " + f[0])
			}
			switch {
			case f[0] == "log" && len(f) > 1:
				out = append(out, instr{op: opLog, arg: strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "log"))})
			case f[0] == "complete" && want(1):
				out = append(out, instr{op: opComplete})
			case f[0] == "sleep-while" && want(2) && slices.Contains(mod.Params, f[1]):
				out = append(out, instr{op: opSleepWhile, arg: f[1]})
			default:
				return bad("want `log TEXT`, `complete` or `sleep-while PARAM` (a parameter of the module)")
			}
		case "loop":
			if !want(2) {
				return bad("want `loop N`")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 1 || n > 16 {
				return bad("the loop count must be 1..16")
			}
			loops = append(loops, len(out))
			out = append(out, instr{op: opLoop, n: n})
		case "end":
			if !want(1) || len(loops) == 0 {
				return bad("`end` without `loop`")
			}
			out = append(out, instr{op: opEnd, n: loops[len(loops)-1]})
			loops = loops[:len(loops)-1]
		case "fork", "fork-sleep":
			if !want(2) {
				return bad("want `" + f[0] + " TASK`")
			}
			if mod != nil {
				return bad("a module's work forks nothing")
			}
			if !children[f[1]] {
				return bad(fmt.Sprintf("%q is not a task declared with child: true", f[1]))
			}
			out = append(out, instr{op: opFork, arg: f[1], uninterruptib: f[0] == "fork-sleep"})
		default:
			return bad("unknown instruction (want call, ret, sleep, sleep-d, sleep-freezable, block, block-d, user, cond_resched, loop, end, spin, fork, fork-sleep, release_task; a module's work also log, complete, sleep-while)")
		}
	}
	if len(loops) > 0 {
		return nil, fmt.Errorf(": `loop` without `end`")
	}
	return out, nil
}

// checkNames rejects a name that is not in known, naming the field.
func checkNames[N ~string](field string, names []N, known []Named[N], what string) error {
	for i, d := range names {
		if !slices.ContainsFunc(known, func(k Named[N]) bool { return k.Name == d }) {
			return fmt.Errorf("params.%s[%d]: unknown %s %q", field, i, what, d)
		}
	}
	return nil
}

// modStep is a step of module_init / module_exit (ModuleConfig.InitSteps).
type modStep struct {
	param  string // guard: "" or a parameter
	negate bool
	verb   string // log, schedule_work, wait_for_completion, flush_work, set
	arg    string
	value  string
}

func parseModStep(l string, m *ModuleConfig) (modStep, error) {
	var s modStep
	rest := strings.TrimSpace(l)
	if g, ok := strings.CutPrefix(rest, "if "); ok {
		cond, action, found := strings.Cut(g, ":")
		cond = strings.TrimSpace(cond)
		if !found || cond == "" {
			return s, fmt.Errorf("want `if [!]PARAM: STEP`")
		}
		if c, ok := strings.CutPrefix(cond, "!"); ok {
			s.negate, cond = true, c
		}
		if !slices.Contains(m.Params, cond) {
			return s, fmt.Errorf("%q is not a parameter of the module", cond)
		}
		s.param, rest = cond, strings.TrimSpace(action)
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, fmt.Errorf("empty step")
	}
	s.verb = f[0]
	switch {
	case f[0] == "log" && len(f) > 1:
		s.arg = strings.TrimSpace(strings.TrimPrefix(rest, "log"))
	case (f[0] == "schedule_work" || f[0] == "wait_for_completion" || f[0] == "flush_work") && len(f) == 1:
		if len(m.Work) == 0 {
			return s, fmt.Errorf("%s: the module has no work", f[0])
		}
	case f[0] == "set" && len(f) == 3 && slices.Contains(m.Params, f[1]):
		s.arg, s.value = f[1], f[2]
	default:
		return s, fmt.Errorf("want log TEXT, schedule_work, wait_for_completion, flush_work or set PARAM VALUE")
	}
	return s, nil
}

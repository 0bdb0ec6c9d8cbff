package klp

import (
	"fmt"
	"iter"
)

// PatchState is task->patch_state: KLP_TRANSITION_IDLE (-1, called
// KLP_UNDEFINED before v6.10), KLP_TRANSITION_UNPATCHED (0) or
// KLP_TRANSITION_PATCHED (1), as /proc/<pid>/patch_state prints it.
type PatchState int8

const (
	Undef     PatchState = -1
	Unpatched PatchState = 0
	Patched   PatchState = 1
)

func (s PatchState) String() string {
	switch s {
	case Undef:
		return "UNDEF"
	case Unpatched:
		return "UNPATCHED"
	case Patched:
		return "PATCHED"
	}
	return fmt.Sprintf("PatchState(%d)", int(s))
}

func (s PatchState) word() string {
	if s == Patched {
		return "patching"
	}
	return "unpatching"
}

// Symbol is a kallsyms entry: a function of vmlinux or of a module. Pos is
// its 1-based position among the object's symbols of the same name (what
// old_sympos selects).
type Symbol struct {
	Name   string
	Object string // "vmlinux" or the module's name
	Pos    int
	index  int // index into Kernel.syms and the ops objects

	// Step labels, built once per execution so that steps do not allocate.
	lCall, lHandler, lEnter, lRet, lSleep, lWake, lWoken string
}

func (s *Symbol) buildLabels() {
	s.lCall = "call " + s.Name
	s.lHandler = "call " + s.Name + ": klp_ftrace_handler: preempt_disable_notrace"
	s.lEnter = "enter " + s.Name + " (preempt_enable_notrace)"
	s.lRet = "return from " + s.Name
	s.lSleep = "sleep in " + s.Name
	s.lWake = "wake up in " + s.Name
	s.lWoken = "woken in " + s.Name
}

func (s *Symbol) String() string { return s.Name }

// Func mirrors struct klp_func.
type Func struct {
	OldName   string
	NewFunc   string
	OldSympos int
	Output    string
	// RemovesCaller: entering the new function takes the caller off the
	// patch's pending pids (FuncConfig.RemovesCaller).
	RemovesCaller bool

	// Internal, as in the kernel.
	old        *Symbol // old_func: resolved while the object is loaded
	Patched    bool    // on its ops' func_stack
	Transition bool    // the handler must consult the task's patch_state
	Nop        bool    // dynamic nop of an atomic-replace patch
	obj        *Object
}

// Patch returns the patch the func belongs to.
func (f *Func) Patch() *Patch { return f.obj.patch }

// Old returns the resolved old function, nil while the object is not
// loaded.
func (f *Func) Old() *Symbol { return f.old }

// String is "patch.old_name" for messages.
func (f *Func) String() string {
	if f.Nop {
		return fmt.Sprintf("%s.nop(%s)", f.obj.patch.Name, f.OldName)
	}
	return fmt.Sprintf("%s.%s", f.obj.patch.Name, f.newName())
}

func (f *Func) newName() string {
	if f.NewFunc != "" {
		return f.NewFunc
	}
	return "livepatch_" + f.OldName
}

// Callbacks mirrors struct klp_callbacks: the demo callbacks print, and
// pre_patch returns the module's pre_patch_ret.
type Callbacks struct {
	Present            bool
	PrePatchRet        int // per-object override of the module's pre_patch_ret
	PostUnpatchEnabled bool
}

// Object mirrors struct klp_object.
type Object struct {
	Name      string // "vmlinux" or a module name
	Funcs     []*Func
	Callbacks Callbacks
	Dynamic   bool // allocated by klp_add_nops
	Patched   bool
	bodies    bodies  // callback bodies (state.go)
	mod       *Module // set while the target module is loaded
	patch     *Patch
}

// Patch returns the object's patch.
func (o *Object) Patch() *Patch { return o.patch }

// Loaded is klp_is_object_loaded.
func (o *Object) Loaded() bool { return o.Name == "vmlinux" || o.mod != nil }

func (o *Object) isModule() bool { return o.Name != "vmlinux" }

// State mirrors struct klp_state; data is the buffer its data pointer
// points at (0: NULL), see state.go.
type State struct {
	ID, Version int
	data        int
}

// stackChecked yields the funcs klp_check_stack looks at: those of the
// patch's patched objects whose old function is resolved.
func (p *Patch) stackChecked() iter.Seq[*Func] {
	return func(yield func(*Func) bool) {
		for _, o := range p.Objs {
			if !o.Patched {
				continue
			}
			for _, f := range o.Funcs {
				if f.old != nil && !yield(f) {
					return
				}
			}
		}
	}
}

// Patch mirrors struct klp_patch (one per livepatch module).
type Patch struct {
	Name      string // patch->mod->name
	Objs      []*Object
	Replace   bool
	Immediate bool
	States    []State
	Enabled   bool
	Forced    bool
	// Seq orders patches by the time they were loaded (for "older" and
	// "newer" in properties).
	Seq         int
	prePatchRet int
	// nonReplaceable: survives atomic replace (proposed hybrid mode).
	nonReplaceable bool
	// pendingPids are the tasks named by the pids_param still to call a
	// removes_caller function (npids_pending).
	pendingPids []string
	mod         *Module
	onList      bool // on klp_patches
}

// Module is a loaded (or loading/going) kernel module.
type Module struct {
	Name      string
	Livepatch bool
	State     string // "COMING", "LIVE", "GOING"
	Params    map[string]string
	KlpAlive  bool
	refs      int // module references (the livepatch core pins its patch modules)
	cfg       *ModuleConfig
	pcfg      *PatchConfig
	patch     *Patch
}

// Patch is the livepatch module's patch (nil for a target module).
func (m *Module) Patch() *Patch { return m.patch }

func (m *Module) stateString() string {
	switch m.State {
	case "COMING":
		return "[MODULE_STATE_COMING] Full formed, running module_init"
	case "GOING":
		return "[MODULE_STATE_GOING] Going away"
	}
	return "[MODULE_STATE_LIVE] Normal state"
}

// ops mirrors struct klp_ops: one per patched function address, with the
// func_stack newest first.
type ops struct {
	stack []*Func
}

// Frame is what a frame of a task's stack executes: the original function
// (Func nil, or a nop) or a patch's new function.
type Frame struct {
	Sym *Symbol
	// Func is the klp_func the ftrace handler chose (nil: no handler
	// redirect, original code). A nop func runs the original code.
	Func *Func
}

// Original reports whether the frame runs the original function's text.
func (f Frame) Original() bool { return f.Func == nil || f.Func.Nop }

func (f Frame) String() string {
	if f.Original() {
		return f.Sym.Name
	}
	return f.Func.String()
}

// runs reports whether a frame runs code in the text range a stack
// check forbids: the original function (code == nil) or code's new function.
func (f Frame) runs(sym *Symbol, code *Func) bool {
	if f.Sym != sym {
		return false
	}
	if code == nil || code.Nop {
		return f.Original()
	}
	return !f.Original() && f.Func == code
}

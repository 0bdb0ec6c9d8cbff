package props

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
)

// Livepatch property ids.
const (
	MixedState          = "mixed-state"
	VersionWindow       = "version-window"
	UndefState          = "undef-state"
	PendingFlag         = "pending-flag"
	FuncStates          = "func-states"
	Callbacks           = "callbacks"
	SystemState         = "system-state"
	ModuleText          = "module-text"
	TransitionCompletes = "transition-completes"
)

// LivepatchProperties is the property table of the livepatch kinds, in
// DESIGN.md §5 order. No entry has a Check of its own: the livepatch
// monitor (NewLivepatchMonitor) judges them on the kernel's events — the
// method named after each — so a scenario cannot ignore one.
var LivepatchProperties = []Property[*klp.Kernel]{
	{MixedState, "no task has old and new versions of the transition patch active at once", nil},                                          // Entered
	{VersionWindow, "during a transition a task runs each function's version from before it or after it, as its patch_state says", nil},   // Entered
	{UndefState, "the ftrace handler never reads patch_state UNDEF while func->transition is set", nil},                                   // HandlerRead
	{PendingFlag, "TIF_PATCH_PENDING is set iff the task still has to switch; none left at completion", nil},                              // Completing, End
	{FuncStates, "every klp_func moves through (patched, transition) only as the seed table says", nil},                                   // FuncStateChanged
	{Callbacks, "pre/post (un)patch callbacks run in the documented order and symmetry", nil},                                             // Callback
	{SystemState, "system-state data is neither used nor freed after its free, nor leaked; klp_get_prev_state only in a transition", nil}, // StateAccess, ShadowAccess, End
	{ModuleText, "no task executes or returns into the text of a removed module", nil},                                                    // ModuleRemoved
	{TransitionCompletes, "under fair scheduling the transition completes; else stuck, naming the blockers", nil},                         // Quiescent
	{Deadlock, deadlockMeaning, nil}, // the engine's
}

// Livepatch lists the ids of LivepatchProperties.
var Livepatch = IDs(LivepatchProperties)

// NewLivepatchMonitor returns the monitor of the livepatch properties for
// one execution (klp.Program calls it once per execution).
func NewLivepatchMonitor() klp.Monitor { return &livepatchMonitor{phase: map[*klp.Object]cbPhase{}} }

type livepatchMonitor struct {
	phase map[*klp.Object]cbPhase
}

func violation(prop, format string, args ...any) error {
	return &klp.Violation{Property: prop, Message: fmt.Sprintf(format, args...)}
}

// patches reports whether p patches sym (a resolved function).
func patches(p *klp.Patch, sym *klp.Symbol) bool {
	for _, o := range p.Objs {
		for _, f := range o.Funcs {
			if f.Old() == sym {
				return true
			}
		}
	}
	return false
}

// classify says whether a frame of a function patched by p runs p's
// version ("new"), an older one or the original ("old"), or a newer
// patch's version (neither: per-patch consistency does not judge it).
func classify(p *klp.Patch, fr klp.Frame) (isNew, isOld bool) {
	if !patches(p, fr.Sym) {
		return false, false
	}
	if fr.Func != nil && fr.Func.Patch() == p {
		return true, false
	}
	if fr.Func == nil || fr.Func.Patch().Seq < p.Seq {
		return false, true
	}
	return false, false
}

// Entered checks mixed-state: when a task enters a function, no patch may
// have both its own version and an older version of its functions active
// on the task's stack (per-task consistency, §6 PTC). A violation needs a
// frame of the patch's own version, so the patches judged are those of
// the stack's frames: the check reads only the task's stack, which its
// step declares (klp_patches, which the admin changes, is not read).
func (m *livepatchMonitor) Entered(k *klp.Kernel, tk *klp.Task, fr klp.Frame) error {
	for i, x := range tk.Stack {
		if x.Func == nil || seenPatch(tk.Stack[:i], x.Func.Patch()) {
			continue
		}
		p := x.Func.Patch()
		n, o := classify(p, fr)
		if !n && !o {
			continue
		}
		for _, other := range tk.Stack[:len(tk.Stack)-1] {
			n2, o2 := classify(p, other)
			if (n && o2) || (o && n2) {
				which := "new"
				if o {
					which = "old"
				}
				return violation(MixedState, "task %s enters %s (the %s version) while %s is active on its stack: old and new versions of patch '%s' at once (stack %s)",
					tk.Name, fr, which, other, p.Name, stackString(tk))
			}
		}
	}
	// A version that mixes nothing on the stack can still be the wrong
	// one (checked after mixed-state, which names the stack when both
	// apply).
	return versionWindow(k, tk, fr)
}

// versionWindow checks version-window: during a transition a task that
// enters a patched function runs the version its patch_state stands for —
// the one the function had before the transition began, or the one it
// will have once it completes (klp.SettledVersion). A nop stands for the
// original function.
func versionWindow(k *klp.Kernel, tk *klp.Task, fr klp.Frame) error {
	want, ok := k.SettledVersion(fr.Sym, tk.PatchState)
	if !ok {
		return nil
	}
	if fr.Original() && (want == nil || want.Nop) || !fr.Original() && fr.Func == want {
		return nil
	}
	wantName := fr.Sym.Name
	if want != nil && !want.Nop {
		wantName = want.String()
	}
	return violation(VersionWindow, "task %s (patch_state %s) enters %s during the %s transition of '%s', but its state stands for %s: a version that is neither the one before the transition nor the one after it",
		tk.Name, tk.PatchState, fr, map[bool]string{true: "patching", false: "unpatching"}[k.TargetState() == klp.Patched], k.TransitionPatch().Name, wantName)
}

// seenPatch reports whether a frame of frames runs a version of p.
func seenPatch(frames []klp.Frame, p *klp.Patch) bool {
	for _, f := range frames {
		if f.Func != nil && f.Func.Patch() == p {
			return true
		}
	}
	return false
}

func stackString(tk *klp.Task) string {
	var parts []string
	for _, f := range tk.Stack {
		parts = append(parts, f.String())
	}
	return "[" + strings.Join(parts, " > ") + "]"
}

// HandlerRead checks undef-state (the kernel's WARN_ON_ONCE in
// klp_ftrace_handler).
func (m *livepatchMonitor) HandlerRead(k *klp.Kernel, tk *klp.Task, fn *klp.Func, st klp.PatchState) error {
	if st == klp.Undef {
		return violation(UndefState, "klp_ftrace_handler read patch_state UNDEF of task %s while %s has transition set (WARN_ON_ONCE in klp_ftrace_handler)", tk.Name, fn)
	}
	return nil
}

// The seed's table: patching (0,0)→(0,1)→(1,1)→(1,0), unpatching the
// same backwards.
var funcTable = map[[2]klp.FuncState]bool{
	{fs(0, 0), fs(0, 1)}: true,
	{fs(0, 1), fs(1, 1)}: true,
	{fs(1, 1), fs(1, 0)}: true,
	{fs(1, 0), fs(1, 1)}: true,
	{fs(1, 1), fs(0, 1)}: true,
	{fs(0, 1), fs(0, 0)}: true,
}

func fs(patched, transition int) klp.FuncState {
	return klp.FuncState{Patched: patched == 1, Transition: transition == 1}
}

// FuncStateChanged checks func-states. Besides the table's edges, the
// kernel changes (patched) directly, outside any per-task transition, in
// three documented places: klp_module_coming for a settled patch (no task
// can run the module's code before its init), klp_module_going (the
// module's code is dead) and klp_unpatch_replaced_patches (the replacing
// transition already moved every task off the replaced code); and the
// removed immediate flag bypassed the transition by design.
func (m *livepatchMonitor) FuncStateChanged(k *klp.Kernel, f *klp.Func, from, to klp.FuncState, why string) error {
	if funcTable[[2]klp.FuncState{from, to}] {
		return nil
	}
	direct := !from.Transition && !to.Transition && from.Patched != to.Patched
	if direct && (why == "module-coming" || why == "module-going" || why == "replaced" || f.Patch().Immediate) {
		return nil
	}
	return violation(FuncStates, "klp_func %s went %s → %s (%s), which the klp_func state table does not allow", f, from, to, why)
}

type cbPhase uint8

const (
	cbIdle         cbPhase = iota // nothing ran, or the unpatch twin ran
	cbPrePatched                  // pre_patch succeeded
	cbPatched                     // post_patch ran
	cbPreUnpatched                // pre_unpatch ran
)

// Callback checks callbacks: each object's callbacks follow pre_patch →
// post_patch → pre_unpatch → post_unpatch, where post_unpatch may follow a
// successful pre_patch directly (cancel, reverse, module going during a
// transition) and post_patch may follow pre_unpatch (a reversed disable);
// replaced or removed patches run none.
//
// The post callbacks of a patch's own transition run only once no task
// has TIF_PATCH_PENDING (klp_complete_transition). Those klp_module_coming
// and klp_module_going run are exempt by design: a coming module's code
// has not run yet and a going module's code is dead, so the kernel runs
// them while another transition, or this patch's own, is in progress
// (test-callbacks.sh "busy target module"); what it guarantees there is
// that klp_module_coming runs no post_patch for the transition patch, and
// klp_module_going no pre_unpatch for it.
func (m *livepatchMonitor) Callback(k *klp.Kernel, o *klp.Object, cb klp.CallbackKind, ret int, path klp.CallbackPath) error {
	p := o.Patch()
	onList := false
	for _, q := range k.Patches {
		onList = onList || q == p
	}
	where := fmt.Sprintf("%s of patch '%s' object '%s'", cb, p.Name, o.Name)
	if !onList {
		return violation(Callbacks, "%s ran although the patch is not on klp_patches (replaced or freed)", where)
	}
	ph := m.phase[o]
	bad := func(why string) error {
		return violation(Callbacks, "%s ran %s", where, why)
	}
	switch cb {
	case klp.PrePatch:
		if ph != cbIdle {
			return bad("twice without its unpatch twin")
		}
		if ret == 0 {
			m.phase[o] = cbPrePatched
		}
	case klp.PostPatch:
		if ph != cbPrePatched && ph != cbPreUnpatched {
			return bad("without a successful pre_patch")
		}
		if path == klp.CallbackModuleComing && p == k.TransitionPatch() {
			return bad("from klp_module_coming although the patch is in transition (its post_patch belongs to the completion)")
		}
		if path == klp.CallbackTransition {
			if err := noPending(k, where); err != nil {
				return err
			}
		}
		m.phase[o] = cbPatched
	case klp.PreUnpatch:
		if ph != cbPatched {
			return bad("although post_patch never ran")
		}
		if path == klp.CallbackModuleGoing && p == k.TransitionPatch() {
			return bad("from klp_module_going although the patch is in transition")
		}
		m.phase[o] = cbPreUnpatched
	case klp.PostUnpatch:
		if ph == cbIdle {
			return bad("without a successful pre_patch")
		}
		if path == klp.CallbackTransition {
			if err := noPending(k, where); err != nil {
				return err
			}
		}
		m.phase[o] = cbIdle
	}
	return nil
}

func noPending(k *klp.Kernel, where string) error {
	if k.TransitionPatch() == nil {
		return nil
	}
	for _, tk := range k.Tasks {
		if tk.Linked() && tk.PatchPending {
			return violation(Callbacks, "%s ran while task %s still has TIF_PATCH_PENDING (the transition is not complete)", where, tk.Name)
		}
	}
	return nil
}

// StateAccess checks system-state: klp_get_prev_state only during a
// transition (the kernel's WARN_ON_ONCE), no use, take-over or free of
// state data that was already freed, no use of NULL data.
func (m *livepatchMonitor) StateAccess(k *klp.Kernel, o *klp.Object, a klp.StateAccess) error {
	where := fmt.Sprintf("a callback of patch '%s' object '%s'", o.Patch().Name, o.Name)
	switch {
	case a.Op == "klp_get_prev_state":
		return violation(SystemState, "%s called klp_get_prev_state(%d) with no transition in progress (WARN_ON_ONCE in klp_get_prev_state)", where, a.ID)
	case a.Op == "use" && a.Data == 0:
		return violation(SystemState, "%s dereferences the data of state %d, which is NULL", where, a.ID)
	case a.Freed && a.Op == "free":
		return violation(SystemState, "%s frees the data of state %d a second time (buffer #%d)", where, a.ID, a.Data)
	case a.Freed:
		return violation(SystemState, "%s: %s of state %d data that was already freed (buffer #%d): use after free", where, a.Op, a.ID, a.Data)
	}
	return nil
}

// ShadowAccess checks system-state for shadow variables: klp_shadow_alloc
// of an existing <obj,id> (the kernel's WARN "Duplicate shadow variable"),
// and code that uses a shadow variable that is not there.
func (m *livepatchMonitor) ShadowAccess(k *klp.Kernel, o *klp.Object, a klp.ShadowAccess) error {
	where := fmt.Sprintf("a callback of patch '%s' object '%s'", o.Patch().Name, o.Name)
	switch {
	case a.Duplicate:
		return violation(SystemState, "%s: klp_shadow_alloc(<%s,%#x>) of an existing variable: WARN \"Duplicate shadow variable\", NULL returned", where, a.Obj, a.ID)
	case a.Missing:
		return violation(SystemState, "%s uses shadow variable <%s,%#x>, which does not exist (freed, or never allocated): NULL dereference", where, a.Obj, a.ID)
	}
	return nil
}

// Completing checks pending-flag at the kernel's WARN_ON_ONCE in
// klp_complete_transition.
func (m *livepatchMonitor) Completing(k *klp.Kernel, tk *klp.Task) error {
	if tk.PatchPending {
		return violation(PendingFlag, "klp_complete_transition of '%s': task %s still has TIF_PATCH_PENDING (patch_state %s, target %s): WARN_ON_ONCE",
			k.TransitionPatch().Name, tk.Name, tk.PatchState, k.TargetState())
	}
	return nil
}

// ModuleRemoved checks module-text: no task may still have code of the
// removed module on its stack: for a livepatch module its patch's new
// functions, for a target module any of its functions (original or a
// version another patch module provides, whose frame still returns into
// the module).
func (m *livepatchMonitor) ModuleRemoved(k *klp.Kernel, mod *klp.Module) error {
	p := mod.Patch()
	if p == nil && k.WorkActive(mod) {
		return violation(ModuleText, "rmmod %s freed the module while its work item is still queued or running: its kworker runs freed code", mod.Name)
	}
	for _, tk := range k.Tasks {
		for _, fr := range tk.Stack {
			inside := p != nil && !fr.Original() && fr.Func.Patch() == p
			inside = inside || p == nil && fr.Sym.Object == mod.Name
			if inside {
				return violation(ModuleText, "rmmod %s freed the text of %s, which task %s still has on its stack %s: it will return into freed memory",
					mod.Name, fr, tk.Name, stackString(tk))
			}
		}
	}
	return nil
}

// Quiescent judges transition-completes: when no thread can move and a
// transition is still in progress, the transition is stuck; the message
// names every task that blocks it, in the kernel's debug wording.
func (m *livepatchMonitor) Quiescent(k *klp.Kernel, blocked []*explore.Thread) *explore.Failure {
	if p := k.TransitionPatch(); p != nil {
		return &explore.Failure{Property: TransitionCompletes, Stuck: true, Thread: -1,
			Message: fmt.Sprintf("'%s': %s transition never completes; blocking: %s", p.Name, map[bool]string{true: "patching", false: "unpatching"}[k.TargetState() == klp.Patched],
				strings.Join(k.BlockingReasons(), "; "))}
	}
	for _, t := range blocked {
		if t.Name() == "admin" {
			return &explore.Failure{Property: "script", Stuck: true, Thread: t.ID(),
				Message: fmt.Sprintf("the admin script waits forever at %q", t.Pending())}
		}
	}
	return nil
}

// End checks pending-flag outside transitions: every task's patch_state is
// IDLE and no TIF_PATCH_PENDING is left.
func (m *livepatchMonitor) End(k *klp.Kernel) error {
	if k.TransitionPatch() != nil {
		return nil
	}
	if len(k.Patches) == 0 {
		for _, sv := range k.Shadows() {
			return violation(SystemState, "shadow variable <%s,%#x> outlives every livepatch: nothing frees it (leaked)", sv.Obj, sv.ID)
		}
	}
	for _, b := range k.StateBuffers() {
		if !b.Freed && len(b.Owners) == 0 {
			return violation(SystemState, "state data buffer #%d is still allocated but no installed patch's klp_state points at it: leaked", b.Data)
		}
	}
	for _, tk := range k.Tasks {
		if !tk.Linked() {
			continue
		}
		if tk.PatchPending || tk.PatchState != klp.Undef {
			return violation(PendingFlag, "no transition is in progress but task %s has patch_state %s and TIF_PATCH_PENDING=%v", tk.Name, tk.PatchState, tk.PatchPending)
		}
	}
	return nil
}

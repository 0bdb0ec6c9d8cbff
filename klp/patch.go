package klp

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// patchable reports whether some patch of the scenario names sym, so that
// calls to it must go through the ftrace handler.
func (k *Kernel) patchable(sym *Symbol) bool { return k.patchableSym[sym.index] }

func (k *Kernel) namedByPatch(sym *Symbol) bool {
	for _, p := range k.cfg.Patches {
		for _, o := range p.Objects {
			if o.Name != sym.Object {
				continue
			}
			for _, f := range o.Funcs {
				if f.OldName == sym.Name {
					return true
				}
			}
		}
	}
	// A replace patch may add nops for functions of other patches: those
	// are named above too.
	return false
}

// ftraceHandler mirrors klp_ftrace_handler: with preemption disabled
// (notrace), take the newest func on the ops' func_stack; smp_rmb; if
// func->transition is set, smp_rmb and read current->patch_state: UNPATCHED
// takes the next entry (none: the original function), PATCHED keeps the
// top; a nop runs the original function. The handler never looks at
// TIF_PATCH_PENDING nor at patch->enabled. It returns the frame to enter
// and leaves the task inside the preempt-disabled section (call closes
// it).
func (k *Kernel) ftraceHandler(t *explore.Thread, tk *Task, sym *Symbol) Frame {
	t.Op(sym.lHandler, k.fpHandler(tk))
	tk.inHandler = true
	t.Op("klp_ftrace_handler: func_stack head, smp_rmb, func->transition", k.fpOps(sym, explore.Read))
	st := k.ops[sym.index].stack
	if len(st) == 0 {
		return Frame{Sym: sym}
	}
	fn := st[0]
	var next *Func
	if len(st) > 1 {
		next = st[1]
	}
	if fn.Transition {
		t.Op("klp_ftrace_handler: smp_rmb, current->patch_state", k.fpPState(tk, explore.Read))
		state := tk.PatchState
		if state == Undef && k.cfg.proposed(RCUTaskWalk) {
			// The rejected RCU-walk design: a child forked during the
			// transition is UNDEF and follows klp_target_state.
			t.Op("klp_ftrace_handler: patch_state UNDEF: READ_ONCE(klp_target_state)", k.fpKLP(explore.Read))
			state = k.target
		}
		k.check(t, k.mon.HandlerRead(k, tk, fn, state))
		if state == Unpatched {
			fn = next
			if fn == nil {
				return Frame{Sym: sym}
			}
		}
	}
	if t.Tracing() {
		t.Notef("%s: handler for %s chose %s", tk.Name, sym.Name, Frame{Sym: sym, Func: fn})
	}
	return Frame{Sym: sym, Func: fn}
}

// setFuncState changes a klp_func's (patched, transition) pair and reports
// it to the monitor.
func (k *Kernel) setFuncState(t *explore.Thread, f *Func, patched, transition bool, why string) {
	from := FuncState{f.Patched, f.Transition}
	to := FuncState{patched, transition}
	if from == to {
		return
	}
	f.Patched, f.Transition = patched, transition
	k.check(t, k.mon.FuncStateChanged(k, f, from, to, why))
}

// patchFunc mirrors klp_patch_func: push the func at the head of its ops'
// func_stack; the first func of an address registers the klp_ops with
// ftrace (FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT), which fails
// with -EBUSY while the ftrace_enabled sysctl is 0 (a permanent ops) or
// when another IPMODIFY ops (a kprobe with a post_handler) is on the
// function. It returns a positive errno.
func (k *Kernel) patchFunc(t *explore.Thread, f *Func, why string) int {
	if f.old == nil {
		t.Failf("livepatch", "klp_patch_func: %s has no old_func (model bug)", f)
	}
	o := &k.ops[f.old.index]
	if len(o.stack) == 0 {
		if err := k.registerFtraceOps(f.old); err != 0 {
			k.klpLog("failed to register ftrace handler for function '%s' (%d)", f.OldName, -err)
			return err
		}
	}
	o.stack = append([]*Func{f}, o.stack...)
	k.setFuncState(t, f, true, f.Transition, why)
	return 0
}

// registerFtraceOps is register_ftrace_function for a klp_ops: -EBUSY
// when ftrace is disabled by sysctl (__register_ftrace_function refuses a
// permanent ops) or another ops modifies the IP of the function
// (ftrace_hash_ipmodify_enable).
func (k *Kernel) registerFtraceOps(sym *Symbol) int {
	if k.ftraceDisabled {
		return EBUSY
	}
	if k.ipmodify[sym.index] != "" {
		return EBUSY
	}
	k.ipmodify[sym.index] = "livepatch"
	return 0
}

// unpatchFunc mirrors klp_unpatch_func: remove the func from its
// func_stack (unregistering the ftrace ops if it was the last).
func (k *Kernel) unpatchFunc(t *explore.Thread, f *Func, why string) {
	if !f.Patched {
		return
	}
	o := &k.ops[f.old.index]
	for i, g := range o.stack {
		if g == f {
			o.stack = append(o.stack[:i:i], o.stack[i+1:]...)
			break
		}
	}
	if len(o.stack) == 0 {
		// unregister_ftrace_function: the klp_ops is gone.
		k.ipmodify[f.old.index] = ""
	}
	k.setFuncState(t, f, false, f.Transition, why)
}

// patchObject mirrors klp_patch_object: one step that pushes every func of
// the object (the kernel does it under klp_mutex; handlers see each push
// as it happens; here the object's pushes are one atomic step). A func
// that cannot be patched undoes the object's earlier pushes
// (klp_unpatch_object). It returns a positive errno.
func (k *Kernel) patchObject(t *explore.Thread, o *Object, why string) int {
	t.Op(fmt.Sprintf("klp_patch_object(%s): push funcs on func_stack", o.Name), k.fpAllOps())
	if o.Patched {
		return EINVAL
	}
	for _, f := range o.Funcs {
		if err := k.patchFunc(t, f, why); err != 0 {
			for _, g := range o.Funcs {
				k.unpatchFunc(t, g, why)
			}
			return err
		}
	}
	o.Patched = true
	return 0
}

// unpatchObject mirrors __klp_unpatch_object (nopsOnly: only the nops,
// and only dynamic objects lose their patched flag).
func (k *Kernel) unpatchObject(t *explore.Thread, o *Object, nopsOnly bool, why string) {
	for _, f := range o.Funcs {
		if nopsOnly && !f.Nop {
			continue
		}
		k.unpatchFunc(t, f, why)
	}
	if o.Dynamic || !nopsOnly {
		o.Patched = false
	}
}

// unpatchObjects mirrors klp_unpatch_objects(patch) as one step.
func (k *Kernel) unpatchObjects(t *explore.Thread, p *Patch, nopsOnly bool, label, why string) {
	t.Op(label, k.fpAllOps())
	for _, o := range p.Objs {
		if o.Patched {
			k.unpatchObject(t, o, nopsOnly, why)
		}
	}
}

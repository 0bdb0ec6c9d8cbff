package klp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// Kernel error numbers (positive, as errno).
const (
	ENOENT = 2
	ENOMEM = 12
	ENODEV = 19
	EBUSY  = 16
	EEXIST = 17
	EINVAL = 22
)

// Strerror is the C library's message for an errno, as insmod and bash
// print it.
func Strerror(errno int) string {
	switch errno {
	case ENOENT:
		return "No such file or directory"
	case ENOMEM:
		return "Cannot allocate memory"
	case ENODEV:
		return "No such device"
	case EBUSY:
		return "Device or resource busy"
	case EEXIST:
		return "File exists"
	case EINVAL:
		return "Invalid argument"
	}
	return fmt.Sprintf("Unknown error %d", errno)
}

// newPatch builds struct klp_patch from a livepatch module's definition
// and its module parameters.
func (k *Kernel) newPatch(pc *PatchConfig, m *Module) *Patch {
	k.patchSeq++
	p := &Patch{Name: pc.Name, Replace: pc.Replace, Immediate: pc.Immediate, Seq: k.patchSeq, prePatchRet: pc.PrePatchRet, mod: m,
		nonReplaceable: pc.NonReplaceable}
	if v, ok := m.Params["replace"]; ok {
		p.Replace = v == "1" || v == "y" || v == "Y"
	}
	if v, ok := m.Params["pre_patch_ret"]; ok {
		p.prePatchRet, _ = strconv.Atoi(v)
	}
	if pc.PidsParam != "" && m.Params[pc.PidsParam] != "" {
		p.pendingPids = strings.Split(m.Params[pc.PidsParam], ",")
	}
	for _, s := range pc.States {
		p.States = append(p.States, State{ID: s.ID, Version: s.Version})
	}
	for _, oc := range pc.Objects {
		o := &Object{Name: oc.Name, patch: p, Callbacks: Callbacks{Present: oc.Callbacks, PrePatchRet: oc.PrePatchRet}}
		o.bodies, _ = parseBodies(oc.Bodies) // validated
		for _, fc := range oc.Funcs {
			o.Funcs = append(o.Funcs, &Func{OldName: fc.OldName, NewFunc: fc.NewFunc, OldSympos: fc.OldSympos, Output: fc.Output, RemovesCaller: fc.RemovesCaller, obj: o})
		}
		p.Objs = append(p.Objs, o)
	}
	m.patch = p
	return p
}

// findObjectSymbol mirrors klp_find_object_symbol: old_sympos 0 requires a
// unique name; otherwise it selects the sympos-th match.
func (k *Kernel) findObjectSymbol(object, name string, sympos int) (*Symbol, int) {
	var syms []*Symbol
	if object == "vmlinux" || k.module(object) != nil {
		syms = k.lookup(object, name)
	}
	switch {
	case len(syms) == 0:
		k.klpLog("symbol '%s' not found in symbol table", name)
	case len(syms) > 1 && sympos == 0:
		// The kernel passes objname NULL for vmlinux and prints it as is.
		objname := object
		if object == "vmlinux" {
			objname = "(null)"
		}
		k.klpLog("unresolvable ambiguity for symbol '%s' in object '%s'", name, objname)
	case sympos > 0 && sympos > len(syms):
		k.klpLog("symbol position %d for symbol '%s' in object '%s' not found", sympos, name, object)
	default:
		if sympos == 0 {
			sympos = 1
		}
		return syms[sympos-1], 0
	}
	return nil, EINVAL
}

// initObjectLoaded mirrors klp_init_object_loaded: resolve every func's
// old_func (a nop's new_func is its old_func).
func (k *Kernel) initObjectLoaded(o *Object) int {
	for _, f := range o.Funcs {
		sym, err := k.findObjectSymbol(o.Name, f.OldName, f.OldSympos)
		if err != 0 {
			return err
		}
		f.old = sym
	}
	return 0
}

// addNops mirrors klp_add_nops: for every func of every patch on
// klp_patches that the new (replace) patch does not patch, a dynamic nop
// func (and a dynamic object where the object is missing).
func (k *Kernel) addNops(p *Patch) {
	for _, old := range k.Patches {
		if old.nonReplaceable {
			continue // hybrid mode: not replaced, so no nops
		}
		for _, oo := range old.Objs {
			var obj *Object
			for _, o := range p.Objs {
				if o.Name == oo.Name {
					obj = o
				}
			}
			if obj == nil {
				obj = &Object{Name: oo.Name, patch: p, Dynamic: true}
				p.Objs = append(p.Objs, obj)
			}
			for _, of := range oo.Funcs {
				found := false
				for _, f := range obj.Funcs {
					if f.OldName == of.OldName && f.OldSympos == of.OldSympos {
						found = true
					}
				}
				if !found {
					obj.Funcs = append(obj.Funcs, &Func{OldName: of.OldName, OldSympos: of.OldSympos, Nop: true, obj: obj})
				}
			}
		}
	}
}

// initPatch mirrors klp_init_patch: nops for a replace patch, then every
// object (bound to its module if loaded and klp_alive), then the patch is
// appended to klp_patches.
func (k *Kernel) initPatch(p *Patch) int {
	if p.Replace {
		k.addNops(p)
	}
	for _, o := range p.Objs {
		seen := map[string]bool{}
		for _, f := range o.Funcs {
			key := fmt.Sprintf("%s,%d", f.OldName, f.OldSympos)
			if seen[key] {
				// kobject_add of a second "<old_name>,<sympos>" directory.
				return EEXIST
			}
			seen[key] = true
		}
		if o.isModule() {
			if m := k.module(o.Name); m != nil && m.KlpAlive {
				o.mod = m
			}
		}
		if o.Loaded() {
			if err := k.initObjectLoaded(o); err != 0 {
				return err
			}
		}
	}
	k.Patches = append(k.Patches, p)
	p.onList = true
	return 0
}

// isPatchCompatible mirrors klp_is_patch_compatible (state.c): every state
// of every installed patch must be carried by the new patch with a version
// at least as high, unless the new patch is not cumulative and lacks it.
func (k *Kernel) isPatchCompatible(p *Patch) bool {
	for _, old := range k.Patches {
		for _, os := range old.States {
			st := GetState(p, os.ID)
			if st == nil {
				if p.Replace {
					return false
				}
				continue
			}
			if st.Version < os.Version {
				return false
			}
		}
	}
	return true
}

// GetState mirrors klp_get_state.
func GetState(p *Patch, id int) *State {
	for i := range p.States {
		if p.States[i].ID == id {
			return &p.States[i]
		}
	}
	return nil
}

// GetPrevState mirrors klp_get_prev_state: during a transition, the state
// with that id of the newest patch installed before the transition patch.
func (k *Kernel) GetPrevState(id int) *State {
	if k.transition == nil {
		return nil
	}
	var last *State
	for _, p := range k.Patches {
		if p == k.transition {
			break
		}
		if s := GetState(p, id); s != nil {
			last = s
		}
	}
	return last
}

// enablePatch mirrors klp_enable_patch, called from the livepatch module's
// init. It returns a positive errno.
func (k *Kernel) enablePatch(t *explore.Thread, p *Patch) int {
	if k.cfg.UnreliableStacks {
		k.klpLog("This architecture doesn't have support for the livepatch consistency model.")
		k.klpLog("The livepatch transition may never complete.")
	}
	k.mutex.Lock(t)
	defer k.mutex.Unlock(t)
	t.Op("klp_enable_patch: klp_is_patch_compatible, try_module_get, klp_init_patch", explore.Local)
	if !k.isPatchCompatible(p) {
		k.klpLog("Livepatch patch (%s) is not compatible with the already installed livepatches.", p.Name)
		return EINVAL
	}
	p.mod.refs++
	if err := k.initPatch(p); err != 0 {
		k.freePatchStart(p)
		return err
	}
	if err := k.enablePatchLocked(t, p); err != 0 {
		k.freePatchStart(p)
		return err
	}
	return 0
}

// freePatchStart mirrors klp_free_patch_start + klp_free_patch_finish on
// an error path: off klp_patches, module reference dropped.
func (k *Kernel) freePatchStart(p *Patch) {
	k.removeFromList(p)
	if !p.Forced {
		p.mod.refs--
	}
}

func (k *Kernel) removeFromList(p *Patch) {
	for i, q := range k.Patches {
		if q == p {
			k.Patches = append(k.Patches[:i:i], k.Patches[i+1:]...)
			break
		}
	}
	p.onList = false
}

// enablePatchLocked mirrors __klp_enable_patch.
func (k *Kernel) enablePatchLocked(t *explore.Thread, p *Patch) int {
	if k.transition != nil {
		return EBUSY
	}
	if p.Enabled {
		return EINVAL
	}
	k.klpLog("enabling patch '%s'", p.Name)
	k.initTransition(t, p, Patched)
	// wmb#1: func->transition=true before the func_stack pushes below.
	if !k.cfg.reordered(WMB1) {
		t.Op("__klp_enable_patch: smp_wmb (wmb#1; no effect under SC)", explore.Local)
	}
	for _, o := range p.Objs {
		if !o.Loaded() {
			continue
		}
		if ret := k.prePatch(t, o); ret != 0 {
			k.klpLog("pre-patch callback failed for object '%s'", o.Name)
			return k.enableFailed(t, p, ret)
		}
		if err := k.patchObject(t, o, "patch"); err != 0 {
			k.klpLog("failed to patch object '%s'", o.Name)
			return k.enableFailed(t, p, err)
		}
	}
	if k.cfg.reordered(WMB1) && !p.Immediate {
		t.Op("klp_init_transition's func->transition = true, visible only now (no wmb#1)", k.fpAllOps())
		for _, o := range p.Objs {
			for _, f := range o.Funcs {
				k.setFuncState(t, f, f.Patched, true, "init")
			}
		}
	}
	k.startTransition(t)
	p.Enabled = true
	k.tryCompleteTransition(t)
	return 0
}

func (k *Kernel) enableFailed(t *explore.Thread, p *Patch, ret int) int {
	k.klpLog("failed to enable patch '%s'", p.Name)
	k.cancelTransition(t)
	if ret < 0 {
		ret = -ret
	}
	return ret
}

// disablePatch mirrors __klp_disable_patch.
func (k *Kernel) disablePatch(t *explore.Thread, p *Patch) int {
	if !p.Enabled {
		return EINVAL
	}
	if k.transition != nil {
		return EBUSY
	}
	k.initTransition(t, p, Unpatched)
	for _, o := range p.Objs {
		if o.Patched {
			k.preUnpatch(t, o)
		}
	}
	t.Op("__klp_disable_patch: smp_wmb (wmb#3; no effect under SC)", explore.Local)
	k.startTransition(t)
	p.Enabled = false
	k.tryCompleteTransition(t)
	return 0
}

// kstrtobool mirrors the kernel's kstrtobool, which the sysfs stores use:
// the first character decides (y/Y/t/T/1 true, n/N/f/F/0 false, "on"/"of"
// in any case), anything else is -EINVAL. (echo's newline is ignored.)
func kstrtobool(s string) (bool, int) {
	if s == "" {
		return false, EINVAL
	}
	switch s[0] {
	case 'y', 'Y', 't', 'T', '1':
		return true, 0
	case 'n', 'N', 'f', 'F', '0':
		return false, 0
	case 'o', 'O':
		if len(s) > 1 {
			switch s[1] {
			case 'n', 'N':
				return true, 0
			case 'f', 'F':
				return false, 0
			}
		}
	}
	return false, EINVAL
}

// enabledStore mirrors enabled_store (sysfs "enabled"): kstrtobool, then
// under klp_mutex a reverse, a disable or -EINVAL.
func (k *Kernel) enabledStore(t *explore.Thread, p *Patch, value string) int {
	enabled, err := kstrtobool(value)
	if err != 0 {
		return err
	}
	k.mutex.Lock(t)
	defer k.mutex.Unlock(t)
	t.Op("enabled_store", explore.Local)
	if p.Enabled == enabled {
		return EINVAL
	}
	if p == k.transition {
		k.reverseTransition(t)
		return 0
	}
	if !enabled {
		return k.disablePatch(t, p)
	}
	return EINVAL
}

// forceStore mirrors force_store (sysfs "force"): kstrtobool (a value
// that is not a boolean is -EINVAL), a false value does nothing, a true
// one forces the transition under klp_mutex if p is the transition patch.
func (k *Kernel) forceStore(t *explore.Thread, p *Patch, value string) int {
	val, err := kstrtobool(value)
	if err != 0 {
		return err
	}
	if !val {
		return 0
	}
	k.mutex.Lock(t)
	defer k.mutex.Unlock(t)
	t.Op("force_store", explore.Local)
	if p != k.transition {
		return EINVAL
	}
	k.forceTransition(t)
	return 0
}

// freePatch mirrors klp_free_patch_async after a completed transition:
// the patch leaves klp_patches, its sysfs directory disappears and its
// module reference is dropped unless the patch was forced.
func (k *Kernel) freePatch(t *explore.Thread, p *Patch) {
	t.Op("klp_free_patch_async("+p.Name+")", k.fpWorkKLP(explore.Write))
	k.freePatchStart(p)
}

// Callbacks (core.h helpers and the demo module's callbacks).

func (k *Kernel) callbackLine(o *Object, cb CallbackKind) {
	if !o.Callbacks.Present {
		return
	}
	if o.mod != nil {
		k.logf("%s: %s_callback: %s -> %s", o.patch.Name, cb, o.mod.Name, o.mod.stateString())
	} else {
		k.logf("%s: %s_callback: vmlinux", o.patch.Name, cb)
	}
}

// callbackOp is the step of a post_(un)patch callback: the monitor checks
// there that no task on the list still has TIF_PATCH_PENDING, so the step
// reads every task's flags and the task list.
func (k *Kernel) callbackOp(t *explore.Thread, label string) {
	t.OpMulti(label, k.fpTasks(explore.Read), k.fpList(explore.Read))
}

// prePatch mirrors klp_pre_patch_callback: post_unpatch_enabled records
// whether it succeeded.
func (k *Kernel) prePatch(t *explore.Thread, o *Object) int {
	ret := 0
	if o.Callbacks.Present {
		k.callbackLine(o, PrePatch)
		ret = o.patch.prePatchRet
		if o.Callbacks.PrePatchRet != 0 {
			ret = o.Callbacks.PrePatchRet
		}
		if ret == 0 {
			ret = k.runBody(t, o, PrePatch)
		}
		k.check(t, k.mon.Callback(k, o, PrePatch, ret, k.cbPath))
	}
	o.Callbacks.PostUnpatchEnabled = ret == 0
	return ret
}

func (k *Kernel) postPatch(t *explore.Thread, o *Object) {
	if o.Callbacks.Present {
		k.callbackOp(t, "klp_post_patch_callback")
		k.callbackLine(o, PostPatch)
		k.runBody(t, o, PostPatch)
		k.check(t, k.mon.Callback(k, o, PostPatch, 0, k.cbPath))
	}
}

func (k *Kernel) preUnpatch(t *explore.Thread, o *Object) {
	if o.Callbacks.Present {
		k.callbackLine(o, PreUnpatch)
		k.runBody(t, o, PreUnpatch)
		k.check(t, k.mon.Callback(k, o, PreUnpatch, 0, k.cbPath))
	}
}

// postUnpatch mirrors klp_post_unpatch_callback: only if the pre_patch
// callback succeeded, then the flag is cleared.
func (k *Kernel) postUnpatch(t *explore.Thread, o *Object) {
	if o.Callbacks.PostUnpatchEnabled && o.Callbacks.Present {
		k.callbackOp(t, "klp_post_unpatch_callback")
		k.callbackLine(o, PostUnpatch)
		k.runBody(t, o, PostUnpatch)
		k.check(t, k.mon.Callback(k, o, PostUnpatch, 0, k.cbPath))
	}
	o.Callbacks.PostUnpatchEnabled = false
}

// moduleComing mirrors klp_module_coming, before the module's init runs.
func (k *Kernel) moduleComing(t *explore.Thread, m *Module) int {
	k.mutex.Lock(t)
	defer k.mutex.Unlock(t)
	t.Op("klp_module_coming("+m.Name+")", explore.Local)
	k.cbPath = CallbackModuleComing
	defer func() { k.cbPath = CallbackTransition }()
	m.KlpAlive = true
	for _, p := range k.Patches {
		for _, o := range p.Objs {
			if !o.isModule() || o.Name != m.Name {
				continue
			}
			o.mod = m
			fail := func(ret int) int {
				k.klpLog("patch '%s' failed for module '%s', refusing to load module '%s'", p.Name, m.Name, m.Name)
				m.KlpAlive = false
				o.mod = nil
				k.cleanupModulePatches(t, m, p)
				if ret < 0 {
					ret = -ret
				}
				return ret
			}
			if ret := k.initObjectLoaded(o); ret != 0 {
				k.klpLog("failed to initialize patch '%s' for module '%s' (%d)", p.Name, m.Name, -ret)
				return fail(ret)
			}
			k.klpLog("applying patch '%s' to loading module '%s'", p.Name, m.Name)
			if ret := k.prePatch(t, o); ret != 0 {
				k.klpLog("pre-patch callback failed for object '%s'", o.Name)
				return fail(ret)
			}
			if err := k.patchObject(t, o, "module-coming"); err != 0 {
				k.klpLog("failed to apply patch '%s' to module '%s' (%d)", p.Name, m.Name, -err)
				k.postUnpatch(t, o)
				return fail(err)
			}
			if p != k.transition {
				k.postPatch(t, o)
			}
			break
		}
	}
	return 0
}

// moduleGoing mirrors klp_module_going.
func (k *Kernel) moduleGoing(t *explore.Thread, m *Module) {
	k.mutex.Lock(t)
	defer k.mutex.Unlock(t)
	t.Op("klp_module_going("+m.Name+")", k.fpWork(explore.Write))
	m.KlpAlive = false
	k.attemptEpoch = ^uint64(0) // unpatched objects no longer block: retry
	k.cbPath = CallbackModuleGoing
	k.cleanupModulePatches(t, m, nil)
	k.cbPath = CallbackTransition
}

// cleanupModulePatches mirrors klp_cleanup_module_patches_limited.
func (k *Kernel) cleanupModulePatches(t *explore.Thread, m *Module, limit *Patch) {
	for _, p := range k.Patches {
		if p == limit {
			break
		}
		for _, o := range p.Objs {
			if !o.isModule() || o.Name != m.Name {
				continue
			}
			if p != k.transition {
				k.preUnpatch(t, o)
			}
			k.klpLog("reverting patch '%s' on unloading module '%s'", p.Name, o.Name)
			t.Op(fmt.Sprintf("klp_unpatch_object(%s)", o.Name), k.fpAllOps())
			k.unpatchObject(t, o, false, "module-going")
			k.postUnpatch(t, o)
			o.mod = nil
			for _, f := range o.Funcs {
				f.old = nil
			}
			break
		}
	}
}

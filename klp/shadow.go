package klp

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// Shadow variables (kernel/livepatch/shadow.c, Documentation/livepatch/
// shadow-vars.rst): data attached to an existing object, keyed by <obj,
// id> in a global hash, allocated zeroed with an optional constructor
// (run under klp_shadow_lock) and freed with an optional destructor. The
// model names objects and pointers by strings; shadow data are pointers
// "shadow#N".

// Shadow is one shadow variable: <Obj, ID> and its data pointer.
type Shadow struct {
	Obj  string
	ID   int
	Data string
	// Value is what the constructor stored in the data (the ctor_data's
	// pointer, for the selftest's shadow_ctor).
	Value string
}

// shadowCtor and shadowDtor are a constructor and a destructor: the
// selftest's print, callback bodies' none.
type shadowCtor func(sv *Shadow, ctorData string) int
type shadowDtor func(obj string, sv *Shadow)

// ShadowAccess reports a shadow API call to the monitor: Op is
// "klp_shadow_alloc" with Duplicate when <obj,id> exists already (the
// kernel WARNs "Duplicate shadow variable"), or "klp_shadow_get" of a
// variable the caller needs (Missing: not there).
type ShadowAccess struct {
	Op        string
	Obj       string
	ID        int
	Duplicate bool
	Missing   bool
}

// Shadows lists the live shadow variables.
func (k *Kernel) Shadows() []Shadow {
	out := make([]Shadow, len(k.shadows))
	for i, s := range k.shadows {
		out[i] = *s
	}
	return out
}

// shadowGet mirrors klp_shadow_get.
func (k *Kernel) shadowGet(obj string, id int) *Shadow {
	for _, s := range k.shadows {
		if s.Obj == obj && s.ID == id {
			return s
		}
	}
	return nil
}

// shadowGetOrAlloc mirrors __klp_shadow_get_or_alloc: under
// klp_shadow_lock, an existing variable is returned (klp_shadow_alloc
// WARNs "Duplicate shadow variable <obj,id>" and returns NULL); otherwise a
// zeroed one is added and the constructor runs, whose failure frees it
// ("Failed to construct shadow variable <obj,id> (err)").
func (k *Kernel) shadowGetOrAlloc(obj string, id int, ctor shadowCtor, ctorData string, warnOnExist bool) (*Shadow, bool) {
	if s := k.shadowGet(obj, id); s != nil {
		if warnOnExist {
			return nil, true
		}
		return s, false
	}
	k.shadowSeq++
	s := &Shadow{Obj: obj, ID: id, Data: fmt.Sprintf("shadow#%d", k.shadowSeq)}
	if ctor != nil {
		if err := ctor(s, ctorData); err != 0 {
			k.logf("livepatch: Failed to construct shadow variable <%s,%x> (%d)", obj, id, err)
			return nil, false
		}
	}
	k.shadows = append(k.shadows, s)
	return s, false
}

// shadowFree mirrors klp_shadow_free: the destructor runs, then the
// variable leaves the hash.
func (k *Kernel) shadowFree(obj string, id int, dtor shadowDtor) {
	for i, s := range k.shadows {
		if s.Obj == obj && s.ID == id {
			if dtor != nil {
				dtor(obj, s)
			}
			k.shadows = append(k.shadows[:i:i], k.shadows[i+1:]...)
			return
		}
	}
}

// shadowFreeAll mirrors klp_shadow_free_all: every variable with the id
// (in hash order, here allocation order).
func (k *Kernel) shadowFreeAll(id int, dtor shadowDtor) {
	var keep []*Shadow
	for _, s := range k.shadows {
		if s.ID == id {
			if dtor != nil {
				dtor(s.Obj, s)
			}
			continue
		}
		keep = append(keep, s)
	}
	k.shadows = keep
}

// shadowStmt runs a callback body's shadow statement: shadow-alloc OBJ ID,
// shadow-get OBJ ID (the caller needs it), shadow-free OBJ ID,
// shadow-free-all ID. The shadow hash is global state under
// klp_shadow_lock; callbacks run under klp_mutex, so the step declares
// the klp object.
func (k *Kernel) shadowStmt(t *explore.Thread, o *Object, s stmt) {
	t.Op("klp_"+s.action[len("shadow-"):]+" (klp_shadow_lock)", k.fpKLP(explore.Write))
	switch s.action {
	case "shadow-alloc":
		_, dup := k.shadowGetOrAlloc(s.text, s.id, nil, "", true)
		k.check(t, k.mon.ShadowAccess(k, o, ShadowAccess{Op: "klp_shadow_alloc", Obj: s.text, ID: s.id, Duplicate: dup}))
	case "shadow-get":
		sv := k.shadowGet(s.text, s.id)
		k.check(t, k.mon.ShadowAccess(k, o, ShadowAccess{Op: "klp_shadow_get", Obj: s.text, ID: s.id, Missing: sv == nil}))
	case "shadow-free":
		k.shadowFree(s.text, s.id, nil)
	case "shadow-free-all":
		k.shadowFreeAll(s.id, nil)
	}
}

// shadowVarsInit is the init of test_modules/test_klp_shadow_vars.c, on
// the modelled API: three test objects get a "char" (id 0x1234) and an
// "int" (id 0x1235) shadow variable each; the module checks what get,
// get_or_alloc, free and free_all return, printing every pointer as
// PTR<n>, numbered in order of first appearance (ptr_id; NULL is PTR0).
func (k *Kernel) shadowVarsInit(t *explore.Thread, m *Module) int {
	t.Op(m.Name+": test_klp_shadow_vars_init (klp_shadow_lock)", k.fpKLP(explore.Write))
	ids := map[string]int{}
	ptr := func(p string) int {
		if n, ok := ids[p]; ok {
			return n
		}
		ids[p] = len(ids)
		return ids[p]
	}
	say := func(format string, args ...any) { k.logf("%s: %s", m.Name, fmt.Sprintf(format, args...)) }
	orNull := func(s *Shadow) string {
		if s == nil {
			return "NULL"
		}
		return s.Data
	}
	const id1, id2, nobjs = 0x1234, 0x1235, 3
	ctor := func(sv *Shadow, ctorData string) int {
		sv.Value = ctorData
		say("shadow_ctor: PTR%d -> PTR%d", ptr(sv.Data), ptr(ctorData))
		return 0
	}
	dtor := func(obj string, sv *Shadow) {
		say("shadow_dtor(obj=PTR%d, shadow_data=PTR%d)", ptr(obj), ptr(sv.Data))
	}
	get := func(obj string, id int) *Shadow {
		sv := k.shadowGet(obj, id)
		say("klp_shadow_get(obj=PTR%d, id=0x%x) = PTR%d", ptr(obj), id, ptr(orNull(sv)))
		return sv
	}
	alloc := func(fn string, obj string, id int, data string) *Shadow {
		sv, _ := k.shadowGetOrAlloc(obj, id, ctor, data, fn == "klp_shadow_alloc")
		say("%s(obj=PTR%d, id=0x%x, size=8, gfp_flags=GFP_KERNEL), ctor=PTR%d, ctor_data=PTR%d = PTR%d",
			fn, ptr(obj), id, ptr("shadow_ctor"), ptr(data), ptr(orNull(sv)))
		return sv
	}
	ptr("NULL")
	obj := func(i int) string { return fmt.Sprintf("objs[%d]", i) }
	if get(obj(0), id1) == nil {
		say("  got expected NULL result")
	}
	var sv1, sv2 [nobjs]*Shadow
	for i := 0; i < nobjs; i++ { // pass 1
		f1 := fmt.Sprintf("&nfields1[%d]", i)
		ptr(f1)
		fn := "klp_shadow_get_or_alloc"
		if i%2 == 1 {
			fn = "klp_shadow_alloc"
		}
		if sv1[i] = alloc(fn, obj(i), id1, f1); sv1[i] == nil {
			return ENOMEM
		}
		f2 := fmt.Sprintf("&nfields2[%d]", i)
		ptr(f2)
		if sv2[i] = alloc("klp_shadow_alloc", obj(i), id2, f2); sv2[i] == nil {
			return ENOMEM
		}
	}
	expect := func(sv, want *Shadow) {
		if sv == want {
			say("  got expected PTR%d -> PTR%d result", ptr(want.Data), ptr(want.Value))
		}
	}
	for i := 0; i < nobjs; i++ { // pass 2
		sv := get(obj(i), id1)
		if sv == nil {
			return EINVAL
		}
		expect(sv, sv1[i])
		if sv = get(obj(i), id2); sv == nil {
			return EINVAL
		}
		expect(sv, sv2[i])
	}
	for i := 0; i < nobjs; i++ { // pass 3
		dup := fmt.Sprintf("&nfields1[%d]", i)
		ptr(dup)
		sv := alloc("klp_shadow_get_or_alloc", obj(i), id1, dup)
		if sv == nil {
			return EINVAL
		}
		expect(sv, sv1[i])
	}
	for i := 0; i < nobjs; i++ { // pass 4
		k.shadowFree(obj(i), id1, dtor)
		say("klp_shadow_free(obj=PTR%d, id=0x%x, dtor=PTR%d)", ptr(obj(i)), id1, ptr("shadow_dtor"))
		if get(obj(i), id1) == nil {
			say("  got expected NULL result")
		}
	}
	for i := 0; i < nobjs; i++ { // pass 5
		sv := get(obj(i), id2)
		if sv == nil {
			return EINVAL
		}
		expect(sv, sv2[i])
	}
	k.shadowFreeAll(id2, nil) // pass 6
	say("klp_shadow_free_all(id=0x%x, dtor=PTR%d)", id2, ptr("NULL"))
	for i := 0; i < nobjs; i++ {
		if get(obj(i), id2) == nil {
			say("  got expected NULL result")
		}
	}
	return 0
}

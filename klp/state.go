package klp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// Callback bodies written against the system-state API (kernel/livepatch/
// state.c, Documentation/livepatch/system-state.rst): what a livepatch
// module's callbacks do besides printing the demo line. A body is a list
// of statements run in order:
//
//	[if [!]prev ID:] ACTION     guard: klp_get_prev_state(ID) is (not) NULL
//	[if [!]state ID:] ACTION    guard: klp_get_state(patch, ID) is (not) NULL
//
//	log TEXT     pr_info("<module>: TEXT")
//	return [N]   end the callback (pre_patch returns N, default 0)
//	alloc ID     state->data = kzalloc(…); without the state: return -EINVAL
//	take ID      state->data = klp_get_prev_state(ID)->data (take over)
//	use ID       read and write *state->data (fix or restore the system)
//	free ID      kfree(state->data)
//
// and the shadow variable API (shadow.go), on named objects:
//
//	shadow-alloc OBJ ID    klp_shadow_alloc (the kernel WARNs if <OBJ,ID> exists)
//	shadow-get OBJ ID      klp_shadow_get of a variable the code then uses
//	shadow-free OBJ ID     klp_shadow_free
//	shadow-free-all ID     klp_shadow_free_all
//
// This is enough to write tools/testing/selftests/livepatch/test_modules/
// test_klp_state.c (version 1, no migration) and test_klp_state2.c /
// test_klp_state3.c (version 2, taking over the previous patch's data).
// What the statements do to state data is reported to the monitor
// (StateAccess), which judges its lifetime.

// CallbackBodies are the bodies of an object's four callbacks.
type CallbackBodies struct {
	PrePatch    []string `json:"pre_patch,omitempty"`
	PostPatch   []string `json:"post_patch,omitempty"`
	PreUnpatch  []string `json:"pre_unpatch,omitempty"`
	PostUnpatch []string `json:"post_unpatch,omitempty"`
}

type stmt struct {
	guard   string // "", "prev", "state"
	negate  bool
	guardID int
	action  string // log, return, alloc, take, use, free
	id      int    // state id, or return value
	text    string
}

type bodies [4][]stmt // indexed by callbackIndex

func callbackIndex(cb CallbackKind) int {
	switch cb {
	case PrePatch:
		return 0
	case PostPatch:
		return 1
	case PreUnpatch:
		return 2
	}
	return 3
}

func parseBodies(b *CallbackBodies) (bodies, error) {
	var out bodies
	if b == nil {
		return out, nil
	}
	for i, lines := range [4][]string{b.PrePatch, b.PostPatch, b.PreUnpatch, b.PostUnpatch} {
		field := [...]string{"pre_patch", "post_patch", "pre_unpatch", "post_unpatch"}[i]
		for j, l := range lines {
			s, err := parseStmt(l)
			if err != nil {
				return out, fmt.Errorf(".%s[%d]: %q: %v", field, j, l, err)
			}
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}

func parseStmt(l string) (stmt, error) {
	var s stmt
	rest := strings.TrimSpace(l)
	if g, ok := strings.CutPrefix(rest, "if "); ok {
		cond, action, found := strings.Cut(g, ":")
		if !found {
			return s, fmt.Errorf("a guard ends with ':' before its action")
		}
		f := strings.Fields(cond)
		if len(f) != 2 {
			return s, fmt.Errorf("want `if [!]prev ID:` or `if [!]state ID:`")
		}
		name := f[0]
		if n, ok := strings.CutPrefix(name, "!"); ok {
			s.negate, name = true, n
		}
		if name != "prev" && name != "state" {
			return s, fmt.Errorf("unknown guard %q (want prev or state)", f[0])
		}
		id, err := strconv.Atoi(f[1])
		if err != nil || id < 0 {
			return s, fmt.Errorf("state id %q is not a number ≥ 0", f[1])
		}
		s.guard, s.guardID = name, id
		rest = strings.TrimSpace(action)
	}
	verb, arg, _ := strings.Cut(rest, " ")
	arg = strings.TrimSpace(arg)
	s.action = verb
	switch verb {
	case "log":
		if arg == "" {
			return s, fmt.Errorf("log needs a text")
		}
		s.text = arg
	case "return":
		if arg != "" {
			n, err := strconv.Atoi(arg)
			if err != nil {
				return s, fmt.Errorf("return value %q is not a number", arg)
			}
			s.id = n
		}
	case "shadow-alloc", "shadow-get", "shadow-free":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return s, fmt.Errorf("want %s OBJ ID", verb)
		}
		id, err := strconv.ParseInt(f[1], 0, 64)
		if err != nil || id < 0 {
			return s, fmt.Errorf("shadow id %q is not a number ≥ 0", f[1])
		}
		s.text, s.id = f[0], int(id)
	case "shadow-free-all":
		id, err := strconv.ParseInt(arg, 0, 64)
		if err != nil || id < 0 {
			return s, fmt.Errorf("want shadow-free-all ID")
		}
		s.id = int(id)
	case "alloc", "take", "use", "free":
		id, err := strconv.Atoi(arg)
		if err != nil || id < 0 {
			return s, fmt.Errorf("%s needs a state id ≥ 0", verb)
		}
		s.id = id
	default:
		return s, fmt.Errorf("unknown action %q (want log, return, alloc, take, use, free, shadow-alloc, shadow-get, shadow-free, shadow-free-all)", verb)
	}
	return s, nil
}

// StateAccess is what a callback statement did with state data: Op is
// "klp_get_prev_state" (Transition says whether a transition was in
// progress, as the kernel's WARN_ON_ONCE requires), "alloc", "take",
// "use" or "free"; Data is the buffer (0: NULL) and Freed whether it was
// already freed when accessed.
type StateAccess struct {
	Op         string
	ID         int
	Data       int
	Freed      bool
	Transition bool
}

// StateBuffer is a state data allocation: whether it was freed, and the
// installed patches whose klp_state points at it.
type StateBuffer struct {
	Data   int
	Freed  bool
	Owners []string
}

// StateBuffers reports every state data buffer allocated so far.
func (k *Kernel) StateBuffers() []StateBuffer {
	var out []StateBuffer
	for i, freed := range k.stateFreed {
		b := StateBuffer{Data: i + 1, Freed: freed}
		for _, p := range k.Patches {
			for _, s := range p.States {
				if s.data == i+1 {
					b.Owners = append(b.Owners, p.Name)
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// runBody runs an object's callback body; it returns pre_patch's value.
func (k *Kernel) runBody(t *explore.Thread, o *Object, cb CallbackKind) int {
	body := o.bodies[callbackIndex(cb)]
	p := o.patch
	for _, s := range body {
		switch s.guard {
		case "prev":
			prev := k.getPrevStateChecked(t, o, s.guardID)
			if (prev != nil) == s.negate {
				continue
			}
		case "state":
			if (GetState(p, s.guardID) != nil) == s.negate {
				continue
			}
		}
		switch s.action {
		case "log":
			k.logf("%s: %s", p.Name, s.text)
		case "return":
			return s.id
		case "alloc":
			st := GetState(p, s.id)
			if st == nil {
				return -EINVAL
			}
			k.stateFreed = append(k.stateFreed, false)
			st.data = len(k.stateFreed)
			k.check(t, k.mon.StateAccess(k, o, StateAccess{Op: "alloc", ID: s.id, Data: st.data}))
		case "take":
			st := GetState(p, s.id)
			prev := k.getPrevStateChecked(t, o, s.id)
			if st == nil || prev == nil {
				continue // the modules check both before taking over
			}
			st.data = prev.data
			k.check(t, k.mon.StateAccess(k, o, StateAccess{Op: "take", ID: s.id, Data: st.data, Freed: k.freed(st.data)}))
		case "shadow-alloc", "shadow-get", "shadow-free", "shadow-free-all":
			k.shadowStmt(t, o, s)
		case "use", "free":
			st := GetState(p, s.id)
			if st == nil {
				continue
			}
			k.check(t, k.mon.StateAccess(k, o, StateAccess{Op: s.action, ID: s.id, Data: st.data, Freed: k.freed(st.data)}))
			if s.action == "free" && st.data != 0 {
				k.stateFreed[st.data-1] = true
			}
		}
	}
	return 0
}

func (k *Kernel) freed(data int) bool { return data != 0 && k.stateFreed[data-1] }

// getPrevStateChecked is klp_get_prev_state with its WARN_ON_ONCE(!
// klp_transition_patch) reported to the monitor.
func (k *Kernel) getPrevStateChecked(t *explore.Thread, o *Object, id int) *State {
	if k.transition == nil {
		k.check(t, k.mon.StateAccess(k, o, StateAccess{Op: "klp_get_prev_state", ID: id}))
		return nil
	}
	return k.GetPrevState(id)
}

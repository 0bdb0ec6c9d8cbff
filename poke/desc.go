package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

const (
	// Desc56 is text_poke_bp_batch of v5.6 (1f676247f36a): a descriptor
	// {vec, nr_entries, refs} on the writer's stack, published through the
	// global pointer bp_desc.
	Desc56 Variant = "text_poke_bp_batch-v5.6"
	// Desc60 is efd608fa7403 (v6.0): the descriptor is a static global
	// and the handler does inc_not_zero on its refs directly.
	Desc60 Variant = "text_poke_bp_batch-v6.0"
)

// desc holds struct bp_patching_desc (the body: vec, nr_entries, refs)
// and, for v5.6, the bp_desc pointer (the head) and whether the writer's
// stack frame holding the descriptor is still live.
type desc struct {
	*Poker
	globals
	vec       []Entry
	nr        int
	refs      int32
	onStack   bool // v5.6: published through bp_desc
	published bool // bp_desc != NULL
	frameLive bool
}

func newDesc56(k *Poker, _ int) Instance {
	return &desc{Poker: k, globals: newGlobals(k), onStack: true}
}
func newDesc60(k *Poker, _ int) Instance { return &desc{Poker: k, globals: newGlobals(k)} }

// Writer mirrors text_poke_bp_batch of v5.6 (1f676247f36a): struct
// bp_patching_desc desc = {vec, nr_entries, refs = 1} on the stack;
// smp_store_release(&bp_desc, &desc); the three steps;
// WRITE_ONCE(bp_desc, NULL); drop and wait for the refs; return — after
// which the stack frame is reused. After efd608fa7403 (v6.0) the static
// bp_desc gets vec and nr_entries, then atomic_set_release(&bp_desc.refs,
// 1); the three steps; drop and wait.
func (d *desc) Writer(t *explore.Thread) {
	fill := func() {
		d.vec = append([]Entry(nil), d.Entries()...)
		d.nr, d.refs = len(d.vec), 1
	}
	if !d.onStack {
		d.Step(t, "bp_desc.vec, nr_entries; atomic_set_release(&bp_desc.refs, 1)", explore.W(d.body), fill)
		d.int3Steps(t, d.vec)
		d.dropRefs(t)
		return
	}
	d.Step(t, "desc = {vec, nr_entries, refs = 1} (on the stack)", explore.W(d.body), func() {
		fill()
		d.frameLive = true
	})
	d.Step(t, "smp_store_release(&bp_desc, &desc)", explore.W(d.head), func() { d.published = true })
	d.int3Steps(t, d.vec)
	d.Step(t, "WRITE_ONCE(bp_desc, NULL)", explore.W(d.head), func() { d.published = false })
	d.dropRefs(t)
	d.Step(t, "return: the stack frame holding desc is reused", explore.W(d.body), func() { d.frameLive = false })
}

// dropRefs is "if (!atomic_dec_and_test(&desc->refs))
// atomic_cond_read_acquire(&desc->refs, !VAL);".
func (d *desc) dropRefs(t *explore.Thread) {
	d.Step(t, "atomic_dec_and_test(&desc.refs)", explore.W(d.body), func() { d.refs-- })
	if d.refs != 0 {
		t.Await("atomic_cond_read_acquire(&desc.refs, !VAL)", explore.R(d.body), func() bool { return d.refs == 0 })
		d.NMI(t)
	}
}

// Int3 mirrors poke_int3_handler of v5.6 (try_get_desc:
// READ_ONCE(bp_desc), NULL → not mine, then atomic_inc_not_zero
// (&desc->refs)) and v6.0 (inc_not_zero on the static descriptor); then
// the bsearch (or vec[0]), the emulation and put_desc.
func (d *desc) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	if d.onStack {
		t.Op("int3: try_get_desc: READ_ONCE(bp_desc)", explore.R(d.head))
		if !d.published {
			return false
		}
		t.Op("int3: try_get_desc: atomic_inc_not_zero(&desc->refs)", explore.W(d.body))
		if !d.frameLive {
			d.Machine().ReportHandlerFault(c, "try_get_desc read bp_desc, then the writer returned and its stack frame was reused: atomic_inc_not_zero on the dead frame, the vector is garbage (use after return)")
			return false
		}
	} else {
		t.Op("int3: try_get_desc: atomic_inc_not_zero(&bp_desc.refs)", explore.W(d.body))
	}
	if d.refs == 0 {
		return false
	}
	d.refs++
	tpl := FindEntry(d.vec, d.nr, regs.IP-1)
	handled := tpl != nil && Emulate(d.Machine(), c, tpl, regs)
	t.Op("int3: put_desc: atomic_dec(&desc->refs)", explore.W(d.body))
	d.refs--
	NoteHandled(t, c, regs, handled)
	return handled
}

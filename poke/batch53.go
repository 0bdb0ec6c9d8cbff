package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

const (
	// Batch53 is text_poke_bp_batch of v5.3 (c0213b0ac03c): globals
	// bp_patching.vec and bp_patching.nr_entries, cleared after the last
	// sync as vec = NULL, then nr_entries = 0, with no sync between.
	Batch53 Variant = "text_poke_bp_batch-v5.3"
	// Batch55 is the same with 285a54efe386's teardown: nr_entries = 0,
	// text_poke_sync(), vec = NULL.
	Batch55 Variant = "text_poke_bp_batch-v5.5"
)

// batch53 holds bp_patching of v5.3/v5.5: nr_entries (the head) and the
// vec pointer (the body; vecSet says whether it is set).
type batch53 struct {
	*Poker
	globals
	vec        []Entry
	nr         int
	vecSet     bool
	syncedTear bool // 285a54efe386's teardown (Batch55)
}

func newBatch53(k *Poker, _ int) Instance { return &batch53{Poker: k, globals: newGlobals(k)} }
func newBatch55(k *Poker, _ int) Instance {
	return &batch53{Poker: k, globals: newGlobals(k), syncedTear: true}
}

// Writer mirrors text_poke_bp_batch of v5.3 (c0213b0ac03c):
// bp_patching.vec = tp; bp_patching.nr_entries = n; smp_wmb; the three
// steps; then, relying on sync_core's barrier, "bp_patching.vec = NULL;
// bp_patching.nr_entries = 0;". Batch55 has 285a54efe386's order
// instead: nr_entries = 0; text_poke_sync(); vec = NULL.
func (b *batch53) Writer(t *explore.Thread) {
	n := len(b.Entries())
	b.Step(t, "bp_patching.vec = tp", explore.W(b.body), func() {
		b.vec = append([]Entry(nil), b.Entries()...)
		b.vecSet = true
	})
	b.Step(t, "bp_patching.nr_entries = n", explore.W(b.head), func() { b.nr = n })
	b.int3Steps(t, b.vec)
	if !b.syncedTear {
		b.Step(t, "bp_patching.vec = NULL", explore.W(b.body), func() { b.vecSet = false })
		b.Step(t, "bp_patching.nr_entries = 0", explore.W(b.head), func() { b.nr = 0 })
		return
	}
	b.Step(t, "bp_patching.nr_entries = 0", explore.W(b.head), func() { b.nr = 0 })
	b.Machine().SyncEachCPU(t, b.Machine().CPUs[0], "text_poke_sync", func() { b.NMI(t) })
	b.Step(t, "bp_patching.vec = NULL", explore.W(b.body), func() { b.vecSet = false })
}

// Int3 mirrors poke_int3_handler of v5.3/v5.5: read nr_entries (zero:
// not mine), then use bp_patching.vec: the bsearch (or vec[0]) and the
// emulation.
func (b *batch53) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	t.Op("int3: poke_int3_handler reads bp_patching.nr_entries", explore.R(b.head))
	n := b.nr
	if n == 0 {
		return false
	}
	t.Op("int3: poke_int3_handler reads bp_patching.vec", explore.R(b.body))
	if !b.vecSet {
		b.Machine().ReportHandlerFault(c, fmt.Sprintf("poke_int3_handler read nr_entries = %d, then bp_patching.vec was NULL: NULL pointer dereference", n))
		return false
	}
	tpl := FindEntry(b.vec, n, regs.IP-1)
	handled := tpl != nil && Emulate(b.Machine(), c, tpl, regs)
	NoteHandled(t, c, regs, handled)
	return handled
}

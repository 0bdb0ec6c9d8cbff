package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Flag2013 is text_poke_bp of v3.12–v5.2 (fd4363fff3d9): globals
// bp_patching_in_progress, bp_int3_addr, bp_int3_handler; the handler
// redirects the trapped CPU to bp_int3_handler (the end of the
// instruction: "behave as the old NOP").
const Flag2013 Variant = "text_poke_bp-v3.12"

// flag2013 holds the globals of v3.12's text_poke_bp.
type flag2013 struct {
	*Poker
	globals
	inProgress         bool   // bp_patching_in_progress (head)
	int3Addr, int3Dest uint64 // bp_int3_addr, bp_int3_handler (head)
}

func newFlag2013(k *Poker, _ int) Instance { return &flag2013{Poker: k, globals: newGlobals(k)} }

// Writer runs text_poke_bp for each site in turn.
func (f *flag2013) Writer(t *explore.Thread) {
	for _, e := range f.Entries() {
		f.TextPokeBP(t, e)
	}
}

// TextPokeBP mirrors text_poke_bp of v3.12–v5.2 (fd4363fff3d9,
// arch/x86/kernel/alternative.c): set bp_int3_handler (here the end of the
// instruction, as jump labels passed it), bp_int3_addr and
// bp_patching_in_progress; smp_wmb; int3, sync, tail, sync, first byte,
// sync (the last one is StepSync3); bp_patching_in_progress = false.
func (f *flag2013) TextPokeBP(t *explore.Thread, e Entry) {
	f.Step(t, "bp_patching_in_progress = true", explore.W(f.head), func() {
		f.int3Dest = e.Addr + uint64(e.Len)
		f.int3Addr = e.Addr + 1
		f.inProgress = true
	})
	f.int3Steps(t, []Entry{e})
	f.Step(t, "bp_patching_in_progress = false", explore.W(f.head), func() { f.inProgress = false })
}

// Int3 mirrors poke_int3_handler of v3.12–v5.2: smp_rmb; not mine unless
// bp_patching_in_progress and the trap is at bp_int3_addr; then regs->ip
// = bp_int3_handler.
func (f *flag2013) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	t.Op("int3: poke_int3_handler reads bp_patching_in_progress", explore.R(f.head))
	if !f.inProgress || regs.IP != f.int3Addr {
		if t.Tracing() {
			t.Notef("cpu%d: poke_int3_handler: not mine (in_progress=%v)", c.ID, f.inProgress)
		}
		return false
	}
	regs.IP = f.int3Dest
	if t.Tracing() {
		t.Notef("cpu%d: poke_int3_handler: redirect to bp_int3_handler %#x", c.ID, regs.IP)
	}
	return true
}

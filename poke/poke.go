package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// The current protocol, as in Linux 6.16: text_poke_array and its
// per-CPU refcounts, smp_text_poke_batch_add, smp_text_poke_batch_finish
// and smp_text_poke_int3_handler. This is the file to copy for a change
// of your own (docs/your-change.md).

// BP is the int3 protocol as in Linux 6.16: smp_text_poke_batch_finish
// over a sorted batch (text_poke_bp for a batch of one).
const BP Variant = "text_poke_bp"

// TextPokeArray mirrors the kernel's text_poke_array (the vector and
// nr_entries) and text_poke_array_refs (one refcount per CPU): the state
// of the current protocol in one execution.
type TextPokeArray struct {
	*Poker
	refsObj explore.Obj // text_poke_array_refs[cpu]
	refs    []int32
	descObj explore.Obj // nr_entries, vec[0..capacity)
	nr      int
	vec     []Entry // vec[:nr] is the queue; len(vec) is TEXT_POKE_ARRAY_MAX
	// drainAt is the CPU whose reference the writer's drain loop is
	// dropping (-1 before the loop, len(refs) after): kept for the state
	// digest, which must tie each CPU to where the loop stands.
	drainAt int
}

// NewTextPokeArray allocates text_poke_array with room for capacity
// entries (at least one) and its refcounts, all zero, on k's machine.
func NewTextPokeArray(k *Poker, capacity int) *TextPokeArray {
	m := k.Machine()
	a := &TextPokeArray{Poker: k, drainAt: -1}
	a.refsObj = m.S.Objects("text_poke_array_refs", len(m.CPUs))
	a.refs = make([]int32, len(m.CPUs))
	capacity = max(capacity, 1)
	a.descObj = m.S.Objects("text_poke_array", 1+capacity)
	a.vec = make([]Entry, capacity)
	return a
}

// newTextPokeArray is BP's state: the batch queued (the input state of
// smp_text_poke_batch_finish: vec filled, nr_entries set).
func newTextPokeArray(k *Poker, capacity int) Instance {
	a := NewTextPokeArray(k, max(len(k.Entries()), capacity))
	a.nr = copy(a.vec, k.Entries())
	return a
}

// Writer runs the queued batch.
func (a *TextPokeArray) Writer(t *explore.Thread) { a.BatchFinish(t) }

// NrEntries returns text_poke_array.nr_entries (for checks).
func (a *TextPokeArray) NrEntries() int { return a.nr }

// BatchAdd mirrors smp_text_poke_batch_add: the vector must stay sorted
// by address and within its capacity, so it first runs the queued batch
// (BatchFinish) when it is full or when e's address is below the last
// queued one (text_poke_addr_ordered); then __smp_text_poke_batch_add
// appends e (one operation writing the vector).
func (a *TextPokeArray) BatchAdd(t *explore.Thread, e Entry) {
	if a.nr == len(a.vec) || (a.nr > 0 && a.vec[a.nr-1].Addr > e.Addr) {
		a.BatchFinish(t)
	}
	a.Step(t, "smp_text_poke_batch_add", explore.WRange(a.descObj, 1+len(a.vec)), func() {
		a.vec[a.nr] = e
		a.nr++
	})
}

// TextPokeBP mirrors smp_text_poke_single (formerly text_poke_bp) as fixed
// in June 2025: it goes through the checked add, then runs the batch.
func (a *TextPokeArray) TextPokeBP(t *explore.Thread, e Entry) {
	a.BatchAdd(t, e)
	a.BatchFinish(t)
}

// BatchFinish mirrors smp_text_poke_batch_finish (6.16), step by step:
// modify multi-byte instructions by using INT3 breakpoints on SMP, with
// the synchronization done by INT3s and SMP cross-calls.
func (a *TextPokeArray) BatchFinish(t *explore.Thread) {
	if a.nr == 0 {
		return
	}
	vec := a.vec[:a.nr]
	// Corresponds to the implicit memory barrier in
	// try_get_text_poke_array() to ensure reading a non-zero refcount
	// provides up to date text_poke_array data.
	if a.Enabled(StepRefsSet) {
		a.Step(t, StepRefsSet, explore.WRange(a.refsObj, len(a.refs)), func() {
			for cpu := range a.refs {
				a.refs[cpu] = 1 // atomic_set_release
			}
		})
	}
	// cond_resched(); smp_wmb(): no effect in the model, whose memory is
	// sequentially consistent.

	// First step: add an INT3 trap to the address that will be patched.
	a.PokeInt3s(t, vec)
	a.Sync(t, StepSync1)

	// Second step: update all but the first byte of the patched range.
	if a.PokeTails(t, vec) {
		// According to Intel, this core syncing is very likely not
		// necessary and we'd be safe even without it. But better safe
		// than sorry (plus there's not only Intel).
		a.Sync(t, StepSync2)
	}

	// Third step: replace the first byte (INT3) by the first byte of the
	// replacing opcode.
	if a.PokeFirstBytes(t, vec) {
		a.Sync(t, StepSync3)
	}

	// Remove and wait for refs to be zero. (If the third step removed
	// the INT3, its sync serialized against any running handler and the
	// wait does not happen: "unless the replacement instruction is INT3,
	// this case goes unused".)
	m := a.Machine()
	for cpu := range a.refs {
		a.drainAt = cpu
		ref := a.refsObj + explore.Obj(cpu)
		t.Op("refs-drain: atomic_dec_and_test", explore.W(ref))
		m.SetWriterStep(t, StepRefsDrain)
		a.refs[cpu]--
		a.NMI(t)
		if a.refs[cpu] != 0 && a.Enabled(StepRefsDrain) {
			t.Await("refs-drain: wait for refs == 0", explore.R(ref), func() bool { return a.refs[cpu] == 0 })
			a.NMI(t)
		}
	}

	a.drainAt = len(a.refs)

	// They are all completed.
	a.Step(t, "nr_entries = 0", explore.W(a.descObj), func() { a.nr = 0 })
}

// Int3 mirrors smp_text_poke_int3_handler: it takes this CPU's reference
// (try_get_text_poke_array), finds the trapping address in the vector
// (bsearch when it has more than one entry), emulates the entry's
// instruction and drops the reference. It returns false ("not mine") when
// it gets no reference, finds no entry, or the entry is an INT3.
func (a *TextPokeArray) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	m := a.Machine()
	// user_mode(regs): the model traps only in kernel text.
	// smp_rmb(): pairs with the writer's smp_wmb; no effect in the model.
	ref := a.refsObj + explore.Obj(c.ID)
	t.Op("int3: try_get_text_poke_array", explore.W(ref))
	if a.refs[c.ID] == 0 { // raw_atomic_inc_not_zero failed
		return false
	}
	a.refs[c.ID]++
	ip := regs.IP - 1 // discount the INT3
	t.Op("int3: search text_poke_array", explore.RRange(a.descObj, 1+len(a.vec)))
	if a.nr == 0 {
		m.ReportHandlerFault(c, "the handler holds a reference but text_poke_array was already cleared (nr_entries = 0): it reads a stale vec[0]")
	}
	tpl := FindEntry(a.vec, a.nr, ip)
	handled := tpl != nil && Emulate(m, c, tpl, regs)
	t.Op("int3: put_text_poke_array", explore.W(ref))
	a.refs[c.ID]--
	NoteHandled(t, c, regs, handled)
	return handled
}

// Emulate is the int3 handlers' switch on the entry's opcode: nothing for
// an explicit INT3 (someone else's, not consumed), int3_emulate_ret,
// int3_emulate_call, int3_emulate_jmp. Jcc entries never get here
// (NewEntry refuses them: the model has no EFLAGS for int3_emulate_jcc);
// anything else is the kernel's BUG(), reported as a handler fault.
func Emulate(m *model.Machine, c *model.CPU, tpl *Entry, regs *model.Regs) bool {
	next := tpl.Addr + uint64(tpl.Len)
	switch tpl.Opcode {
	case INT3Opcode:
		return false
	case RETOpcode:
		regs.IP = regs.Pop()
	case CALLOpcode:
		regs.Push(next)
		regs.IP = next + uint64(int64(tpl.Disp))
	case JMP32Opcode, JMP8Opcode:
		regs.IP = next + uint64(int64(tpl.Disp))
	default:
		m.ReportHandlerFault(c, fmt.Sprintf("BUG(): the vector entry at %#x has opcode %#02x, which the handler cannot emulate", tpl.Addr, tpl.Opcode))
		return false
	}
	regs.Emulated = true
	return true
}

// NoteHandled narrates an int3 handler's answer for rendered traces.
func NoteHandled(t *explore.Thread, c *model.CPU, regs *model.Regs, handled bool) {
	if !t.Tracing() {
		return
	}
	if handled {
		t.Notef("cpu%d: int3 handler: emulated, continue at %#x", c.ID, regs.IP)
	} else {
		t.Notef("cpu%d: int3 handler: not mine", c.ID)
	}
}

// FindEntry finds the entry for a trapped address in vec[0..n): the
// handler's __inline_bsearch when the vector has more than one entry, a
// single comparison with vec[0] otherwise (as smp_text_poke_int3_handler
// does). It returns nil when the int3 is not one of ours.
func FindEntry(vec []Entry, n int, ip uint64) *Entry {
	if n > 1 {
		lo, hi := 0, n
		for lo < hi {
			mid := (lo + hi) / 2
			switch a := vec[mid].Addr; {
			case ip < a:
				hi = mid
			case ip > a:
				lo = mid + 1
			default:
				return &vec[mid]
			}
		}
		return nil
	}
	if vec[0].Addr == ip {
		return &vec[0]
	}
	return nil
}

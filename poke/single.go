package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// jump_label's use of the 2025 API (queue / single / apply), before and
// after 2aebf5ee43bf.
const (
	// Single2025 is jump_label's queue / single / apply after
	// c8976ade0c1b (2025): smp_text_poke_single appends to the shared
	// text_poke_array without the ordering and capacity checks.
	Single2025 Variant = "smp_text_poke_single-c8976ade0c1b"
	// SingleChecked is the same sequence after 2aebf5ee43bf (June 2025):
	// smp_text_poke_single goes through the checked add.
	SingleChecked Variant = "smp_text_poke_single-2aebf5ee43bf"
)

// single is the current text_poke_array, empty at the start (the sites
// go through the adds), and which smp_text_poke_single the kernel had.
type single struct {
	*TextPokeArray
	checked bool
}

func newSingle(k *Poker, capacity int, checked bool) *single {
	if capacity == 0 {
		capacity = len(k.Entries())
	}
	return &single{TextPokeArray: NewTextPokeArray(k, capacity), checked: checked}
}

func newSingle2025(k *Poker, capacity int) Instance    { return newSingle(k, capacity, false) }
func newSingleChecked(k *Poker, capacity int) Instance { return newSingle(k, capacity, true) }

// Writer mirrors jump_label's use of the 2025 API from one writer taking
// text_mutex separately for each call: arch_jump_label_transform_queue
// for every site but the lowest (smp_text_poke_batch_add), then a
// smp_text_poke_single of the lowest site — below the queued ones — and
// arch_jump_label_transform_apply (smp_text_poke_batch_finish).
// Single2025 has c8976ade0c1b's single (SinglePokeUnchecked);
// SingleChecked has 2aebf5ee43bf's (TextPokeBP).
func (s *single) Writer(t *explore.Thread) {
	es := s.Entries()
	for _, e := range es[1:] {
		s.BatchAdd(t, e)
	}
	if s.checked {
		s.TextPokeBP(t, es[0])
	} else if !s.SinglePokeUnchecked(t, es[0]) {
		return
	}
	s.BatchFinish(t)
}

// SinglePokeUnchecked mirrors smp_text_poke_single after c8976ade0c1b:
// tp = &text_poke_array.vec[text_poke_array.nr_entries++]; init it; then
// smp_text_poke_batch_finish(). Appending below a queued address leaves
// the vector unsorted; appending to a full vector writes past vec[]
// over nr_entries (a handler-memory fault reported for the writer: the
// batch and every int3 handler then walk a garbage vector). It returns
// false after an overflow.
func (s *single) SinglePokeUnchecked(t *explore.Thread, e Entry) bool {
	m := s.Machine()
	t.Op("smp_text_poke_single: vec[nr_entries++] (unchecked)", explore.WRange(s.descObj, 1+len(s.vec)))
	m.SetWriterStep(t, "smp_text_poke_single")
	if s.nr == len(s.vec) {
		m.ReportWriterFault(fmt.Sprintf("smp_text_poke_single wrote vec[%d] past text_poke_array.vec[TEXT_POKE_ARRAY_MAX = %d]: the entry for %#x overwrote nr_entries, and the batch and its int3 handler walk a garbage vector", s.nr, len(s.vec), e.Addr))
		return false
	}
	s.vec[s.nr] = e
	s.nr++
	s.NMI(t)
	s.BatchFinish(t)
	return true
}

package poke

import "github.com/klpcheck/klpcheck/explore"

// The naive writers: what a live system must not do.
const (
	// NaiveCopy writes the new bytes with text_poke_early's memcpy on a
	// live system: one byte store at a time, no int3, no sync.
	NaiveCopy Variant = "naive-copy"
	// NaiveAtomic writes each site with text_poke as one atomic store
	// (aligned, within 8 bytes), no int3, no sync.
	NaiveAtomic Variant = "naive-atomic"
)

// idle is the kernel's text_poke_array as a naive writer leaves it:
// empty, every refcount zero, so that its int3 handler (which every
// int3 reaches, an unrelated kprobe's too) says "not mine".
func idle(k *Poker, capacity int) *TextPokeArray {
	return NewTextPokeArray(k, max(len(k.Entries()), capacity))
}

type naiveCopy struct{ *TextPokeArray }

func newNaiveCopy(k *Poker, capacity int) Instance { return naiveCopy{idle(k, capacity)} }

// Writer mirrors text_poke_early on each site: memcpy (one byte store at
// a time, ascending) with interrupts off, then sync_core on the local
// CPU. It is correct only when no other CPU can execute the bytes.
func (n naiveCopy) Writer(t *explore.Thread) {
	for _, e := range n.Entries() {
		n.Memcpy(t, "text_poke_early", e.Addr, e.Text)
	}
}

type naiveAtomic struct{ *TextPokeArray }

func newNaiveAtomic(k *Poker, capacity int) Instance { return naiveAtomic{idle(k, capacity)} }

// Writer is one text_poke per site (atomicSite checked that each can be
// one store).
func (n naiveAtomic) Writer(t *explore.Thread) {
	for _, e := range n.Entries() {
		if err := n.TextPoke(t, e.Addr, e.Text); err != nil {
			panic(err) // atomicSite checked it
		}
	}
}

package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// State digests for the engine's stateful search (model/digest.go says
// what a digest must capture). The current protocol's state is the batch
// (nr_entries and the vector, each entry's saved first byte included) and
// each CPU's reference count; the writer's own state is its path
// (explore.Thread.StateFromPath): it keeps nothing it read in a local
// but the refcount it tested, which only decides whether it waits.

// StatefulCheck says whether the variant declares its state: the current
// protocol and the naive writers do; the historical generations keep
// state of their own (history.go) that no digest covers yet, so the
// stateful search refuses them rather than merge states that differ.
func StatefulCheck(v Variant) error {
	switch v {
	case BP, NaiveCopy, NaiveAtomic:
		return nil
	}
	return fmt.Errorf("variant %q declares no state digest for the stateful strategy (supported: %s, %s, %s)", v, BP, NaiveCopy, NaiveAtomic)
}

// Digest adds the batch to d.
func (k *Poker) Digest(d *explore.Digest) {
	d.Int(k.nr)
	d.Int(len(k.vec))
	for i := range k.vec {
		e := &k.vec[i]
		d.Word(e.Addr)
		d.Int(e.Len)
		d.Word(uint64(e.Opcode))
		d.Word(uint64(uint32(e.Disp)))
		d.Bytes(e.Text)
		d.Word(uint64(e.Old))
	}
}

// CPUDigest adds CPU cpu's share of the protocol's state: its reference
// count (per CPU, so that identical executors stay interchangeable).
func (k *Poker) CPUDigest(cpu int, d *explore.Digest) { d.Word(uint64(uint32(k.refs[cpu]))) }

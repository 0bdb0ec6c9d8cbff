package poke

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// State digests for the engine's stateful search (model/digest.go says
// what a digest must capture). The current protocol's state is
// text_poke_array (nr_entries and the vector, each entry's saved first
// byte included) and each CPU's reference count; the writer's own state
// is its path (explore.Thread.StateFromPath): it keeps nothing it read in
// a local that its path does not determine (the refcount it tests only
// decides whether it waits, which its next label says). The naive
// writers keep no state beyond their path.

// StateDigester is what a Stateful variant's instance implements: its
// shared state, and one CPU's share of it (kept apart so identical
// executor CPUs stay interchangeable).
type StateDigester interface {
	Digest(d *explore.Digest)
	CPUDigest(cpu int, d *explore.Digest)
}

// StatefulCheck says whether the variant declares its state (the table's
// Stateful field); the others keep state no digest covers yet, so the
// stateful search refuses them rather than merge states that differ.
func StatefulCheck(v Variant) error {
	if p := Lookup(v); p != nil && p.Stateful {
		return nil
	}
	var names []string
	for _, p := range protocols {
		if p.Stateful {
			names = append(names, string(p.Name))
		}
	}
	return fmt.Errorf("variant %q declares no state digest for the stateful strategy (supported: %s)", v, strings.Join(names, ", "))
}

// StateDigester returns the installed instance's digests, or nil if its
// variant is not Stateful.
func (k *Poker) StateDigester() StateDigester {
	if !k.patch.protocol.Stateful {
		return nil
	}
	sd, _ := k.inst.(StateDigester)
	return sd
}

// Digest adds text_poke_array to d.
func (a *TextPokeArray) Digest(d *explore.Digest) {
	d.Int(a.nr)
	d.Int(len(a.vec))
	for i := range a.vec {
		e := &a.vec[i]
		d.Word(e.Addr)
		d.Int(e.Len)
		d.Word(uint64(e.Opcode))
		d.Word(uint64(uint32(e.Disp)))
		d.Bytes(e.Text)
		d.Word(uint64(e.Old))
	}
}

// CPUDigest adds CPU cpu's reference count and where the writer's drain
// loop stands relative to it (before, at or past it): the loop visits
// CPUs in id order, which symmetric executors must not lose.
func (a *TextPokeArray) CPUDigest(cpu int, d *explore.Digest) {
	d.Word(uint64(uint32(a.refs[cpu])))
	d.Int(cmp.Compare(cpu, a.drainAt))
}

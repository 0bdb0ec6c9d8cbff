// Package props is klpcheck's property catalog: each property is a value
// {ID, Meaning, Check} in its kind's table (X86Properties,
// FixedProperties, LivepatchProperties), and Install registers a table's
// checks on one execution, minus the properties a scenario ignores. A
// check reads the state of a model (the x86 machine, the cmodx machine,
// the livepatch world) and turns what it recorded into a violation
// message a kernel developer reads without reading Go.
//
// props reads model state and never drives it: checks are explore
// invariants and end checks over what the model and the protocol code
// recorded; they start no threads and take no scheduling points. It must
// not know the scenario format (catalog) or the CLI.
// x86 properties live in x86*.go, fixed-size ISA ones in arm64.go,
// livepatch ones in livepatch*.go.
package props

import (
	"slices"

	"github.com/klpcheck/klpcheck/explore"
)

// Property is an entry of a kind's property table. M is the model state
// its check reads (*model.Machine, *cmodx.Machine, *klp.Kernel).
type Property[M any] struct {
	ID      string
	Meaning string
	// Check returns the property's checks on one execution of m. Nil
	// when something else judges it — the engine (deadlock), a
	// quiescence judge (sync-completes) or the livepatch monitor's
	// events — and Install cannot leave it out (a kind rejects an
	// ignore list naming it).
	Check func(m M) Check
}

// Check is how one property judges one execution. Each returns the
// violation message a developer reads, "" while the property holds;
// Install makes it a failure of the property.
type Check struct {
	// Step runs after every step (an explore.Sticky invariant): it may
	// only read records that are made once and never retracted.
	Step func() string
	// End runs when the execution ends (explore.System.AtEnd).
	End func() string
}

// record is the Check of a property judged on one sticky record of the
// machine: msg explains the record, or returns "" while there is none.
func record[M any](msg func(m M) string) func(M) Check {
	return func(m M) Check { return Check{Step: func() string { return msg(m) }} }
}

// Install registers table's checks on an execution of m, except those
// of the properties in ignore: the Step checks as one sticky invariant
// named name, run in table order (so when two properties fail at one
// step the earlier entry is reported), then each End check.
func Install[M any](s *explore.System, name string, table []Property[M], m M, ignore []string) {
	type step struct {
		id    string
		check func() string
	}
	var steps []step
	for _, p := range table {
		if p.Check == nil || slices.Contains(ignore, p.ID) {
			continue
		}
		c := p.Check(m)
		if c.Step != nil {
			steps = append(steps, step{p.ID, c.Step})
		}
		if c.End != nil {
			s.AtEnd(p.ID, func() error { return fail(p.ID, c.End()) })
		}
	}
	s.Sticky(name, func() error {
		for _, st := range steps {
			if err := fail(st.id, st.check()); err != nil {
				return err
			}
		}
		return nil
	})
}

// IDs lists a table's property ids in order.
func IDs[M any](table []Property[M]) []string {
	ids := make([]string, len(table))
	for i, p := range table {
		ids[i] = p.ID
	}
	return ids
}

// Lookup returns the meaning of the property id in table, or "".
func Lookup[M any](table []Property[M], id string) string {
	for _, p := range table {
		if p.ID == id {
			return p.Meaning
		}
	}
	return ""
}

// Meaning returns the one-line meaning of an x86 or livepatch property,
// or "" if the id is unknown (fixed-ISA ids: FixedMeaning).
func Meaning(id string) string {
	if m := Lookup(X86Properties, id); m != "" {
		return m
	}
	return Lookup(LivepatchProperties, id)
}

// fail is the violation of property id that msg explains, judged on the
// whole machine (no thread); nil when msg is "".
func fail(id, msg string) error {
	if msg == "" {
		return nil
	}
	return &explore.Failure{Property: id, Message: msg, Thread: -1}
}

// Property ids shared by several kinds' tables.
const (
	TornDecode = "torn-decode"
	FinalText  = "final-text"
	Deadlock   = "deadlock"
)

// deadlockMeaning is the engine's own property, in every table.
const deadlockMeaning = "some thread can always proceed"

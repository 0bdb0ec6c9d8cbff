package explore

import (
	"fmt"
	"testing"
)

// The end of the world (the step that finishes the last non-daemon thread)
// disables every daemon, so it is dependent on every daemon operation. An
// engine that treats it as independent reports safe after one execution
// in each of these programs, which plain enumeration finds failing.
func TestDaemonEndOfWorld(t *testing.T) {
	cases := []struct {
		name string
		prog Program
	}{
		{"daemon fails", func(s *System) {
			x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
			s.Go("main", func(t *Thread) { x.Store(t, 1) })
			s.Daemon("d", func(t *Thread) { y.Store(t, 1); t.Fail("daemon-ran", "the daemon ran") })
		}},
		{"AtEnd reads y", func(s *System) {
			x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
			s.Go("main", func(t *Thread) { x.Store(t, 1) })
			s.Daemon("d", func(t *Thread) { y.Store(t, 1) })
			s.AtEnd("y-unset", func() error {
				if y.Peek() != 0 {
					return fmt.Errorf("y = %d", y.Peek())
				}
				return nil
			})
		}},
		{"invariant over y", func(s *System) {
			x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
			s.Go("main", func(t *Thread) { x.Store(t, 1) })
			s.Daemon("d", func(t *Thread) { y.Store(t, 1) })
			s.InvariantOver("y-unset", R(y.Obj()), func() error {
				if y.Peek() != 0 {
					return fmt.Errorf("y = %d", y.Peek())
				}
				return nil
			})
		}},
		// The daemon's first step ran, the second was cut off by the end:
		// AtEnd must also see y == 1 (end between the two daemon steps).
		{"end between daemon steps", func(s *System) {
			x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
			s.Go("main", func(t *Thread) { x.Store(t, 1) })
			s.Daemon("d", func(t *Thread) { y.Store(t, 1); y.Store(t, 2) })
			s.AtEnd("y-not-1", func() error {
				if y.Peek() == 1 {
					return fmt.Errorf("y = 1")
				}
				return nil
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, st := range []Strategy{Exhaustive, DPOR, Bounded} {
				res := Explore(c.prog, Options{Strategy: st})
				if res.Verdict != Violation {
					t.Errorf("%s: %s after %d executions, want a violation", st, res.Verdict, res.Stats.Executions)
				}
			}
		})
	}
}

// MaxExecutions bounds a split search too.
func TestSplitBudget(t *testing.T) {
	prog := Writers(8)
	for _, w := range []int{1, 2} {
		res := Explore(prog, Options{SplitDepth: 3, Workers: w, MaxExecutions: 1000})
		if res.Verdict != Incomplete || res.Stats.Executions > 1000 {
			t.Errorf("workers %d: %s after %d executions, want incomplete within the budget of 1000", w, res.Verdict, res.Stats.Executions)
		}
	}
}

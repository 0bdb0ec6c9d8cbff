package explore

import (
	"fmt"
	"testing"
)

// A daemon keeps running after the last non-daemon thread finished, until
// it blocks. The engine that ended the world at that step (and treated
// that end as independent of daemon operations) reported safe after one
// execution of each of these programs, which plain enumeration finds
// failing.
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

// The world settles before AtEnd checks run: a daemon woken by the last
// step of the main thread still runs; one that waits forever is no
// deadlock. An engine that ended the world when main finished would
// report y == 0.
func TestDaemonRunsUntilItBlocks(t *testing.T) {
	prog := func(s *System) {
		x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
		s.Go("main", func(t *Thread) { x.Store(t, 1) })
		s.Daemon("d", func(t *Thread) {
			x.Await(t, "x == 1", func(v int) bool { return v == 1 })
			y.Store(t, 1)
			x.Await(t, "never", func(v int) bool { return v == 2 })
		})
		s.AtEnd("y-set", func() error {
			if y.Peek() != 1 {
				return fmt.Errorf("y = %d", y.Peek())
			}
			return nil
		})
	}
	for _, st := range []Strategy{Exhaustive, DPOR, optimalDPOR, Bounded} {
		if res := Explore(prog, Options{Strategy: st}); res.Verdict != Safe {
			t.Errorf("%s: %s (%v), want safe", st, res.Verdict, res.Failure)
		}
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

// TestThreadExit: Exit ends the thread where it stands (deferred calls
// run, nothing after it does), the thread counts as finished, and the
// other threads go on.
func TestThreadExit(t *testing.T) {
	var after, deferred, other bool
	prog := func(s *System) {
		after, deferred, other = false, false, false
		x := NewVar(s, "x", 0)
		s.Go("exits", func(t *Thread) {
			defer func() { deferred = true }()
			x.Store(t, 1)
			t.Exit()
			after = true
		})
		s.Go("other", func(t *Thread) {
			x.Store(t, 2)
			other = true
		})
		s.AtEnd("exited", func() error {
			if after || !deferred || !other || !s.Threads()[0].Done() {
				return fmt.Errorf("after=%v deferred=%v other=%v done=%v", after, deferred, other, s.Threads()[0].Done())
			}
			return nil
		})
	}
	for _, st := range []Strategy{DPOR, Exhaustive} {
		if r := Explore(prog, Options{Strategy: st}); r.Verdict != Safe {
			t.Fatalf("%s: %s %v", st, r.Verdict, r.Failure)
		}
	}
}

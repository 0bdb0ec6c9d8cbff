package explore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func factorial(n int) int {
	if n <= 1 {
		return 1
	}
	return n * factorial(n-1)
}

// TestClassicCounts checks DPOR's executions on the classic benchmarks
// against the number of Mazurkiewicz traces, counted independently by
// plain enumeration with canonical trace keys (and, where known, by
// formula): optimal DPOR runs exactly one execution per trace.
func TestClassicCounts(t *testing.T) {
	cases := []struct {
		name    string
		prog    Program
		formula int // known number of traces, 0 if none
	}{
		{"independent(3)", Independent(3), 1},
		{"writers(3)", Writers(3), factorial(3)},
		{"writers(4)", Writers(4), factorial(4)},
		{"readers(3)", Readers(3), 1 << 3},
		{"readers(5)", Readers(5), 1 << 5},
		{"lastzero(3)", LastZero(3), 0},
		{"lastzero(4)", LastZero(4), 0},
		{"readers(6)", Readers(6), 1 << 6},
		{"fib_bench(2)", FibBench(2), 0},
		{"lost-update", LostUpdate(), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			traces, plain := countTraces(c.prog, 1000)
			if c.formula != 0 && traces != c.formula {
				t.Fatalf("enumeration counts %d traces, the formula %d", traces, c.formula)
			}
			res := Explore(c.prog, Options{})
			complete := res.Stats.Executions - res.Stats.Pruned
			if res.Verdict == Violation {
				return // lost-update stops at its first counterexample
			}
			if int(complete) != traces {
				t.Fatalf("DPOR completed %d executions for %d traces (%d pruned)", complete, traces, res.Stats.Pruned)
			}
			// Optimal DPOR (experimental): no sleep-set-blocked
			// executions either.
			opt := Explore(c.prog, Options{Strategy: optimalDPOR})
			if opt.Stats.Executions != int64(traces) || opt.Stats.Pruned != 0 {
				t.Errorf("optimal DPOR: %d executions (%d blocked) for %d traces", opt.Stats.Executions, opt.Stats.Pruned, traces)
			}
			t.Logf("traces %d; DPOR %d complete + %d sleep-set blocked (%.2f per trace); plain enumeration %d (%.1f per trace)",
				traces, complete, res.Stats.Pruned, float64(res.Stats.Executions)/float64(traces), plain, float64(plain)/float64(traces))
		})
	}
}

// TestOptimalCounts checks the experimental optimal DPOR on benchmarks too large for
// plain enumeration: the traces are counted as the distinct canonical
// trace keys of source-set DPOR's complete executions (a different
// algorithm, with its own sleep-set-blocked executions), and optimal DPOR
// must complete exactly one execution per trace, with no sleep-set-blocked
// ones where no operation blocks. With locks (filesystem) a reversal can
// end in a lock that is still held, so some executions are blocked: they
// are reported, and bounded.
func TestOptimalCounts(t *testing.T) {
	cases := []struct {
		name       string
		prog       Program
		maxBlocked int64
	}{
		{"lastzero(8)", LastZero(8), 0},
		{"indexer(13)", Indexer(13), 0},
		{"fib_bench(3)", FibBench(3), 0},
		{"filesystem(4)", Filesystem(4), 6},
		{"filesystem(6)", Filesystem(6), 28},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := map[uint64]bool{}
			_, ssb := visitAll(c.prog, modeSource, 1000, func(ex *execution, _ outcome) { seen[traceKey(ex)] = true })
			res := Explore(c.prog, Options{Strategy: optimalDPOR})
			complete := res.Stats.Executions - res.Stats.Pruned
			if res.Verdict != Safe || complete != int64(len(seen)) || res.Stats.Pruned > c.maxBlocked {
				t.Fatalf("%s: optimal DPOR %d complete executions (%d blocked, at most %d expected) for %d traces",
					res.Verdict, complete, res.Stats.Pruned, c.maxBlocked, len(seen))
			}
			t.Logf("traces %d; optimal DPOR %d complete, %d blocked; source DPOR %d blocked", len(seen), complete, res.Stats.Pruned, ssb)
		})
	}
}

// TestLargeCounts checks the counts that are too big to enumerate.
func TestLargeCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		prog Program
		want int64
	}{
		{"independent(8)", Independent(8), 1},
		{"writers(6)", Writers(6), int64(factorial(6))},
		{"readers(10)", Readers(10), 1 << 10},
	} {
		res := Explore(c.prog, Options{})
		if got := res.Stats.Executions - res.Stats.Pruned; got != c.want || res.Verdict != Safe {
			t.Errorf("%s: %s with %d complete executions, want safe with %d", c.name, res.Verdict, got, c.want)
		}
	}
}

func TestIndexer(t *testing.T) {
	for _, n := range []int{11, 12} {
		res := Explore(Indexer(n), Options{})
		if res.Verdict != Safe {
			t.Fatalf("indexer(%d): %s", n, res.Verdict)
		}
		t.Logf("indexer(%d): %d executions, %d sleep-set blocked", n, res.Stats.Executions, res.Stats.Pruned)
		if n == 11 && res.Stats.Executions != 1 {
			t.Errorf("indexer(11) has no collisions, so one trace; DPOR ran %d executions", res.Stats.Executions)
		}
	}
}

func TestLostUpdate(t *testing.T) {
	for _, st := range []Strategy{DPOR, Exhaustive, Bounded} {
		res := Explore(LostUpdate(), Options{Strategy: st})
		if res.Verdict != Violation || res.Failure.Property != "lost-update" {
			t.Fatalf("%s: %s %v", st, res.Verdict, res.Failure)
		}
		if res.Preemptions != 1 {
			t.Errorf("%s: counterexample with %d preemptions, want 1", st, res.Preemptions)
		}
		rec, err := Replay(LostUpdate(), res.Schedule, ReplayOptions{})
		if err != nil || rec.Failure == nil || rec.Failure.Message != res.Failure.Message {
			t.Fatalf("%s: replay: %v %v", st, err, rec.Failure)
		}
	}
}

func TestPeterson(t *testing.T) {
	Check(t, Peterson(true), Options{})
	Check(t, Peterson(true), Options{Strategy: Exhaustive})
	for _, st := range []Strategy{DPOR, Bounded} {
		res := Explore(Peterson(false), Options{Strategy: st})
		if res.Verdict != Violation || res.Failure.Property != "mutual-exclusion" {
			t.Fatalf("%s: broken Peterson: %s %v", st, res.Verdict, res.Failure)
		}
		if st == Bounded && res.Preemptions != 1 {
			t.Errorf("bounded: %d preemptions, want the minimal 1", res.Preemptions)
		}
	}
}

func TestLockInversion(t *testing.T) {
	res := Explore(LockInversion(), Options{})
	if res.Verdict != Violation || res.Failure.Property != "deadlock" {
		t.Fatalf("%s %v", res.Verdict, res.Failure)
	}
	msg := res.Failure.Message
	if !strings.Contains(msg, `ab at "lock B"`) || !strings.Contains(msg, `ba at "lock A"`) {
		t.Errorf("the deadlock message must name both blocked operations: %s", msg)
	}
}

func TestPanicIsAViolation(t *testing.T) {
	prog := func(s *System) {
		x := NewVar(s, "x", 0)
		s.Go("a", func(t *Thread) { x.Store(t, 1) })
		s.Go("b", func(t *Thread) {
			if x.Load(t) == 1 {
				var m map[string]int
				m["boom"] = 1 // nil map write panics
			}
		})
	}
	res := Explore(prog, Options{})
	if res.Verdict != Violation || res.Failure.Property != "panic" || !strings.Contains(res.Failure.Message, "assignment to entry in nil map") {
		t.Fatalf("%s %+v", res.Verdict, res.Failure)
	}
	rec, err := Replay(prog, res.Schedule, ReplayOptions{})
	if err != nil || rec.Failure == nil || rec.Failure.Property != "panic" {
		t.Fatalf("replay: %v %+v", err, rec)
	}
}

func TestSetupPanic(t *testing.T) {
	res := Explore(func(s *System) { panic("bad setup") }, Options{})
	if res.Verdict != Violation || !strings.Contains(res.Failure.Message, "bad setup") {
		t.Fatalf("%s %+v", res.Verdict, res.Failure)
	}
}

func TestStepBound(t *testing.T) {
	prog := func(s *System) {
		x := NewVar(s, "x", 0)
		s.Go("spin", func(t *Thread) {
			for x.Load(t) == 0 { // a polling loop, not an Await
			}
		})
	}
	res := Explore(prog, Options{MaxSteps: 50})
	if res.Verdict != Incomplete || res.Stats.Truncated == 0 || !strings.Contains(res.Reason, "50-step bound") {
		t.Fatalf("%s %q %+v", res.Verdict, res.Reason, res.Stats)
	}
}

// TestStepBoundKeepsPendingRaces: an execution cut by the step bound
// still races its pending operations with the events before them, so
// DPOR finds a failure that lies within the bound in another order (here
// b's read before a's write, one step) although the first execution,
// a's five steps, was cut before b ran.
func TestStepBoundKeepsPendingRaces(t *testing.T) {
	prog := func(s *System) {
		x := NewVar(s, "x", 0)
		s.Go("a", func(t *Thread) {
			x.Store(t, 1)
			for i := 0; i < 4; i++ {
				t.Op("local", Local)
			}
		})
		s.Go("b", func(t *Thread) {
			v := x.Load(t)
			t.Assert(v == 1, "order", "b read x before a wrote it")
		})
	}
	for _, st := range []Strategy{DPOR, Exhaustive} {
		res := Explore(prog, Options{Strategy: st, MaxSteps: 5})
		if res.Verdict != Violation || res.Length != 1 {
			t.Errorf("%s: %s (length %d), want the 1-step violation", st, res.Verdict, res.Length)
		}
	}
}

func TestStuckJudge(t *testing.T) {
	prog := func(s *System) {
		done := NewVar(s, "done", false)
		s.Go("waiter", func(t *Thread) { done.Await(t, "wait for done", func(v bool) bool { return v }) })
		s.OnQuiescent(func(blocked []*Thread) *Failure {
			return &Failure{Property: "progress", Message: blocked[0].Name() + " waits forever at " + blocked[0].Pending(), Stuck: true}
		})
	}
	res := Explore(prog, Options{})
	if res.Verdict != Stuck || res.Failure.Message != "waiter waits forever at wait for done" {
		t.Fatalf("%s %+v", res.Verdict, res.Failure)
	}
}

func TestInvariantFailureReported(t *testing.T) {
	prog := func(s *System) {
		x, y := NewVar(s, "x", 0), NewVar(s, "y", 0)
		s.Go("a", func(t *Thread) { x.Store(t, 1); x.Store(t, 0) })
		s.Go("b", func(t *Thread) { y.Store(t, 1) })
		s.InvariantOver("not-both", Footprint{x.Obj(), y.Obj() + 1, Read}, func() error {
			if x.Peek() == 1 && y.Peek() == 1 {
				return errors.New("x and y are both 1")
			}
			return nil
		})
	}
	res := Explore(prog, Options{})
	if res.Verdict != Violation || res.Failure.Property != "not-both" {
		t.Fatalf("DPOR must see the intermediate state: %s %+v", res.Verdict, res.Failure)
	}
}

func TestReplayDivergence(t *testing.T) {
	res := Explore(LostUpdate(), Options{})
	bad := append(Schedule{}, res.Schedule...)
	bad[1] = 7
	_, err := Replay(LostUpdate(), bad, ReplayOptions{})
	var d *DivergenceError
	if !errors.As(err, &d) || d.Node != 1 || !strings.Contains(d.Reason, "thread 7") {
		t.Fatalf("want divergence at decision 1 naming thread 7, got %v", err)
	}
	_, err = Replay(LostUpdate(), res.Schedule[:2], ReplayOptions{})
	if !errors.As(err, &d) || !strings.Contains(d.Reason, "schedule ended") {
		t.Fatalf("a short schedule must diverge: %v", err)
	}
	rec, err := Replay(LostUpdate(), res.Schedule[:2], ReplayOptions{Extend: true})
	if err != nil || len(rec.Steps) != 4 {
		t.Fatalf("extend: %v %+v", err, rec)
	}
	long := append(append(Schedule{}, res.Schedule...), 0, 0)
	if _, err := Replay(LostUpdate(), long, ReplayOptions{}); !errors.As(err, &d) || !strings.Contains(d.Reason, "unused") {
		t.Fatalf("a long schedule must say its tail is unused: %v", err)
	}
}

func TestScheduleParse(t *testing.T) {
	s, err := ParseSchedule("0.1.12.3")
	if err != nil || s.String() != "0.1.12.3" {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"0..1", "a", "1.-2"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestDeterminism: the same program and seed give identical verdicts,
// schedules and counts, run after run and for 1 or 2 workers.
func TestDeterminism(t *testing.T) {
	progs := map[string]Program{"lastzero(4)": LastZero(4), "peterson-broken": Peterson(false), "readers(6)": Readers(6), "indexer(12)": Indexer(12)}
	names := []string{"indexer(12)", "lastzero(4)", "peterson-broken", "readers(6)"}
	for _, name := range names {
		for _, o := range []Options{
			{Strategy: DPOR, SplitDepth: 3},
			{Strategy: Random, Seed: 7, MaxExecutions: 300},
			{Strategy: PCT, Seed: 7, MaxExecutions: 300},
			{Strategy: Bounded, MaxPreemptions: 2},
		} {
			if o.Strategy == Bounded && name != "peterson-broken" {
				continue // preemption bounding does not reduce thread-order choices
			}
			var first string
			for run := 0; run < 4; run++ {
				o.Workers = 1 + run%2
				res := Explore(progs[name], o)
				got := fmt.Sprintf("%s %v %d %d %d %d %d %v", res.Verdict, res.Schedule, res.Stats.Executions, res.Stats.Steps, res.Stats.Pruned, res.Stats.MaxDepth, res.Preemptions, res.Failure)
				if run == 0 {
					first = got
				} else if got != first {
					t.Errorf("%s %s: run %d (workers %d) differs:\n%s\n%s", name, o.Strategy, run, o.Workers, first, got)
				}
			}
		}
	}
}

func TestRandomAndPCTFindBugs(t *testing.T) {
	for _, st := range []Strategy{Random, PCT} {
		res := Explore(LostUpdate(), Options{Strategy: st, Seed: 1, MaxExecutions: 1000})
		if res.Verdict != Violation {
			t.Errorf("%s: %s", st, res.Verdict)
		}
		res = Explore(Peterson(true), Options{Strategy: st, Seed: 1, MaxExecutions: 200})
		if res.Verdict != Incomplete || !strings.Contains(res.Bounds, "sampled") {
			t.Errorf("%s on a correct program: %s %s (sampling never says safe)", st, res.Verdict, res.Bounds)
		}
	}
}

func TestCheckHelperFails(t *testing.T) {
	ft := &fakeTB{TB: t}
	Check(ft, LostUpdate(), Options{})
	if !ft.failed || !strings.Contains(ft.msg, "lost-update") || !strings.Contains(ft.msg, "schedule") {
		t.Fatalf("Check must fail with the violation and its schedule: %q", ft.msg)
	}
}

type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed = true
	f.msg += fmt.Sprintf(format, args...)
}

// TestOpMulti: an operation over several ranges depends on exactly the
// operations that touch one of them.
func TestOpMulti(t *testing.T) {
	prog := func(s *System) {
		a, b, c := s.Object("a"), s.Object("b"), s.Object("c")
		s.Go("t0", func(t *Thread) { t.OpMulti("read a, write b", R(a), W(b)) })
		s.Go("t1", func(t *Thread) { t.OpMulti("read a, write c", R(a), W(c)) })
		s.Go("t2", func(t *Thread) { t.Op("read a", R(a)) })
	}
	if res := Explore(prog, Options{}); res.Stats.Executions != 1 {
		t.Fatalf("disjoint writes and shared reads: %d executions, want 1", res.Stats.Executions)
	}
	prog2 := func(s *System) {
		a, b := s.Object("a"), s.Object("b")
		s.Go("t0", func(t *Thread) { t.OpMulti("read a, write b", R(a), W(b)) })
		s.Go("t1", func(t *Thread) { t.Op("read b", R(b)) })
	}
	if res := Explore(prog2, Options{}); res.Stats.Executions != 2 {
		t.Fatalf("a write in the second range conflicts: %d executions, want 2", res.Stats.Executions)
	}
	rec, _ := Replay(prog2, Schedule{0, 1}, ReplayOptions{})
	if rec.Steps[0].Objects != "R a, W b" {
		t.Fatalf("objects: %q", rec.Steps[0].Objects)
	}
}

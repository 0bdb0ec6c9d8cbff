package explore

import (
	"fmt"
	"strings"
	"testing"
)

// Step is one executed operation of a replayed execution.
type Step struct {
	Thread int    `json:"thread"`
	Label  string `json:"label"`
	// Footprint is the operation's first footprint range (Objects names
	// them all).
	Footprint Footprint `json:"-"`
	// Objects names the footprint, e.g. "W text[3]" or "R text[0..16)".
	Objects   string `json:"objects,omitempty"`
	Preempted bool   `json:"preempted,omitempty"` // a preemptive context switch chose this thread
}

// Decision is one entry of the schedule with its meaning.
type Decision struct {
	Choice bool   `json:"choice,omitempty"` // a value of Thread.Choose, not a thread
	Value  int    `json:"value"`
	Arity  int    `json:"arity,omitempty"` // number of values, for a choice
	Thread int    `json:"thread"`          // the chosen thread, or the thread that chose
	Label  string `json:"label"`
	Step   int    `json:"step"` // steps executed before the decision
}

// Record is everything one replayed execution did.
type Record struct {
	Threads     []string   `json:"threads"`
	Steps       []Step     `json:"steps"`
	Decisions   []Decision `json:"decisions"`
	Notes       []Note     `json:"notes,omitempty"`
	Failure     *Failure   `json:"failure,omitempty"`
	Outcome     string     `json:"outcome"` // "complete", "failure", "truncated"
	Preemptions int        `json:"preemptions"`
}

// Schedule returns the decisions as a replayable schedule.
func (r *Record) Schedule() Schedule {
	s := make(Schedule, len(r.Decisions))
	for i, d := range r.Decisions {
		s[i] = d.Value
	}
	return s
}

// ReplayOptions steer Replay.
type ReplayOptions struct {
	MaxSteps int // default 10000
	// Extend lets a schedule that ends before the execution does go on
	// with default decisions (keep running the current thread, else the
	// lowest enabled; choice 0) instead of reporting divergence.
	Extend bool
	// Trace records the threads' notes (Thread.Tracing is true).
	Trace bool
}

// Replay runs the program once under the schedule. It returns a
// *DivergenceError when the schedule does not fit the program.
func Replay(prog Program, sched Schedule, opts ReplayOptions) (*Record, error) {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 10000
	}
	rp := &replayer{sched: sched, extend: opts.Extend}
	ex := newExecution(prog, rp, opts.MaxSteps, false)
	defer ex.close()
	ex.tracing = opts.Trace
	end := ex.run()
	rec := ex.record()
	switch end {
	case endComplete:
		rec.Outcome = "complete"
	case endFailure:
		rec.Outcome = "failure"
	case endTruncated:
		rec.Outcome = "truncated"
	case endPruned:
		rec.Outcome = "diverged"
	}
	if rp.diverged != nil {
		return rec, rp.diverged
	}
	if ex.cursor < len(sched) {
		return rec, &DivergenceError{ex.cursor, len(ex.events),
			fmt.Sprintf("the execution ended (%s) with %d decisions of the schedule unused", rec.Outcome, len(sched)-ex.cursor)}
	}
	return rec, nil
}

func (ex *execution) record() *Record {
	rec := &Record{Failure: ex.failure}
	if ex.sys != nil {
		for _, t := range ex.sys.threads {
			rec.Threads = append(rec.Threads, t.name)
		}
		rec.Notes = ex.sys.notes
	}
	step := 0
	for i := 0; i < ex.cursor; i++ {
		nd := &ex.nodes[i]
		d := Decision{Value: int(nd.chosen), Label: nd.label, Step: step}
		if nd.kind == nodeChoice {
			d.Choice, d.Arity, d.Thread = true, int(nd.n), int(nd.thread)
		} else {
			d.Thread = int(nd.chosen)
			step++
		}
		rec.Decisions = append(rec.Decisions, d)
	}
	for _, e := range ex.events {
		st := Step{Thread: int(e.thread), Label: e.label, Footprint: e.fp[0], Objects: ex.describeAll(ex.ranges(&e))}
		if e.node >= 0 {
			nd := &ex.nodes[e.node]
			st.Preempted = preemptionAt(nd.prev, nd.enabled, int(nd.chosen))
		}
		rec.Steps = append(rec.Steps, st)
	}
	rec.Preemptions = ex.preemptions()
	return rec
}

func (ex *execution) describeAll(fps []Footprint) string {
	var parts []string
	for _, f := range fps {
		if d := ex.describe(f); d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, ", ")
}

func (ex *execution) describe(fp Footprint) string {
	if fp.empty() || ex.sys == nil {
		return ""
	}
	mode := "R"
	if fp.Access == Write {
		mode = "W"
	}
	if fp.Hi-fp.Lo == 1 {
		return mode + " " + ex.sys.ObjectName(fp.Lo)
	}
	return fmt.Sprintf("%s %s..%s", mode, ex.sys.ObjectName(fp.Lo), ex.sys.ObjectName(fp.Hi-1))
}

// Format renders a record as a compact numbered list of steps, with notes
// and the failure; for test logs.
func (r *Record) Format() string {
	var b strings.Builder
	notes := r.Notes
	for i, s := range r.Steps {
		mark := ""
		if s.Preempted {
			mark = " (preempted)"
		}
		fmt.Fprintf(&b, "%4d  %-10s %s%s\n", i, r.Threads[s.Thread], s.Label, mark)
		for len(notes) > 0 && notes[0].Step <= i {
			fmt.Fprintf(&b, "      %-10s   %s\n", "", notes[0].Text)
			notes = notes[1:]
		}
	}
	if r.Failure != nil {
		fmt.Fprintf(&b, "FAIL %s: %s\n", r.Failure.Property, r.Failure.Message)
	}
	return b.String()
}

// Check explores prog and fails the test on a violation, a stuck verdict
// or an incomplete one, printing the failure, its replayable schedule and
// its steps. It returns the result for further assertions.
func Check(t testing.TB, prog Program, opts Options) *Result {
	t.Helper()
	res := Explore(prog, opts)
	switch res.Verdict {
	case Safe:
		return res
	case Incomplete:
		t.Errorf("explore: incomplete (%s) after %d executions; bounds: %s", res.Reason, res.Stats.Executions, res.Bounds)
		return res
	}
	t.Errorf("%s", Explain(prog, res))
	return res
}

// Explain describes a violation or stuck result with its schedule and
// replayed steps.
func Explain(prog Program, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "explore: %s: %s\n", res.Verdict, res.Failure.Error())
	fmt.Fprintf(&b, "schedule (%d steps, %d preemptions, after %d executions): %s\n",
		res.Length, res.Preemptions, res.Stats.Executions, res.Schedule)
	rec, err := Replay(prog, res.Schedule, ReplayOptions{Trace: true})
	if err != nil {
		fmt.Fprintf(&b, "replay failed: %v\n", err)
	}
	if rec != nil {
		b.WriteString(rec.Format())
	}
	return b.String()
}

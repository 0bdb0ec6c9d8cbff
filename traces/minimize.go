package traces

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

// Shrinker is implemented by a catalog.Kind whose scenarios have
// parameters that can be made smaller while the bug may survive: fewer
// CPUs, fewer NMIs, fewer executions of a site, fewer tasks.
//
// Shrink returns candidate scenarios, each a one-step simplification of s
// (one CPU fewer, one NMI fewer…), most aggressive first; nil when there is
// nothing to shrink. Minimize explores each candidate under the trace's
// strategy and bounds (with a budget), minimises its counterexample,
// adopts the first that fails the same property in no more steps (and no
// more threads), and asks again.
// Candidates must be valid scenarios of the same kind; their names should
// say what changed (e.g. "x86/batch-nmi (cpus=2)").
type Shrinker interface {
	Shrink(s catalog.Scenario) []catalog.Scenario
}

// MinimizeOptions bound minimisation.
type MinimizeOptions struct {
	// MaxReplays bounds the replays of candidate schedules (default
	// 4000).
	MaxReplays int
	// TimeLimit bounds the whole minimisation (default 60s).
	TimeLimit time.Duration
	// MaxExecutions bounds each re-exploration of a shrunk scenario
	// (default 200000).
	MaxExecutions int64
	// Shrinker overrides the kind's Shrinker (for tests and tools); nil
	// uses the kind's if it implements one, else ParamShrinker.
	Shrinker Shrinker
	// NoScenarioShrink keeps the scenario's parameters as they are.
	NoScenarioShrink bool
	// Interrupt, when closed, ends the minimisation as TimeLimit does:
	// the smallest counterexample found so far is returned.
	Interrupt <-chan struct{}
}

// closed reports whether an interrupt channel is closed (nil: never).
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// cost orders counterexamples: fewer preemptions first, then fewer steps,
// then smaller choice values (a choice 0 is usually "nothing happens":
// no NMI, no stale line), then fewer decisions.
type cost struct{ preemptions, steps, choices, decisions int }

func (a cost) less(b cost) bool {
	switch {
	case a.preemptions != b.preemptions:
		return a.preemptions < b.preemptions
	case a.steps != b.steps:
		return a.steps < b.steps
	case a.choices != b.choices:
		return a.choices < b.choices
	}
	return a.decisions < b.decisions
}

func costOf(rec *explore.Record) cost {
	c := cost{preemptions: rec.Preemptions, steps: len(rec.Steps), decisions: len(rec.Decisions)}
	for _, d := range rec.Decisions {
		if d.Choice {
			c.choices += d.Value
		}
	}
	return c
}

// minimizer shrinks one scenario's schedule.
type minimizer struct {
	prog     explore.Program
	property string
	maxSteps int
	replays  int
	budget   int
	deadline time.Time
	stop     <-chan struct{}
}

func (m *minimizer) exhausted() bool {
	return m.replays >= m.budget || time.Now().After(m.deadline) || closed(m.stop)
}

// try replays a candidate schedule, extending it with default decisions
// when it ends early and dropping decisions that no longer fit (a thread
// that is blocked or finished at that point), and returns the record if
// the same property fails.
func (m *minimizer) try(sched explore.Schedule) *explore.Record {
	sched = append(explore.Schedule(nil), sched...)
	for repairs := 0; repairs < 8 && !m.exhausted(); repairs++ {
		m.replays++
		rec, err := explore.Replay(m.prog, sched, explore.ReplayOptions{MaxSteps: m.maxSteps, Extend: true})
		if rec != nil && rec.Failure != nil && rec.Failure.Property == m.property {
			// Failing before the schedule is used up is a success: the
			// record's own schedule is the shorter one.
			return rec
		}
		var div *explore.DivergenceError
		if errors.As(err, &div) && div.Node < len(sched) {
			sched = append(sched[:div.Node], sched[div.Node+1:]...)
			continue
		}
		if err != nil || rec.Failure == nil || rec.Failure.Property != m.property {
			return nil
		}
		return rec
	}
	return nil
}

// pass is one named way of shrinking a schedule: run tries candidates
// derived from the current counterexample (st.cur) and offers each to
// st.accept, which keeps it if it is smaller.
type pass struct {
	name string
	run  func(m *minimizer, st *shrinkState)
}

// passes are the schedule passes in the order shrink runs them, each
// round: the cheap, aggressive ones first.
var passes = []pass{
	{"truncate", truncatePass},
	{"remove-preemption", removePreemptionPass},
	{"swap-adjacent", swapAdjacentPass},
	{"smaller-choice", smallerChoicePass},
	{"delete-run", deleteRunPass},
	{"delete-thread", deleteThreadPass},
	{"delete-chunk", deleteChunkPass},
}

// PassCount says how many candidates a minimisation pass tried (replayed
// until it failed, diverged or the budget ran out) and how many it
// accepted. The pass "scenario" counts smaller scenarios explored and
// adopted.
type PassCount struct {
	Pass     string `json:"pass"`
	Tried    int    `json:"tried"`
	Accepted int    `json:"accepted"`
}

// shrinkState is the current counterexample of shrink and its cost.
type shrinkState struct {
	m        *minimizer
	cur      *explore.Record
	curCost  cost
	improved bool       // some pass accepted a candidate this round
	count    *PassCount // of the running pass
}

// try replays cand and accepts it when the same property fails in no
// more steps at a smaller cost.
func (st *shrinkState) try(cand explore.Schedule) bool {
	st.count.Tried++
	r := st.m.try(cand)
	if r == nil || len(r.Steps) > len(st.cur.Steps) {
		return false
	}
	c := costOf(r)
	if !c.less(st.curCost) {
		return false
	}
	st.cur, st.curCost, st.improved = r, c, true
	st.count.Accepted++
	return true
}

func (st *shrinkState) sched() explore.Schedule { return st.cur.Schedule() }

func without(s explore.Schedule, lo, hi int) explore.Schedule {
	return append(append(explore.Schedule(nil), s[:lo]...), s[hi:]...)
}

// truncatePass: the shortest prefix that, run on with default decisions
// (the current thread goes on), still fails.
func truncatePass(m *minimizer, st *shrinkState) {
	for k, s := 0, st.sched(); k < len(s) && !m.exhausted(); k++ {
		if st.try(s[:k]) {
			return
		}
	}
}

// removePreemptionPass: pull the preempted thread's next step forward to
// the preemption, or let it take that decision.
func removePreemptionPass(m *minimizer, st *shrinkState) {
	for i := 0; i < len(st.cur.Decisions) && !m.exhausted(); i++ {
		cur := st.cur
		d := cur.Decisions[i]
		if d.Choice || d.Step == 0 || d.Step >= len(cur.Steps) || !cur.Steps[d.Step].Preempted {
			continue
		}
		prev := cur.Steps[d.Step-1].Thread
		if prev == d.Value {
			continue
		}
		s := st.sched()
		for j := i + 1; j < len(cur.Decisions); j++ {
			if dj := cur.Decisions[j]; !dj.Choice && dj.Value == prev {
				cand := append(append(explore.Schedule(nil), s[:i]...), prev)
				cand = append(append(cand, s[i:j]...), s[j+1:]...)
				if st.try(cand) {
					i--
				}
				break
			}
		}
		if i < 0 || (i < len(st.cur.Decisions) && st.cur.Decisions[i].Value == prev) {
			continue
		}
		cand := append(explore.Schedule(nil), s...)
		cand[i] = prev
		if st.try(cand) {
			i--
		}
	}
}

// swapAdjacentPass: swap adjacent scheduling decisions of different
// threads (run a step earlier).
func swapAdjacentPass(m *minimizer, st *shrinkState) {
	for i := 0; i+1 < len(st.cur.Decisions) && !m.exhausted(); i++ {
		a, b := st.cur.Decisions[i], st.cur.Decisions[i+1]
		if a.Choice || b.Choice || a.Value == b.Value {
			continue
		}
		cand := st.sched()
		cand[i], cand[i+1] = cand[i+1], cand[i]
		st.try(cand)
	}
}

// smallerChoicePass: smaller choices, 0 first (no NMI, no stale line),
// then one less.
func smallerChoicePass(m *minimizer, st *shrinkState) {
	for i := 0; i < len(st.cur.Decisions) && !m.exhausted(); i++ {
		d := st.cur.Decisions[i]
		if !d.Choice || d.Value == 0 {
			continue
		}
		for _, v := range []int{0, d.Value - 1} {
			cand := st.sched()
			cand[i] = v
			if st.try(cand) {
				break
			}
		}
	}
}

// deleteRunPass: delete a thread's run of consecutive decisions.
func deleteRunPass(m *minimizer, st *shrinkState) {
	for lo := 0; lo < len(st.cur.Decisions) && !m.exhausted(); {
		d := st.cur.Decisions[lo]
		hi := lo + 1
		for hi < len(st.cur.Decisions) && st.cur.Decisions[hi].Thread == d.Thread {
			hi++
		}
		if !d.Choice && st.try(without(st.sched(), lo, hi)) {
			continue // the next run now starts at lo
		}
		lo = hi
	}
}

// deleteThreadPass: delete every decision of one thread.
func deleteThreadPass(m *minimizer, st *shrinkState) {
	for th := 0; th < len(st.cur.Threads) && !m.exhausted(); th++ {
		var cand explore.Schedule
		s := st.sched()
		for i, d := range st.cur.Decisions {
			if d.Thread != th {
				cand = append(cand, s[i])
			}
		}
		if len(cand) < len(s) {
			st.try(cand)
		}
	}
}

// deleteChunkPass: delete chunks of decisions, halving down to one.
func deleteChunkPass(m *minimizer, st *shrinkState) {
	for size := len(st.cur.Decisions) / 2; size >= 1 && !m.exhausted(); size /= 2 {
		for lo := 0; lo+size <= len(st.cur.Decisions) && !m.exhausted(); {
			if !st.try(without(st.sched(), lo, lo+size)) {
				lo += size
			}
		}
	}
}

// shrink improves rec's schedule until no pass helps or the budget runs
// out, adding each pass's counts to counts (indexed like passes). Every
// accepted candidate has no more steps than the current one and a
// smaller cost. Each pass goes on from where it accepted a candidate
// (against the new schedule) rather than starting over; the passes
// repeat while any of them helped.
func (m *minimizer) shrink(rec *explore.Record, counts []PassCount) *explore.Record {
	st := &shrinkState{m: m, cur: rec, curCost: costOf(rec)}
	for round := 0; round == 0 || st.improved; round++ {
		st.improved = false
		for i, p := range passes {
			st.count = &counts[i]
			p.run(m, st)
		}
		if m.exhausted() {
			break
		}
	}
	return st.cur
}

// Minimize shrinks a trace: first its schedule — fewer preemptions, fewer
// steps, smaller choices, fewer decisions — then its scenario's
// parameters (fewer CPUs, NMIs, executions: the kind's Shrinker, else
// ParamShrinker), adopting a smaller scenario when its own minimised
// counterexample fails the same property in no more steps with no more
// threads. The result never has more steps than the input, and it replays
// exactly (its schedule is complete). The input must replay (see Replay).
func Minimize(t *Trace, opts MinimizeOptions) (*Trace, error) {
	if opts.MaxReplays <= 0 {
		opts.MaxReplays = 4000
	}
	if opts.TimeLimit <= 0 {
		opts.TimeLimit = 60 * time.Second
	}
	if opts.MaxExecutions <= 0 {
		opts.MaxExecutions = 200000
	}
	got, err := Replay(t)
	if err != nil {
		return nil, fmt.Errorf("the trace does not replay, so it cannot be minimised: %w", err)
	}
	deadline := time.Now().Add(opts.TimeLimit)
	replays := 0
	counts := make([]PassCount, len(passes)+1) // the schedule passes, then "scenario"
	for i, p := range passes {
		counts[i].Pass = p.name
	}
	scenarioCount := &counts[len(passes)]
	scenarioCount.Pass = "scenario"
	shrinkSchedule := func(s catalog.Scenario, rec *explore.Record) (explore.Program, *explore.Record, error) {
		prog, err := catalog.Build(s)
		if err != nil {
			return nil, nil, err
		}
		m := &minimizer{prog: prog, property: t.Property, maxSteps: t.Bounds.MaxSteps, budget: opts.MaxReplays - replays, deadline: deadline, stop: opts.Interrupt}
		best := m.shrink(rec, counts)
		replays += m.replays
		return prog, best, nil
	}
	// First the schedule of the scenario as it is.
	scen := t.Scenario
	prog, best, err := shrinkSchedule(scen, got.Record)
	if err != nil {
		return nil, err
	}
	// Then smaller scenarios: a candidate is adopted when its own
	// minimised counterexample is no longer, with no more threads.
	if !opts.NoScenarioShrink {
		sh := opts.Shrinker
		if sh == nil {
			if k, err := catalog.KindOf(scen.Kind); err == nil {
				sh, _ = k.(Shrinker)
			}
		}
		if sh == nil {
			sh = ParamShrinker{}
		}
		for adopted := true; adopted && time.Now().Before(deadline) && !closed(opts.Interrupt) && replays < opts.MaxReplays; {
			adopted = false
			for _, c := range sh.Shrink(scen) {
				scenarioCount.Tried++
				rec := counterexampleOf(c, t, len(best.Threads), opts, deadline)
				if rec == nil {
					continue
				}
				cprog, cbest, err := shrinkSchedule(c, rec)
				if err != nil || len(cbest.Steps) > len(best.Steps) {
					continue
				}
				scen, prog, best, adopted = c, cprog, cbest, true
				scenarioCount.Accepted++
				break
			}
		}
	}

	// The final schedule is complete: check that it replays exactly.
	sched := best.Schedule()
	final, err := explore.Replay(prog, sched, explore.ReplayOptions{MaxSteps: t.Bounds.MaxSteps})
	if err != nil || final.Failure == nil || final.Failure.Property != t.Property {
		return nil, fmt.Errorf("minimisation produced a schedule that does not replay (%v): a nondeterministic model?", err)
	}
	out := *t
	out.Scenario = scen
	out.Schedule = sched.String()
	out.Length = len(final.Steps)
	out.Preemptions = final.Preemptions
	out.Step = final.Failure.Step
	out.setFailedAt()
	out.Message = final.Failure.Message
	out.Thread = ""
	if th := final.Failure.Thread; th >= 0 && th < len(final.Threads) {
		out.Thread = final.Threads[th]
	}
	from := &Minimized{FromLength: t.Length, FromPreemptions: t.Preemptions, Replays: replays, Passes: counts}
	if d, err := t.Decisions(); err == nil {
		from.FromDecisions = len(d)
	}
	if t.Minimized != nil {
		from.FromLength, from.FromPreemptions, from.FromDecisions = t.Minimized.FromLength, t.Minimized.FromPreemptions, t.Minimized.FromDecisions
		from.Replays += t.Minimized.Replays
	}
	if scen.Name != t.Scenario.Name {
		from.FromScenario = t.Scenario.Name
		// The original's description no longer holds ("1 NMI" when the
		// NMI was shrunk away): say what changed.
		out.Scenario.Description = shrunkDescription(t.Scenario, scen)
	}
	out.Minimized = from
	return &out, nil
}

// counterexampleOf explores a candidate scenario under the trace's
// strategy and bounds (with a budget) and returns the record of its
// counterexample when it fails the trace's property with no more than
// maxThreads threads.
func counterexampleOf(c catalog.Scenario, t *Trace, maxThreads int, opts MinimizeOptions, deadline time.Time) *explore.Record {
	if time.Now().After(deadline) || closed(opts.Interrupt) {
		return nil
	}
	prog, err := catalog.Build(c)
	if err != nil {
		return nil
	}
	eo := explore.Options{Strategy: explore.Strategy(t.Strategy), MaxSteps: t.Bounds.MaxSteps,
		MaxExecutions: opts.MaxExecutions, MaxPreemptions: t.Bounds.MaxPreemptions, Seed: t.Bounds.Seed,
		TimeLimit: time.Until(deadline), Interrupt: opts.Interrupt}
	if eo.Strategy == explore.Random || eo.Strategy == explore.PCT {
		eo.MaxExecutions = min(opts.MaxExecutions, max(t.Bounds.MaxExecutions, 10000))
	}
	res := explore.Explore(prog, eo)
	if res.Failure == nil || res.Failure.Property != t.Property {
		return nil
	}
	rec, err := explore.Replay(prog, res.Schedule, explore.ReplayOptions{MaxSteps: t.Bounds.MaxSteps})
	if err != nil || rec.Failure == nil || len(rec.Threads) > maxThreads {
		// More threads is not smaller, whatever the parameters say.
		return nil
	}
	return rec
}

// shrunkDescription describes a scenario minimisation made from orig by
// the parameters that differ.
func shrunkDescription(orig, small catalog.Scenario) string {
	var a, b map[string]any
	json.Unmarshal(orig.Params, &a)
	json.Unmarshal(small.Params, &b)
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	show := func(m map[string]any, k string) string {
		v, ok := m[k]
		if !ok {
			return "(default)"
		}
		j, _ := json.Marshal(v)
		return string(j)
	}
	var changes []string
	for _, k := range keys {
		if x, y := show(a, k), show(b, k); x != y {
			changes = append(changes, fmt.Sprintf("%s %s → %s", k, x, y))
		}
	}
	if len(changes) == 0 {
		changes = []string{"the same parameters"}
	}
	d := fmt.Sprintf("%s shrunk by minimize: %s", orig.Name, strings.Join(changes, ", "))
	if orig.Description != "" {
		d += "; the original: " + orig.Description
	}
	return d
}

package explore

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Strategy names an exploration strategy.
type Strategy string

const (
	// DPOR is exhaustive DFS with source-set dynamic partial-order
	// reduction and sleep sets: every Mazurkiewicz trace within the bounds
	// is explored, equivalent interleavings are not.
	DPOR Strategy = "dpor"
	// optimalDPOR (wakeup trees) is not offered: it misses final states
	// in klp's fork-walk differential test (see docs/engine.md), so it
	// stays internal, measured by the engine's own tests.
	optimalDPOR Strategy = "dpor-optimal"
	// Exhaustive is plain DFS over every interleaving (no reduction): the
	// oracle DPOR is tested against.
	Exhaustive Strategy = "exhaustive"
	// Bounded is iterative preemption bounding (CHESS): all interleavings
	// with 0 preemptions, then 1, 2, … up to MaxPreemptions; the first
	// violation found has the fewest preemptions that reach it.
	Bounded Strategy = "bounded"
	// Stateful is exhaustive DFS over the state graph: every distinct
	// state the program declares (System.State, Thread.State) is expanded
	// once, with every enabled thread, and states equal up to permuting
	// symmetric threads (System.Symmetric) are one. It reaches every
	// reachable state and runs every transition from each, so it checks
	// the same safety properties as Exhaustive, in far fewer executions
	// when states recur; a counterexample is still a replayable schedule.
	Stateful Strategy = "stateful"
	// Random samples MaxExecutions random walks.
	Random Strategy = "random"
	// PCT samples MaxExecutions runs of probabilistic concurrency testing
	// with bug depth PCTDepth.
	PCT Strategy = "pct"
)

// strategy is one way to explore, as a value: what it means, how it runs,
// what its "safe" covers and, for the exhaustive DFS strategies that
// split into tasks, the DFS mode a shard runs. Explore and the shards
// look strategies up in this table; nothing else switches on their names.
type strategy struct {
	name    Strategy
	meaning string
	run     func(r *runner) *Result
	// bounds is what a safe verdict covers (nil: run sets it).
	bounds func(o Options) string
	// shard is the DFS mode of one task of a split search; shardable is
	// false for strategies that do not split.
	shard     dfsMode
	shardable bool
	// internal strategies are measured by the engine's own tests and not
	// offered to users.
	internal bool
	// sampled strategies cannot prove safety; they run 10000 executions
	// unless told otherwise.
	sampled bool
}

var strategyTable = []strategy{
	{name: DPOR, meaning: "exhaustive DFS with source-set DPOR and sleep sets",
		run: func(r *runner) *Result { return r.exhaustive(modeSource, 0) },
		bounds: func(o Options) string {
			return fmt.Sprintf("all interleavings up to equivalence (DPOR), ≤%d steps each", o.MaxSteps)
		},
		shard: modeSource, shardable: true},
	{name: optimalDPOR, meaning: "optimal DPOR with wakeup trees (experimental)", internal: true,
		run: func(r *runner) *Result { return r.exhaustive(modeOptimal, 0) },
		bounds: func(o Options) string {
			return fmt.Sprintf("all interleavings up to equivalence (optimal DPOR, experimental), ≤%d steps each", o.MaxSteps)
		}},
	{name: Exhaustive, meaning: "exhaustive DFS over every interleaving, no reduction",
		run:    func(r *runner) *Result { return r.exhaustive(modePlain, 0) },
		bounds: func(o Options) string { return fmt.Sprintf("all interleavings, ≤%d steps each", o.MaxSteps) },
		shard:  modePlain, shardable: true},
	{name: Stateful, meaning: "exhaustive DFS over distinct states (model-declared digests, symmetry)",
		run: (*runner).stateful},
	{name: Bounded, meaning: "iterative preemption bounding: fewest-preemption counterexamples",
		run: (*runner).bounded},
	{name: Random, meaning: "seeded random walks", sampled: true,
		run: func(r *runner) *Result {
			return r.sampled("random walks", func(int) sampler { return newWalk() })
		}},
	{name: PCT, meaning: "seeded probabilistic concurrency testing (PCT)", sampled: true,
		run: func(r *runner) *Result {
			return r.sampled(fmt.Sprintf("PCT runs of depth %d", r.opts.PCTDepth),
				func(horizon int) sampler { return newPCT(r.opts.PCTDepth, horizon) })
		}},
}

// lookupStrategy finds a strategy in the table.
func lookupStrategy(name Strategy) (*strategy, bool) {
	for i := range strategyTable {
		if strategyTable[i].name == name {
			return &strategyTable[i], true
		}
	}
	return nil, false
}

// StrategyInfo names a strategy offered to users and says what it does.
type StrategyInfo struct {
	Name    Strategy
	Meaning string
}

// Strategies lists every strategy offered to users, in table order.
var Strategies = func() []StrategyInfo {
	var out []StrategyInfo
	for _, st := range strategyTable {
		if !st.internal {
			out = append(out, StrategyInfo{st.name, st.meaning})
		}
	}
	return out
}()

// ParseStrategy checks a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	for _, k := range Strategies {
		if string(k.Name) == s {
			return k.Name, nil
		}
	}
	names := make([]string, len(Strategies))
	for i, k := range Strategies {
		names[i] = string(k.Name)
	}
	return "", fmt.Errorf("unknown strategy %q (want one of %s)", s, strings.Join(names, ", "))
}

// Options bound and steer an exploration. The zero value is DPOR with the
// default bounds.
type Options struct {
	Strategy Strategy
	// MaxSteps bounds the scheduling steps of one execution (default
	// 10000); an execution that reaches it is cut and the verdict is at
	// best incomplete.
	MaxSteps int
	// MaxExecutions bounds the executions (default: unlimited for the
	// exhaustive strategies, 10000 for random and PCT).
	MaxExecutions int64
	// MaxPreemptions is the highest bound Bounded tries (default 3).
	MaxPreemptions int
	// Seed seeds Random and PCT.
	Seed uint64
	// PCTDepth is PCT's bug depth d (default 3).
	PCTDepth int
	// Workers run tasks in parallel (default 1). Results never depend on
	// Workers.
	Workers int
	// SplitDepth splits an exhaustive search into independent tasks at
	// this depth (full expansion above it), which Workers then share.
	// Counts depend on SplitDepth, never on Workers. 0: one task.
	SplitDepth int
	// TimeLimit stops the search (verdict incomplete) when it runs out.
	// Wall-clock time is the only nondeterministic bound.
	TimeLimit time.Duration
	// Interrupt, when closed, stops the search as TimeLimit does (verdict
	// incomplete, Reason "interrupted"), e.g. on SIGINT.
	Interrupt <-chan struct{}
	// Progress, if set, is called about every ProgressEvery with the
	// running totals (from the calling goroutine's side; never from a
	// thread).
	Progress      func(Stats)
	ProgressEvery time.Duration
}

func (o Options) withDefaults() Options {
	if o.Strategy == "" {
		o.Strategy = DPOR
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 10000
	}
	if st, ok := lookupStrategy(o.Strategy); ok && st.sampled && o.MaxExecutions <= 0 {
		o.MaxExecutions = 10000
	}
	if o.MaxPreemptions <= 0 {
		o.MaxPreemptions = 3
	}
	if o.PCTDepth <= 0 {
		o.PCTDepth = 3
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 500 * time.Millisecond
	}
	return o
}

// Verdict is the outcome of an exploration.
type Verdict string

const (
	Safe       Verdict = "safe"       // every interleaving within the bounds explored, none fails
	Violation  Verdict = "violation"  // a safety property failed
	Stuck      Verdict = "stuck"      // a liveness property failed
	Incomplete Verdict = "incomplete" // a budget ran out first
)

// Stats are the counts of an exploration.
type Stats struct {
	Executions int64 `json:"executions"` // executions run (including pruned ones)
	Pruned     int64 `json:"pruned"`     // ended early as redundant (sleep-set blocked) or by the preemption bound
	Truncated  int64 `json:"truncated"`  // cut by the step bound
	Steps      int64 `json:"steps"`      // scheduling steps over all executions
	MaxDepth   int   `json:"max_depth"`  // most steps in one execution
	// Stateful search: distinct states expanded, executions that ended
	// at a state expanded before, and the state table's bytes per state.
	States        int64   `json:"states,omitempty"`
	Revisits      int64   `json:"revisits,omitempty"`
	BytesPerState float64 `json:"bytes_per_state,omitempty"`
	// Elapsed is wall-clock time; it and ExecPerSec are the only figures
	// that vary between identical runs.
	Elapsed    time.Duration `json:"elapsed_ns"`
	ExecPerSec float64       `json:"executions_per_second"`
}

// PerSecond is executions per second of wall-clock time.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Executions) / s.Elapsed.Seconds()
}

func (s *Stats) add(o Stats) {
	s.Executions += o.Executions
	s.Pruned += o.Pruned
	s.Truncated += o.Truncated
	s.Steps += o.Steps
	s.MaxDepth = max(s.MaxDepth, o.MaxDepth)
	s.States += o.States
	s.Revisits += o.Revisits
	s.BytesPerState = max(s.BytesPerState, o.BytesPerState)
}

// Schedule is the list of decisions of one execution: a thread id at each
// scheduling node, a value at each choice node. It replays exactly.
type Schedule []int

// String is the compact dotted form, e.g. "0.0.1.2".
func (s Schedule) String() string {
	var b strings.Builder
	for i, v := range s {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

// ParseSchedule reads the dotted form.
func ParseSchedule(s string) (Schedule, error) {
	if s == "" {
		return Schedule{}, nil
	}
	parts := strings.Split(s, ".")
	out := make(Schedule, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("schedule: decision %d is %q, not a small non-negative integer", i, p)
		}
		out[i] = v
	}
	return out, nil
}

// Result is what an exploration found.
type Result struct {
	Verdict  Verdict  `json:"verdict"`
	Strategy Strategy `json:"strategy"`
	// Bounds states what "safe" covers, e.g. "all interleavings, ≤10000
	// steps each".
	Bounds string `json:"bounds"`
	// Reason says what ran out, for an incomplete verdict.
	Reason string `json:"reason,omitempty"`
	// Failure, Schedule, Preemptions and Length describe the
	// counterexample of a violation or stuck verdict.
	Failure     *Failure `json:"failure,omitempty"`
	Schedule    Schedule `json:"schedule,omitempty"`
	Preemptions int      `json:"preemptions"`
	Length      int      `json:"length"` // scheduling steps of the counterexample
	Stats       Stats    `json:"stats"`
}

// Explore runs the program under the options' strategy.
func Explore(prog Program, opts Options) *Result {
	opts = opts.withDefaults()
	start := time.Now()
	var deadline time.Time
	if opts.TimeLimit > 0 {
		deadline = start.Add(opts.TimeLimit)
	}
	run := &runner{prog: prog, opts: opts, deadline: deadline}
	var res *Result
	if st, ok := lookupStrategy(opts.Strategy); ok {
		res = st.run(run)
		if st.bounds != nil {
			res.Bounds = st.bounds(opts)
		}
	} else {
		res = &Result{Verdict: Incomplete, Reason: fmt.Sprintf("unknown strategy %q", opts.Strategy)}
	}
	res.Strategy = opts.Strategy
	res.Stats.Elapsed = time.Since(start)
	res.Stats.ExecPerSec = res.Stats.PerSecond()
	if res.Verdict == Safe && opts.MaxExecutions > 0 && res.Stats.Executions >= opts.MaxExecutions {
		res.Verdict = Incomplete
	}
	if res.Verdict == Safe && res.Stats.Truncated > 0 {
		res.Verdict = Incomplete
		res.Reason = fmt.Sprintf("%d executions hit the %d-step bound", res.Stats.Truncated, opts.MaxSteps)
	}
	return res
}

type runner struct {
	prog     Program
	opts     Options
	deadline time.Time

	live     atomic.Int64 // executions, for progress
	liveStep atomic.Int64
	timedOut atomic.Bool
	// symmetric: the program declares symmetry classes (stateful search).
	symmetric bool
}

func (r *runner) expired() bool {
	if r.timedOut.Load() {
		return true
	}
	if r.opts.Interrupt != nil {
		select {
		case <-r.opts.Interrupt:
			r.timedOut.Store(true)
			return true
		default:
		}
	}
	if r.deadline.IsZero() {
		return false
	}
	if time.Now().After(r.deadline) {
		r.timedOut.Store(true)
		return true
	}
	return false
}

// stopReason says why expired() stopped the search.
func (r *runner) stopReason() string {
	if r.opts.Interrupt != nil {
		select {
		case <-r.opts.Interrupt:
			return "interrupted"
		default:
		}
	}
	return fmt.Sprintf("time limit of %s reached", r.opts.TimeLimit)
}

// taskResult is one task's share of an exhaustive search.
type taskResult struct {
	stats    Stats
	failure  *Failure
	sched    Schedule
	preempt  int
	length   int
	failExec int64 // executions before the failing one, within the task
	stopped  string
	boundCut bool
	// perExec, kept when MaxExecutions is set, is each execution's steps
	// and outcome, so merge can cut the task at exactly the budget left
	// by the tasks before it, whatever the worker count.
	perExec []execRecord
}

type execRecord struct {
	steps int32
	end   outcome
}

// budget is the shared execution budget of a split search: task k stops
// once tasks 0..k together have run MaxExecutions executions, so every
// task runs at least the share a one-worker run would give it.
type budget struct {
	max    int64
	counts []atomic.Int64
}

func (b *budget) spent(k int) bool {
	if b == nil {
		return false
	}
	var sum int64
	for j := 0; j <= k; j++ {
		sum += b.counts[j].Load()
	}
	return sum >= b.max
}

// exhaustive runs a DFS strategy, split into tasks at SplitDepth.
func (r *runner) exhaustive(mode dfsMode, bound int32) *Result {
	prefixes := [][]node{nil}
	if r.opts.SplitDepth > 0 {
		prefixes = r.frontier(mode, bound)
	}
	results := make([]taskResult, len(prefixes))
	var bud *budget
	if r.opts.MaxExecutions > 0 {
		bud = &budget{max: r.opts.MaxExecutions, counts: make([]atomic.Int64, len(prefixes))}
	}
	var firstFail atomic.Int64
	firstFail.Store(int64(len(prefixes)))
	var next atomic.Int64
	var wg sync.WaitGroup
	stopProgress := r.startProgress()
	for w := 0; w < min(r.opts.Workers, len(prefixes)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(len(prefixes)) || k > firstFail.Load() {
					return
				}
				results[k] = r.runTask(mode, bound, prefixes[k], bud, int(k))
				if results[k].failure != nil {
					for {
						cur := firstFail.Load()
						if k >= cur || firstFail.CompareAndSwap(cur, k) {
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	stopProgress()
	return r.merge(results)
}

// merge combines task results in task order: the first failing task wins
// and later tasks are not counted, so the result does not depend on which
// worker finished first.
func (r *runner) merge(results []taskResult) *Result {
	res := &Result{Verdict: Safe}
	var execs int64
	for _, tr := range results {
		if r.opts.MaxExecutions > 0 && tr.failure != nil && execs+tr.failExec >= r.opts.MaxExecutions {
			tr.failure = nil
		}
		if left := r.opts.MaxExecutions - execs; r.opts.MaxExecutions > 0 && tr.stats.Executions > left {
			states, bps := tr.stats.States, tr.stats.BytesPerState
			tr.stats = statsOf(tr.perExec[:left])
			tr.stats.States, tr.stats.BytesPerState = states, bps
		}
		res.Stats.add(tr.stats)
		execs += tr.stats.Executions
		if tr.failure != nil {
			res.Failure, res.Schedule, res.Preemptions, res.Length = tr.failure, tr.sched, tr.preempt, tr.length
			res.Verdict = Violation
			if tr.failure.Stuck {
				res.Verdict = Stuck
			}
			return res
		}
		if tr.stopped != "" && res.Reason == "" {
			res.Verdict = Incomplete
			res.Reason = tr.stopped
		}
		if r.opts.MaxExecutions > 0 && execs >= r.opts.MaxExecutions {
			res.Verdict = Incomplete
			res.Reason = fmt.Sprintf("execution budget of %d reached", r.opts.MaxExecutions)
			return res
		}
	}
	return res
}

// frontier enumerates the decision prefixes of length SplitDepth with full
// expansion (and, for DPOR, sleep sets between siblings).
func (r *runner) frontier(mode dfsMode, bound int32) [][]node {
	d := &dfs{mode: mode, bound: bound, cut: r.opts.SplitDepth}
	ex := newExecution(r.prog, d, r.opts.MaxSteps, false)
	defer ex.close()
	for {
		end := ex.run()
		if end != endPruned || ex.cursor <= d.cut {
			// Finished above the split depth: the whole path is a task.
			if end != endPruned {
				p := make([]node, len(ex.nodes))
				copy(p, ex.nodes)
				d.frontier = append(d.frontier, p)
			}
		}
		if !d.advance(ex) {
			break
		}
	}
	// Each prefix keeps its nodes' decisions and sleep sets (done: the
	// siblings explored before it), so its task explores exactly its share.
	return d.frontier
}

// statsOf recomputes a task's counts from its first executions.
func statsOf(recs []execRecord) Stats {
	var st Stats
	for _, e := range recs {
		st.Executions++
		st.Steps += int64(e.steps)
		st.MaxDepth = max(st.MaxDepth, int(e.steps))
		switch e.end {
		case endPruned:
			st.Pruned++
		case endTruncated:
			st.Truncated++
		case endRevisit:
			st.Revisits++
		}
	}
	return st
}

// runTask explores the subtree below one prefix.
func (r *runner) runTask(mode dfsMode, bound int32, prefix []node, bud *budget, k int) (tr taskResult) {
	d := &dfs{mode: mode, bound: bound, fixed: len(prefix)}
	if mode == modeStateful {
		d.states = newStateTable()
		defer func() {
			tr.stats.States = int64(d.states.n)
			tr.stats.BytesPerState = d.states.bytesPerState()
		}()
	}
	ex := newExecution(r.prog, d, r.opts.MaxSteps, mode.reduces())
	defer ex.close()
	ex.hashPaths = d.states != nil
	ex.nodes = append(ex.nodes, prefix...)
	for {
		if r.expired() {
			tr.stopped = r.stopReason()
			break
		}
		if bud.spent(k) {
			tr.stopped = fmt.Sprintf("execution budget of %d reached", r.opts.MaxExecutions)
			break
		}
		end := ex.run()
		steps := len(ex.events)
		if bud != nil {
			bud.counts[k].Add(1)
			tr.perExec = append(tr.perExec, execRecord{int32(steps), end})
		}
		tr.stats.Executions++
		tr.stats.Steps += int64(steps)
		tr.stats.MaxDepth = max(tr.stats.MaxDepth, steps)
		r.live.Add(1)
		r.liveStep.Add(int64(steps))
		switch end {
		case endPruned:
			tr.stats.Pruned++
		case endTruncated:
			tr.stats.Truncated++
		case endRevisit:
			tr.stats.Revisits++
		case endFailure:
			tr.failure = ex.failure
			tr.sched = ex.schedule()
			tr.preempt = ex.preemptions()
			tr.length = steps
			tr.failExec = tr.stats.Executions - 1
			tr.boundCut = d.boundCut
			return tr
		}
		if mode.reduces() {
			d.addBacktracks(ex)
		}
		if !d.advance(ex) {
			break
		}
	}
	tr.boundCut = d.boundCut
	return tr
}

// stateful runs the state-caching search as one task: its table of
// expanded states is what makes it fast, and one table serves one search,
// so the result cannot depend on the worker count.
func (r *runner) stateful() *Result {
	if err := r.declaresState(); err != nil {
		return &Result{Verdict: Incomplete, Reason: err.Error()}
	}
	var bud *budget
	if r.opts.MaxExecutions > 0 {
		bud = &budget{max: r.opts.MaxExecutions, counts: make([]atomic.Int64, 1)}
	}
	stop := r.startProgress()
	tr := r.runTask(modeStateful, 0, nil, bud, 0)
	stop()
	res := r.merge([]taskResult{tr})
	sym := ""
	if r.symmetric {
		sym = " up to permutations of symmetric threads"
	}
	res.Bounds = fmt.Sprintf("all reachable states%s (model-declared digest), every transition from each, ≤%d steps deep", sym, r.opts.MaxSteps)
	return res
}

// declaresState builds the program once to check it declares its state.
func (r *runner) declaresState() error {
	var declared bool
	ex := newExecution(func(s *System) {
		r.prog(s)
		declared = s.stateFn != nil
		r.symmetric = len(s.symClasses) > 0
	}, &replayer{}, r.opts.MaxSteps, false)
	defer ex.close()
	ex.run()
	if !declared {
		return fmt.Errorf("the program declares no state digest (System.State), which the %s strategy needs", Stateful)
	}
	return nil
}

// bounded is iterative preemption bounding.
func (r *runner) bounded() *Result {
	var total Stats
	cut := false
	for b := 0; b <= r.opts.MaxPreemptions; b++ {
		res := r.exhaustiveBounded(int32(b), &cut)
		total.add(res.Stats)
		if res.Verdict != Safe {
			res.Stats = total
			res.Bounds = fmt.Sprintf("all interleavings with ≤%d preemptions, ≤%d steps each", b, r.opts.MaxSteps)
			return res
		}
		if !cut {
			// The bound excluded nothing: this was exhaustive.
			res.Stats = total
			res.Bounds = fmt.Sprintf("all interleavings (no more than %d preemptions exist), ≤%d steps each", b, r.opts.MaxSteps)
			return res
		}
	}
	return &Result{Verdict: Safe, Stats: total,
		Bounds: fmt.Sprintf("all interleavings with ≤%d preemptions, ≤%d steps each", r.opts.MaxPreemptions, r.opts.MaxSteps)}
}

func (r *runner) exhaustiveBounded(b int32, cut *bool) *Result {
	stopProgress := r.startProgress()
	var bud *budget
	if r.opts.MaxExecutions > 0 {
		bud = &budget{max: r.opts.MaxExecutions, counts: make([]atomic.Int64, 1)}
	}
	tr := r.runTask(modeBounded, b, nil, bud, 0)
	*cut = tr.boundCut
	stopProgress()
	return r.merge([]taskResult{tr})
}

// sampler is a driver of sampled executions, reseeded for each.
type sampler interface {
	driver
	reseed(seed uint64, i int64)
}

// sampled runs sampled executions (what names them in the bounds),
// indexed so that each execution's seed, and therefore the reported one,
// is independent of the workers. newSampler makes one worker's driver
// given the probe run's length.
func (r *runner) sampled(what string, newSampler func(horizon int) sampler) *Result {
	n := r.opts.MaxExecutions
	steps := make([]int32, n)
	ends := make([]outcome, n)
	var best atomic.Int64
	best.Store(n)
	var bestFail *Failure
	var bestSched Schedule
	var bestPre int
	var mu sync.Mutex
	var next atomic.Int64
	horizon := r.probeHorizon()
	var wg sync.WaitGroup
	stopProgress := r.startProgress()
	for w := 0; w < r.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			drv := newSampler(horizon)
			ex := newExecution(r.prog, drv, r.opts.MaxSteps, false)
			defer ex.close()
			for {
				i := next.Add(1) - 1
				if i >= n || i > best.Load() || r.expired() {
					return
				}
				drv.reseed(r.opts.Seed, i)
				end := ex.run()
				steps[i] = int32(len(ex.events))
				ends[i] = end
				r.live.Add(1)
				r.liveStep.Add(int64(len(ex.events)))
				if end == endFailure {
					mu.Lock()
					if i < best.Load() {
						best.Store(i)
						bestFail, bestSched, bestPre = ex.failure, ex.schedule(), ex.preemptions()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	stopProgress()
	res := &Result{Verdict: Incomplete}
	last := n
	if bestFail != nil {
		last = best.Load() + 1
	}
	for i := int64(0); i < last; i++ {
		if ends[i] == endTruncated {
			res.Stats.Truncated++
		}
		res.Stats.Steps += int64(steps[i])
		res.Stats.MaxDepth = max(res.Stats.MaxDepth, int(steps[i]))
	}
	res.Stats.Executions = last
	res.Bounds = fmt.Sprintf("%d %s (seed %d), ≤%d steps each: sampled, not exhaustive", n, what, r.opts.Seed, r.opts.MaxSteps)
	if bestFail != nil {
		res.Verdict = Violation
		if bestFail.Stuck {
			res.Verdict = Stuck
		}
		res.Failure, res.Schedule, res.Preemptions = bestFail, bestSched, bestPre
		res.Length = int(steps[best.Load()])
		return res
	}
	if r.timedOut.Load() {
		res.Reason = r.stopReason()
	} else {
		res.Reason = fmt.Sprintf("sampled %d executions without a violation; sampling cannot prove safety", n)
	}
	return res
}

// probeHorizon runs one default execution to estimate the steps PCT
// spreads its change points over.
func (r *runner) probeHorizon() int {
	rp := &replayer{extend: true}
	ex := newExecution(r.prog, rp, r.opts.MaxSteps, false)
	defer ex.close()
	ex.run()
	return max(1, len(ex.events))
}

func (r *runner) startProgress() func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(r.opts.ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				r.opts.Progress(Stats{Executions: r.live.Load(), Steps: r.liveStep.Load(), Elapsed: time.Since(start)})
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// schedule extracts the decisions of the last execution.
func (ex *execution) schedule() Schedule {
	s := make(Schedule, ex.cursor)
	for i := range s {
		s[i] = int(ex.nodes[i].chosen)
	}
	return s
}

// preemptions counts the preemptive context switches of the last
// execution.
func (ex *execution) preemptions() int {
	n := 0
	for i := 0; i < ex.cursor; i++ {
		nd := &ex.nodes[i]
		if nd.kind == nodeSched && preemptionAt(nd.prev, nd.enabled, int(nd.chosen)) {
			n++
		}
	}
	return n
}

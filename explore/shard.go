package explore

import (
	"fmt"
	"strings"
	"time"
)

// Sharding splits one exhaustive search across processes (or machines):
// the search is cut into tasks at Options.SplitDepth exactly as a
// one-process split search is, shard i of n runs the tasks k with
// k % n == i, and MergeShards combines every shard's task results in task
// order with the engine's own merge. The merged result is therefore the
// one an unsharded Explore with the same SplitDepth returns — verdict,
// counts, counterexample — whatever n is; only the elapsed time differs.

// TaskResult is one task's share of a sharded search: what runTask found
// below one prefix of the split.
type TaskResult struct {
	Task        int      `json:"task"`
	Stats       Stats    `json:"stats"`
	Failure     *Failure `json:"failure,omitempty"`
	Schedule    Schedule `json:"schedule,omitempty"`
	Preemptions int      `json:"preemptions,omitempty"`
	Length      int      `json:"length,omitempty"`
	// Stopped says why the task stopped early (time limit, interrupt).
	Stopped string `json:"stopped,omitempty"`
}

// ShardResult is what one shard found: the task results of its share, in
// task order. A shard stops after its first failing task: its later tasks
// come after that failure in task order, so no merge counts them.
type ShardResult struct {
	Shard      int      `json:"shard"`
	Of         int      `json:"of"`
	Strategy   Strategy `json:"strategy"`
	SplitDepth int      `json:"split_depth"`
	MaxSteps   int      `json:"max_steps"`
	// Tasks is the number of tasks of the whole search (all shards).
	Tasks   int           `json:"tasks"`
	Results []TaskResult  `json:"results"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// shardMode is the DFS mode a shard of the strategy runs; only the
// exhaustive strategies that split into independent tasks shard.
func shardMode(s Strategy) (dfsMode, error) {
	if st, ok := lookupStrategy(s); ok && st.shardable {
		return st.shard, nil
	}
	var names []string
	for _, st := range strategyTable {
		if st.shardable {
			names = append(names, string(st.name))
		}
	}
	return 0, fmt.Errorf("strategy %q cannot be sharded (want %s)", s, strings.Join(names, " or "))
}

// checkShardable refuses options whose result would depend on the other
// shards: a global execution budget is spent in task order across every
// shard, which no shard alone can honour.
func checkShardable(opts Options) (dfsMode, error) {
	mode, err := shardMode(opts.Strategy)
	if err != nil {
		return 0, err
	}
	if opts.SplitDepth < 1 {
		return 0, fmt.Errorf("split depth %d: a sharded search needs a split depth of at least 1", opts.SplitDepth)
	}
	if opts.MaxExecutions > 0 {
		return 0, fmt.Errorf("an execution budget (%d) cannot be sharded: it is spent in task order across all shards", opts.MaxExecutions)
	}
	return mode, nil
}

// ExploreShard runs shard `shard` of `of` of the exhaustive search
// Explore(prog, opts) would run: the tasks k of the split at
// opts.SplitDepth with k % of == shard, one after another (Workers is not
// used).
func ExploreShard(prog Program, opts Options, shard, of int) (*ShardResult, error) {
	opts = opts.withDefaults()
	if of < 1 || shard < 0 || shard >= of {
		return nil, fmt.Errorf("shard %d/%d: want 0 ≤ shard < n and n ≥ 1", shard, of)
	}
	mode, err := checkShardable(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var deadline time.Time
	if opts.TimeLimit > 0 {
		deadline = start.Add(opts.TimeLimit)
	}
	r := &runner{prog: prog, opts: opts, deadline: deadline}
	stopProgress := r.startProgress()
	prefixes := r.frontier(mode, 0)
	out := &ShardResult{Shard: shard, Of: of, Strategy: opts.Strategy, SplitDepth: opts.SplitDepth,
		MaxSteps: opts.MaxSteps, Tasks: len(prefixes), Results: []TaskResult{}}
	for k := shard; k < len(prefixes); k += of {
		tr := r.runTask(mode, 0, prefixes[k], nil, k)
		out.Results = append(out.Results, TaskResult{Task: k, Stats: tr.stats, Failure: tr.failure,
			Schedule: tr.sched, Preemptions: tr.preempt, Length: tr.length, Stopped: tr.stopped})
		if tr.failure != nil {
			break
		}
	}
	stopProgress()
	out.Elapsed = time.Since(start)
	return out, nil
}

// exhaustiveBounds is the Bounds text Explore gives the strategy.
func exhaustiveBounds(opts Options) string {
	st, _ := lookupStrategy(opts.Strategy)
	return st.bounds(opts)
}

// MergeShards combines the results of shards 0..n-1 of one search into
// the Result Explore(prog, opts) returns with the same SplitDepth. It
// refuses a missing or duplicated shard, shards of different splits
// (n, strategy, split depth, step bound, task count) and a shard whose
// tasks are not its share. Stats.Elapsed is the longest shard's.
func MergeShards(opts Options, parts []*ShardResult) (*Result, error) {
	opts = opts.withDefaults()
	if _, err := checkShardable(opts); err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("no shard results to merge")
	}
	of, tasks := parts[0].Of, parts[0].Tasks
	byShard := make([]*ShardResult, of)
	var elapsed time.Duration
	for _, p := range parts {
		switch {
		case p.Of != of:
			return nil, fmt.Errorf("shard %d/%d and shard %d/%d split the search differently (n = %d vs %d)", parts[0].Shard, of, p.Shard, p.Of, of, p.Of)
		case p.Shard < 0 || p.Shard >= of:
			return nil, fmt.Errorf("shard %d/%d: index out of range", p.Shard, p.Of)
		case byShard[p.Shard] != nil:
			return nil, fmt.Errorf("shard %d/%d given twice", p.Shard, of)
		case p.Strategy != opts.Strategy:
			return nil, fmt.Errorf("shard %d/%d ran strategy %q, the merge expects %q", p.Shard, of, p.Strategy, opts.Strategy)
		case p.SplitDepth != opts.SplitDepth:
			return nil, fmt.Errorf("shard %d/%d was split at depth %d, the merge expects %d", p.Shard, of, p.SplitDepth, opts.SplitDepth)
		case p.MaxSteps != opts.MaxSteps:
			return nil, fmt.Errorf("shard %d/%d ran with a step bound of %d, the merge expects %d", p.Shard, of, p.MaxSteps, opts.MaxSteps)
		case p.Tasks != tasks:
			return nil, fmt.Errorf("shard %d/%d has %d tasks, shard %d/%d has %d: not the same search", p.Shard, of, p.Tasks, parts[0].Shard, of, tasks)
		}
		byShard[p.Shard] = p
		elapsed = max(elapsed, p.Elapsed)
	}
	var missing []int
	for i, p := range byShard {
		if p == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing shards %v of %d", missing, of)
	}
	results := make([]taskResult, tasks)
	have := make([]bool, tasks)
	for _, p := range byShard {
		want := p.Shard
		for i, tr := range p.Results {
			if tr.Task != want {
				return nil, fmt.Errorf("shard %d/%d: result %d is task %d, want task %d", p.Shard, of, i, tr.Task, want)
			}
			if tr.Failure != nil && i != len(p.Results)-1 {
				return nil, fmt.Errorf("shard %d/%d: task %d failed but later tasks follow it", p.Shard, of, tr.Task)
			}
			results[tr.Task] = taskResult{stats: tr.Stats, failure: tr.Failure, sched: tr.Schedule,
				preempt: tr.Preemptions, length: tr.Length, stopped: tr.Stopped}
			have[tr.Task] = true
			want += of
		}
		if want < tasks && (len(p.Results) == 0 || p.Results[len(p.Results)-1].Failure == nil) {
			return nil, fmt.Errorf("shard %d/%d is incomplete: task %d has no result and no earlier task of the shard failed", p.Shard, of, want)
		}
	}
	// A task without a result follows a failure of its own shard, so the
	// merge, which stops at the first failing task, never reaches it;
	// cut the list there to make sure.
	for k := range results {
		if !have[k] {
			results = results[:k]
			break
		}
	}
	r := &runner{opts: opts}
	res := r.merge(results)
	if res.Failure == nil && len(results) < tasks {
		return nil, fmt.Errorf("internal: merge reached task %d, which no shard ran", len(results))
	}
	res.Strategy = opts.Strategy
	res.Bounds = exhaustiveBounds(opts)
	res.Stats.Elapsed = elapsed
	res.Stats.ExecPerSec = res.Stats.PerSecond()
	if res.Verdict == Safe && res.Stats.Truncated > 0 {
		res.Verdict = Incomplete
		res.Reason = fmt.Sprintf("%d executions hit the %d-step bound", res.Stats.Truncated, opts.MaxSteps)
	}
	return res, nil
}

package explore_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

// shardAll runs every shard of n and merges them.
func shardAll(t *testing.T, prog explore.Program, opts explore.Options, n int) *explore.Result {
	t.Helper()
	parts := make([]*explore.ShardResult, n)
	for i := range parts {
		p, err := explore.ExploreShard(prog, opts, i, n)
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		parts[i] = p
	}
	// Merge order must not matter: hand the shards over reversed.
	rev := make([]*explore.ShardResult, n)
	for i, p := range parts {
		rev[n-1-i] = p
	}
	res, err := explore.MergeShards(opts, rev)
	if err != nil {
		t.Fatalf("merge of %d shards: %v", n, err)
	}
	return res
}

// same compares everything but the wall-clock figures.
func same(t *testing.T, what string, got, want *explore.Result) {
	t.Helper()
	g, w := *got, *want
	g.Stats.Elapsed, w.Stats.Elapsed, g.Stats.ExecPerSec, w.Stats.ExecPerSec = 0, 0, 0, 0
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: merged shards differ from the unsharded run:\n got %+v (failure %+v)\nwant %+v (failure %+v)", what, g, g.Failure, w, w.Failure)
	}
}

// TestShardsEqualUnsharded: for n = 1..8 the merged shards give the
// unsharded result with the same split depth — verdict, counts,
// counterexample — on engine benchmarks and catalog scenarios, safe and
// failing.
func TestShardsEqualUnsharded(t *testing.T) {
	type tc struct {
		name string
		prog explore.Program
		opts explore.Options
	}
	cases := []tc{
		{"lastzero(5)", explore.LastZero(5), explore.Options{SplitDepth: 4}},
		{"writers(5)", explore.Writers(5), explore.Options{SplitDepth: 3}},
		{"peterson(false)", explore.Peterson(false), explore.Options{SplitDepth: 5}},
		{"writers(4)/exhaustive", explore.Writers(4), explore.Options{Strategy: explore.Exhaustive, SplitDepth: 3}},
	}
	for _, name := range []string{"x86/no-sync1/bytewise/inside-line", "x86/text_poke_bp/bytewise/inside-line", "livepatch/s2-caller-split", "livepatch/s10-force"} {
		s, ok := catalog.Find(name)
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		prog, opts, err := catalog.Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		opts.SplitDepth = 6
		cases = append(cases, tc{name, prog, opts})
	}
	for _, c := range cases {
		want := explore.Explore(c.prog, c.opts)
		if want.Verdict == explore.Incomplete {
			t.Fatalf("%s: unsharded run incomplete (%s)", c.name, want.Reason)
		}
		top := 8
		if testing.Short() && want.Stats.Executions > 20000 {
			top = 4
		}
		for n := 1; n <= top; n++ {
			same(t, c.name+" n="+string(rune('0'+n)), shardAll(t, c.prog, c.opts, n), want)
		}
		t.Logf("%s: %s, %d executions, shards 1..%d agree", c.name, want.Verdict, want.Stats.Executions, top)
	}
}

// TestMergeRefuses: a missing, duplicated or foreign shard is refused
// with a message that says which.
func TestMergeRefuses(t *testing.T) {
	prog := explore.Writers(3)
	opts := explore.Options{SplitDepth: 2}
	var parts []*explore.ShardResult
	for i := 0; i < 3; i++ {
		p, err := explore.ExploreShard(prog, opts, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	other, err := explore.ExploreShard(prog, explore.Options{SplitDepth: 3}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	four, err := explore.ExploreShard(prog, opts, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	cut := *parts[1]
	cut.Results = cut.Results[:len(cut.Results)-1]
	for _, c := range []struct {
		name  string
		opts  explore.Options
		parts []*explore.ShardResult
		want  string
	}{
		{"missing", opts, parts[:2], "missing shards [2] of 3"},
		{"duplicate", opts, []*explore.ShardResult{parts[0], parts[1], parts[1]}, "shard 1/3 given twice"},
		{"other depth", opts, []*explore.ShardResult{parts[0], parts[1], other}, "split at depth 3"},
		{"other n", opts, []*explore.ShardResult{parts[0], parts[1], four}, "split the search differently"},
		{"truncated shard", opts, []*explore.ShardResult{parts[0], &cut, parts[2]}, "is incomplete"},
		{"budget", explore.Options{SplitDepth: 2, MaxExecutions: 10}, parts, "execution budget"},
		{"bounded", explore.Options{SplitDepth: 2, Strategy: explore.Bounded}, parts, "cannot be sharded"},
		{"none", opts, nil, "no shard results"},
	} {
		_, err := explore.MergeShards(c.opts, c.parts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := explore.ExploreShard(prog, opts, 3, 3); err == nil {
		t.Errorf("shard 3/3 accepted")
	}
	if _, err := explore.ExploreShard(prog, explore.Options{}, 0, 2); err == nil {
		t.Errorf("split depth 0 accepted")
	}
}

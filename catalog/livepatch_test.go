package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/explore"
)

// stuckBlockers are what the stuck verdicts must name (the kernel's "is
// running" / "is sleeping on function" reasons), and must not name.
var stuckBlockers = map[string]struct{ want, not []string }{
	"livepatch/s3-cpu-bound-kthread-pre-6.4":    {want: []string{"K:100 is running"}},
	"livepatch/s3-cond-resched-inside-f":        {want: []string{"K:100 is running"}},
	"livepatch/s4-idle-cpu-pre-5.16":            {want: []string{"swapper/1:0 is running"}, not: []string{"swapper/0", "swapper/2"}},
	"livepatch/s16-sleepers-signals":            {want: []string{"D:102 is sleeping on function f"}, not: []string{"U:", "K:"}},
	"livepatch/s18-unreliable-stacks":           {want: []string{"C:101 cannot be switched by a stack check"}, not: []string{"U:", "swapper", "has an unreliable stack"}},
	"livepatch/history-idle-cpu-buggy":          {want: []string{"swapper/1:0 is running"}, not: []string{"swapper/0", "swapper/2"}},
	"livepatch/history-cpu-bound-kthread-buggy": {want: []string{"K:100 is running"}},
	"livepatch/history-bpf-trampoline-buggy":    {want: []string{"K:100 has an unreliable stack"}},
}

// TestLivepatchBuiltin explores every built-in livepatch scenario with its
// own bounds and compares the computed verdict with the documented one.
func TestLivepatchBuiltin(t *testing.T) {
	for _, s := range Livepatch().Builtin() {
		if s.Table == "livepatch selftests" {
			continue // TestSelftestsExplored, which also checks the log
		}
		t.Run(strings.TrimPrefix(s.Name, "livepatch/"), func(t *testing.T) {
			prog, opts, err := Prepare(s)
			if err != nil {
				t.Fatal(err)
			}
			opts.TimeLimit = 5 * time.Minute
			res := explore.Explore(prog, opts)
			got := string(res.Verdict)
			if res.Failure != nil {
				got += ":" + res.Failure.Property
			}
			t.Logf("%s: %s in %d executions (%d pruned, max depth %d), %s (%s)", s.Name, got, res.Stats.Executions, res.Stats.Pruned, res.Stats.MaxDepth, res.Stats.Elapsed.Round(time.Millisecond), res.Bounds)
			if res.Failure != nil {
				t.Logf("failure: %s", res.Failure.Message)
			}
			if b, ok := stuckBlockers[s.Name]; ok && res.Failure != nil {
				for _, w := range b.want {
					if !strings.Contains(res.Failure.Message, w) {
						t.Errorf("stuck message %q does not name %q", res.Failure.Message, w)
					}
				}
				for _, w := range b.not {
					if strings.Contains(res.Failure.Message, w) {
						t.Errorf("stuck message %q names %q, which does not block", res.Failure.Message, w)
					}
				}
			}
			if got != s.Expect {
				t.Errorf("verdict %s, expected %s", got, s.Expect)
				if res.Failure != nil {
					t.Log(explore.Explain(prog, res))
				}
			}
		})
	}
}

// FuzzLivepatchParams: any livepatch params either build (and then run: a
// few random executions end in a verdict, never a panic) or fail naming a
// params field. Seeds: the selftest scenarios (modules with work, init
// steps, kprobes, shadow bodies, state callback bodies, pids) and the
// §6/history catalog.
func FuzzLivepatchParams(f *testing.F) {
	for i, s := range Livepatch().Builtin() {
		if i%3 == 0 || s.Table == "livepatch selftests" && i%2 == 0 {
			f.Add([]byte(s.Params))
		}
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		prog, err := Build(Scenario{Name: "fuzz", Kind: "livepatch", Params: params})
		if err != nil {
			if !strings.Contains(err.Error(), "params") {
				t.Fatalf("error does not name a params field: %v", err)
			}
			return
		}
		r := explore.Explore(prog, explore.Options{Strategy: explore.Random, MaxExecutions: 3, MaxSteps: 3000, Seed: 1, TimeLimit: 2 * time.Second})
		if r.Failure != nil && r.Failure.Property == "panic" {
			t.Fatalf("panic: %s", r.Failure.Message)
		}
	})
}

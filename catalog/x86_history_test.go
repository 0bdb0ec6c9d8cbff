package catalog

import (
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// TestX86History explores every x86 history scenario with its own bounds
// and compares the verdict with its Expect: each buggy variant must be a
// violation of the named property, each fix safe.
func TestX86History(t *testing.T) {
	n := 0
	for _, s := range X86().Builtin() {
		if s.Table != x86HistoryTable {
			continue
		}
		n++
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		v := verdict(r)
		if v != s.Expect {
			t.Errorf("%s: %s, expected %s", s.Name, v, s.Expect)
			if r.Failure != nil {
				t.Logf("%s", r.Failure.Message)
			}
		}
		t.Logf("%s: %s, length %d, %d preemptions, %d executions in %v", s.Name, v, r.Length, r.Preemptions, r.Stats.Executions, r.Stats.Elapsed.Round(1e6))
	}
	if n == 0 {
		t.Fatal("no history scenarios")
	}
}

// TestX86HistoryParamErrors: the parameters the history scenarios added
// are checked and their errors name the field.
func TestX86HistoryParamErrors(t *testing.T) {
	for _, c := range []struct{ params, want string }{
		{`{"old":"0f1f440000","new":"e8e7570700","unrelated_int3":true,"kprobe_last":true}`, "params.kprobe_last: no longer accepted"},
		{`{"old":"0f1f440000","new":"e8e7570700","capacity":-1}`, "params.capacity: "},
		{`{"old":"0f1f440000","new":"e8e7570700","capacity":65}`, "params.capacity: "},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"text_poke_bp-v3.12","disable":["sync1"]}`, "params.disable: "},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"text_poke_bp_batch-v5.3","disable":["sync3"]}`, "params.disable: "},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"kprobe-disarm-rcu"}`, "params.new: a kprobe arms and disarms one probed byte"},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"text_poke_bp-v9"}`, "params.variant: unknown protocol variant"},
	} {
		_, err := Build(Scenario{Name: "bad", Kind: "x86", Params: []byte(c.params)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant an error containing %q", c.params, err, c.want)
		}
	}
}

// TestX86HistoryBoundedAgrees cross-checks DPOR's footprints on the
// history variants: plain preemption-bounded search (no partial-order
// reduction, ≤3 preemptions, at most 50,000 executions each: a safe
// scenario whose bound runs out is logged, not failed)
// finds no violation in a fixed variant and finds the named property in
// each buggy one.
func TestX86HistoryBoundedAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("bounded search of every history scenario")
	}
	for _, s := range X86().Builtin() {
		if s.Table != x86HistoryTable {
			continue
		}
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		d := explore.Explore(prog, opts)
		bound := max(3, d.Preemptions)
		if bound > 3 {
			continue
		}
		b := explore.Explore(prog, explore.Options{Strategy: explore.Bounded, MaxPreemptions: bound, MaxSteps: opts.MaxSteps, MaxExecutions: 50000})
		v := verdict(b)
		if v == "incomplete" && s.Expect == "safe" {
			t.Logf("%s: bounded search incomplete after %d executions", s.Name, b.Stats.Executions)
			continue
		}
		if v != s.Expect {
			t.Errorf("%s: bounded (≤%d preemptions) says %s, DPOR %s, expected %s", s.Name, bound, v, verdict(d), s.Expect)
		}
		t.Logf("%s: bounded %s in %d executions (%v)", s.Name, v, b.Stats.Executions, b.Stats.Elapsed.Round(1e6))
	}
}

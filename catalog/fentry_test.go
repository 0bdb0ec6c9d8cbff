package catalog

import (
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// TestFentryHistory explores the 2019 row (x86 and livepatch in one
// scenario) with each scenario's own bounds and compares the verdicts
// with Expect; the buggy variants must fail on the named property.
func TestFentryHistory(t *testing.T) {
	n := 0
	for _, s := range Fentry().Builtin() {
		n++
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		if v := verdict(r); v != s.Expect {
			t.Errorf("%s: %s, expected %s", s.Name, v, s.Expect)
			if r.Failure != nil {
				t.Logf("%s", r.Failure.Message)
			}
		}
		if r.Failure != nil && s.Expect == "violation:mixed-state" && !strings.Contains(r.Failure.Message, "enters f (the old version)") {
			t.Errorf("%s: the task should enter the original f: %s", s.Name, r.Failure.Message)
		}
		t.Logf("%s: %s, length %d, %d preemptions, %d executions in %v", s.Name, verdict(r), r.Length, r.Preemptions, r.Stats.Executions, r.Stats.Elapsed.Round(1e6))
	}
	if n < 4 {
		t.Fatalf("%d fentry scenarios, want the 2019 row's 4", n)
	}
}

// TestFentryBoundedAgrees cross-checks the footprints of the joined
// models (the x86 properties are sticky checks that add no dependencies):
// plain preemption-bounded search, without partial-order reduction, gives
// the same verdicts within two preemptions.
func TestFentryBoundedAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("bounded search")
	}
	for _, s := range Fentry().Builtin() {
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		b := explore.Explore(prog, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 1, MaxSteps: opts.MaxSteps})
		if v := verdict(b); v != s.Expect {
			t.Errorf("%s: bounded (≤1 preemption) says %s, expected %s", s.Name, v, s.Expect)
		}
	}
}

// TestFentryParamErrors: bad parameters name their field.
func TestFentryParamErrors(t *testing.T) {
	world := `"livepatch":{"functions":["f","g"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"f"}]}]}],"tasks":[{"name":"T","kind":"user","program":["call f","ret"]}],"script":["load_lp P"]}`
	for _, c := range []struct{ params, want string }{
		{``, "params: a fentry scenario needs params"},
		{`{` + world + `}`, "params.traced: missing"},
		{`{` + world + `,"traced":"h"}`, `params.traced: "h" is not in params.livepatch.functions`},
		{`{` + world + `,"traced":"g"}`, `params.traced: "g" is not patched by any patch`},
		{`{` + world + `,"traced":"f","variant":"naive-copy"}`, "params.variant: naive-copy does not rewrite fentry sites"},
		{`{` + world + `,"traced":"f","variant":"ftrace-int3-sk1p"}`, "params.variant: "},
		{`{` + world + `,"traced":"f","fetch":"block:3"}`, "params.fetch: "},
		{`{` + world + `,"traced":"f","ignore":["torn-decode"]}`, "params.ignore[0]: \"torn-decode\"; only emulation"},
		{`{` + world + `,"traced":"f","bogus":1}`, `unknown field "bogus"`},
		{`{"livepatch":{"functions":["f"],"tasks":[],"script":[]},"traced":"f"}`, "params.livepatch.tasks: 0 tasks"},
		{`{"livepatch":{"functions":[""],"tasks":[{"name":"T","kind":"user","program":["ret"]}],"script":[]},"traced":"f"}`, "params.livepatch.functions[0]: empty function name"},
		{`{"livepatch":{"functions":["f"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"f"}]}]}],"tasks":[{"name":"T","kind":"user","program":["call h"]}],"script":[]},"traced":"f"}`, "params.livepatch.tasks[0].program"},
	} {
		_, err := Build(Scenario{Name: "bad", Kind: "fentry", Params: []byte(c.params)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant an error containing %q", c.params, err, c.want)
		}
	}
}

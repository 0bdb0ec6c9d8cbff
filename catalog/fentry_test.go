package catalog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
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
	checked := 0
	for _, s := range Fentry().Builtin() {
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		b := explore.Explore(prog, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 1, MaxSteps: opts.MaxSteps})
		if v := verdict(b); v != s.Expect {
			t.Errorf("%s: bounded (≤1 preemption) says %s, expected %s", s.Name, v, s.Expect)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("compared %d fentry scenarios; want the catalog's (at least 3)", checked)
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

// TestFentryCoversNewBytes: a task's CPU takes IPIs between its site
// executions, so the writer can return while the task still runs, and
// the safe rows cover a task executing the new CALL (and fetching after
// the writer returned), not only the int3 window.
func TestFentryCoversNewBytes(t *testing.T) {
	s, ok := Find("fentry/history/2019-fentry-skip/fixed")
	if !ok {
		t.Fatal("no fixed 2019 row")
	}
	prog, last, err := BuildFentryObserved(s)
	if err != nil {
		t.Fatal(err)
	}
	var byClass [5]int
	afterReturn := 0
	probe := func(sys *explore.System) {
		prog(sys)
		sys.AtEnd("probe", func() error {
			m := last()
			for _, e := range m.Execs {
				byClass[e.Decoded]++
				if m.Writer.Done && e.Begin > m.Writer.DoneAt {
					afterReturn++
					if e.Decoded != model.ClassNew {
						t.Errorf("a fetch after the writer returned decoded %s", e.Decoded)
					}
				}
			}
			return nil
		})
	}
	opts, _ := s.Explore.Options()
	opts.Workers = 1
	r := explore.Explore(probe, opts)
	if r.Verdict != explore.Safe {
		t.Fatalf("%s: %s", s.Name, r.Verdict)
	}
	t.Logf("site executions by decoded class %v (other, old, new, int3, torn), %d after the writer returned", byClass, afterReturn)
	if byClass[model.ClassNew] == 0 || byClass[model.ClassOld] == 0 || byClass[model.ClassInt3] == 0 || afterReturn == 0 {
		t.Errorf("the exploration misses a kind of site execution: by class %v, %d after the writer returned", byClass, afterReturn)
	}
}

// TestFentryTaskNeverReturns: a task that blocks for good, or a child
// nobody forks, must not hold up ftrace's writer (its CPU still takes the
// sync IPIs), so the current kernel stays safe — once a false final-text
// violation (the writer never returned).
func TestFentryTaskNeverReturns(t *testing.T) {
	world := `"functions":["f"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"f"}]}]}],"script":["load_lp P"]`
	for name, tasks := range map[string]string{
		"block":    `[{"name":"T","kind":"user","program":["call f","ret","block"]}]`,
		"unforked": `[{"name":"T","kind":"user","program":["call f","ret","user"]},{"name":"C","kind":"user","child":true,"program":["user"]}]`,
	} {
		s := Scenario{Name: name, Kind: "fentry", Params: []byte(`{"livepatch":{` + world + `,"tasks":` + tasks + `},"traced":"f"}`)}
		prog, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		if r := explore.Explore(prog, explore.Options{MaxSteps: 3000}); r.Verdict != explore.Safe {
			t.Errorf("%s: %s %v", name, r.Verdict, r.Failure)
		}
	}
}

// FuzzFentryParams: any params either build (and then run: a few random
// executions end in a verdict, never a panic) or fail naming a params
// field.
func FuzzFentryParams(f *testing.F) {
	world := `"livepatch":{"functions":["f","g"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"g"},{"old_name":"f"}]}]}],"tasks":[{"name":"T","kind":"user","program":["user","call g","call f","ret","ret","user"]}],"script":["load_lp P"]}`
	for _, seed := range []string{
		`{` + world + `,"traced":"f"}`,
		`{` + world + `,"traced":"f","variant":"ftrace-int3-skip","ignore":["emulation"],"fetch":"stale:64"}`,
		`{` + world + `,"traced":"f","unregister":true,"variant":"ftrace-int3-emulate-call","fetch":"bytewise"}`,
		`{` + world + `,"traced":"g"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		prog, err := Build(Scenario{Name: "fuzz", Kind: "fentry", Params: params})
		if err != nil {
			if !strings.Contains(err.Error(), "params") {
				t.Fatalf("error does not name a params field: %v", err)
			}
			return
		}
		r := explore.Explore(prog, explore.Options{Strategy: explore.Random, MaxExecutions: 3, MaxSteps: 3000, Seed: 1})
		if r.Failure != nil && r.Failure.Property == "panic" {
			t.Fatalf("panic: %s", r.Failure.Message)
		}
	})
}

// The fentry kind takes up to 8 tasks (9 x86 CPUs) and refuses more; a
// 6-task scenario builds and its executions run (a few random walks).
func TestFentryTaskBounds(t *testing.T) {
	tasks := func(n int) string {
		var ts []string
		for i := 0; i < n; i++ {
			ts = append(ts, fmt.Sprintf(`{"name":"T%d","kind":"user","program":["call f","ret","user"]}`, i))
		}
		return `{"livepatch":{"functions":["f"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"f"}]}]}],"tasks":[` +
			strings.Join(ts, ",") + `],"script":["load_lp P"]},"traced":"f"}`
	}
	if _, err := Build(Scenario{Name: "nine", Kind: "fentry", Params: []byte(tasks(9))}); err == nil || !strings.Contains(err.Error(), "9 tasks; want 1..8") {
		t.Errorf("9 tasks: %v", err)
	}
	prog, err := Build(Scenario{Name: "six", Kind: "fentry", Params: []byte(tasks(6))})
	if err != nil {
		t.Fatal(err)
	}
	res := explore.Explore(prog, explore.Options{Strategy: explore.Random, Seed: 1, MaxExecutions: 20, MaxSteps: 20000})
	if res.Failure != nil {
		t.Fatalf("6 tasks: %s: %s", res.Failure.Property, res.Failure.Message)
	}
	t.Logf("6 tasks: %s, %d executions", res.Verdict, res.Stats.Executions)
}

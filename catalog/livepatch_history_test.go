package catalog

import (
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// TestLivepatchHistoryPairs checks the shape of the livepatch history
// table: every row has a buggy variant expected to fail (violation or
// stuck) and a fixed variant expected safe, and every description cites
// its kernel commit or thread. The verdicts themselves are computed by
// TestLivepatchBuiltin, which explores every built-in scenario, history
// ones included, and compares with Expect.
func TestLivepatchHistoryPairs(t *testing.T) {
	rows := map[string]map[string]Scenario{}
	var order []string
	for _, s := range Livepatch().Builtin() {
		if s.Table != "history" {
			continue
		}
		if rows[s.Row] == nil {
			rows[s.Row] = map[string]Scenario{}
			order = append(order, s.Row)
		}
		rows[s.Row][s.Column] = s
	}
	if len(order) < 4 {
		t.Fatalf("%d livepatch history rows, want at least 4", len(order))
	}
	for _, r := range order {
		b, ok := rows[r]["buggy"]
		if !ok {
			// An open question (no known bug): every column must say so.
			for _, s := range rows[r] {
				if !strings.Contains(s.Description, "open question") && !strings.Contains(s.Description, "same scenario") {
					t.Errorf("row %q has no buggy column and %s is not marked an open question", r, s.Name)
				}
			}
			continue
		}
		if !strings.HasPrefix(b.Expect, "violation:") && !strings.HasPrefix(b.Expect, "stuck:") {
			t.Errorf("row %q: buggy %s expects %s", r, b.Name, b.Expect)
		}
		fixed := 0
		for c, s := range rows[r] {
			if c == "buggy" {
				continue
			}
			fixed++
			if strings.HasPrefix(c, "fixed") && s.Expect != "safe" {
				t.Errorf("row %q: fix %s expects %s", r, s.Name, s.Expect)
			}
		}
		if fixed == 0 {
			t.Errorf("row %q has no fixed column", r)
		}
		for _, s := range rows[r] {
			if !strings.ContainsAny(s.Description, "0123456789") || len(s.Description) < 60 {
				t.Errorf("%s: the description must cite the kernel commit or thread: %q", s.Name, s.Description)
			}
		}
	}
}

// TestReleasingCountReverse: a reverse while the patching transition
// waits for a counted task's put. Under Petr Mladek's POC as posted the
// tracking flag stays cleared, so the put completes the reversed
// transition without a walk (pending-flag); the count-every-release_task
// variant schedules a walk of the reversed transition again: safe.
func TestReleasingCountReverse(t *testing.T) {
	if testing.Short() {
		t.Skip("bounded search")
	}
	for _, c := range []struct{ proposed, want string }{
		{"releasing-tasks-count", "violation:pending-flag"},
		{"releasing-tasks-count-all", "safe"},
	} {
		params := `{"functions":["f","g","h"],"patches":[{"name":"P","objects":[{"name":"vmlinux","funcs":[{"old_name":"f"},{"old_name":"g"}]}]}],` +
			`"tasks":[{"name":"X","kind":"user","program":["user","call h","release_task","ret"]},{"name":"T","kind":"user","program":["user","call f","sleep","call g","ret","ret","user"]}],` +
			`"script":["load_lp_nowait P","echo 0 > /sys/kernel/livepatch/P/enabled"],"proposed":["` + c.proposed + `"]}`
		prog, err := Build(Scenario{Name: c.proposed, Kind: "livepatch", Params: []byte(params)})
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 2, MaxSteps: 3000})
		if got := verdict(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.proposed, got, c.want)
		}
	}
}

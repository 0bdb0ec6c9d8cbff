package catalog

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

var (
	x86Table  = flag.Bool("x86table", false, "explore the whole built-in x86 table (minutes) and compare it with testdata/x86_table.txt")
	x86Update = flag.Bool("x86update", false, "rewrite golden files")
)

// TestX86Table explores every built-in x86 scenario with its own bounds
// and compares verdicts, counterexample lengths, preemptions and
// execution counts (all deterministic) with the golden table. It takes a
// few minutes, so it runs only with -x86table (or -x86update).
func TestX86Table(t *testing.T) {
	if !*x86Table && !*x86Update {
		t.Skip("run with -x86table to explore the whole x86 table")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-44s %-26s %6s %5s %10s\n", "scenario", "verdict", "length", "pre", "executions")
	for _, s := range X86().Builtin() {
		if s.Table == x86HistoryTable {
			continue // TestX86History checks those
		}
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		v := verdict(r)
		if s.Expect != "" && v != s.Expect {
			t.Errorf("%s: %s, expected %s", s.Name, v, s.Expect)
		}
		fmt.Fprintf(&b, "%-44s %-26s %6d %5d %10d\n", s.Name, v, r.Length, r.Preemptions, r.Stats.Executions)
		t.Logf("%s: %s in %v (%.0f executions/s)", s.Name, v, r.Stats.Elapsed.Round(1e6), r.Stats.PerSecond())
	}
	golden := "testdata/x86_table.txt"
	if *x86Update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("the x86 table differs from %s (rerun with -x86update after checking):\n%s", golden, b.String())
	}
}

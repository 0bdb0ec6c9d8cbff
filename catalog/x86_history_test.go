package catalog

import (
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

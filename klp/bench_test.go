package klp

import (
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// BenchmarkExploreSleeper explores a one-task enable (A sleeps in f) with
// DPOR and reports executions and steps per second.
func BenchmarkExploreSleeper(b *testing.B) {
	cfg := Config{Functions: []string{"f", "g"},
		Patches: []PatchConfig{{Name: "P", Objects: []ObjectConfig{{Name: "vmlinux", Funcs: []FuncConfig{{OldName: "f"}, {OldName: "g"}}}}}},
		Tasks:   []TaskConfig{{Name: "A", Kind: "user", Program: []string{"call f", "sleep", "ret", "call g", "ret", "user"}}},
		Script:  []string{"load_lp P", "disable_lp P"}}
	prog, err := Program(&cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var execs, steps int64
	var elapsed float64
	for i := 0; i < b.N; i++ {
		res := explore.Explore(prog, explore.Options{})
		if res.Verdict != explore.Safe {
			b.Fatalf("%s %v", res.Verdict, res.Failure)
		}
		execs += res.Stats.Executions
		steps += res.Stats.Steps
		elapsed += res.Stats.Elapsed.Seconds()
	}
	b.ReportMetric(float64(execs)/float64(b.N), "executions/op")
	b.ReportMetric(float64(execs)/elapsed, "executions/s")
	b.ReportMetric(float64(steps)/elapsed, "steps/s")
}

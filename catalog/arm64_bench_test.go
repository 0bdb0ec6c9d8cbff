package catalog

import (
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// BenchmarkFixedDPOR measures executions per second of exhaustive DPOR on
// the largest one-executor cmodx scenarios (reported as executions/s).
func BenchmarkFixedDPOR(b *testing.B) {
	for _, name := range []string{"arm64/ftrace/1cpu", "arm64/patch-text-mov/1cpu", "riscv/ftrace-pair-nopreempt/1cpu"} {
		s, ok := Find(name)
		if !ok {
			b.Fatalf("%s: not in the catalog", name)
		}
		prog, opts, err := Prepare(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			var execs int64
			for i := 0; i < b.N; i++ {
				r := explore.Explore(prog, opts)
				execs += r.Stats.Executions
			}
			b.ReportMetric(float64(execs)/b.Elapsed().Seconds(), "executions/s")
		})
	}
}

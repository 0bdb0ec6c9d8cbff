package explore

import (
	"fmt"
	"testing"
)

// stepProgram runs threads*steps local operations: with Local footprints
// DPOR explores one execution, so the cost is the scheduling step itself.
func stepProgram(threads, steps int) Program {
	return func(s *System) {
		for i := 0; i < threads; i++ {
			s.Go(fmt.Sprintf("t%d", i), func(t *Thread) {
				for k := 0; k < steps; k++ {
					t.Op("step", Local)
				}
			})
		}
	}
}

// BenchmarkStep is the cost of one scheduling step (pick, record, resume
// the coroutine, park it again), with and without DPOR's clocks.
func BenchmarkStep(b *testing.B) {
	const threads, steps = 3, 1000
	for _, c := range []struct {
		name   string
		clocks bool
	}{{"replay", false}, {"dpor", true}} {
		b.Run(c.name, func(b *testing.B) {
			prog := stepProgram(threads, steps)
			rp := &replayer{extend: true}
			ex := newExecution(prog, rp, 1<<20, c.clocks)
			defer ex.close()
			ex.run() // warm the buffers
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ex.run()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*threads*steps), "ns/step")
		})
	}
}

// BenchmarkExecutions measures executions per second exploring a
// 3-thread program exhaustively.
func BenchmarkExecutions(b *testing.B) {
	for _, c := range []struct {
		name string
		prog Program
		opts Options
	}{
		{"writers3/dpor", Writers(3), Options{}},
		{"lastzero3/dpor", LastZero(3), Options{}},
		{"lastzero3/exhaustive", LastZero(3), Options{Strategy: Exhaustive}},
		{"peterson/exhaustive", Peterson(true), Options{Strategy: Exhaustive}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var execs int64
			for i := 0; i < b.N; i++ {
				execs += Explore(c.prog, c.opts).Stats.Executions
			}
			b.ReportMetric(float64(execs)/b.Elapsed().Seconds(), "execs/s")
		})
	}
}

// BenchmarkReduction reports DPOR's executions against plain enumeration's
// and against the number of Mazurkiewicz traces.
func BenchmarkReduction(b *testing.B) {
	for _, c := range []struct {
		name string
		prog Program
	}{
		{"readers5", Readers(5)},
		{"lastzero4", LastZero(4)},
		{"writers4", Writers(4)},
	} {
		b.Run(c.name, func(b *testing.B) {
			traces, plain := countTraces(c.prog, 1000)
			var dpor int64
			for i := 0; i < b.N; i++ {
				dpor = Explore(c.prog, Options{}).Stats.Executions
			}
			b.ReportMetric(float64(plain)/float64(dpor), "plain/dpor")
			b.ReportMetric(float64(dpor)/float64(traces), "dpor/traces")
		})
	}
}

package catalog

import (
	"encoding/json"
	"flag"
	"fmt"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"pgregory.net/rapid"
)

// TestX86StatefulAgreesWithDPOR is the judge of the x86 state digest
// (model/digest.go, poke/digest.go): the stateful search merges states by
// the digest, so a digest that leaves something out would merge states
// that differ and could call a violation safe. For random small
// configurations of every variant, fetch model, placement, dropped step
// and NMI bound the digest covers, the stateful verdict must equal
// DPOR's. (The first counterexample may name another property: the two
// searches explore in different orders.)
func TestX86StatefulAgreesWithDPOR(t *testing.T) {
	setChecks(t, 10, 30)
	var compared, violations int
	compare := func(fatalf func(string, ...any), skipf func(string, ...any), p X86Params) {
		prog, err := Build(x86(t, "stateful-vs-dpor", p))
		if err != nil {
			skipf("%+v: %v", p, err)
			return
		}
		dpor := explore.Explore(prog, explore.Options{Strategy: explore.DPOR, MaxSteps: 2000, MaxExecutions: 300000})
		if dpor.Verdict == explore.Incomplete {
			skipf("%+v: DPOR incomplete", p)
			return
		}
		st := explore.Explore(prog, explore.Options{Strategy: explore.Stateful, MaxSteps: 2000})
		compared++
		if dpor.Verdict != explore.Safe {
			violations++
		}
		if st.Verdict != dpor.Verdict {
			fatalf("%+v:\nDPOR %s (%v), stateful %s (%v, %s)", p, verdict(dpor), dpor.Stats.Executions, verdict(st), st.Stats.States, st.Reason)
		}
	}
	// One safe and two unsafe configurations always, then random ones.
	// The last found a digest without the prelude's chosen line (a Go
	// local while the fill was pending): two states merged, and the
	// stateful search called a torn decode safe.
	for _, p := range []X86Params{
		{CPUs: 2, Executions: 1, Fetch: "bytewise", Old: hexNOP5, New: hexCALL32},
		{CPUs: 1, Executions: 1, NMIs: 1, Fetch: "stale:16", Placement: "cross-16", Old: hexNOP5, New: hexJMP32, Disable: []string{"sync2"}},
		{CPUs: 1, Executions: 1, Fetch: "stale:16", Placement: "cross-16", Old: hexNOP5, New: hexCALL32, Disable: []string{"sync2", "refs-drain"}},
	} {
		compare(t.Fatalf, t.Fatalf, p)
	}
	rapid.Check(t, func(rt *rapid.T) {
		pairs := [][2]string{{hexNOP5, hexCALL32}, {hexNOP5, hexJMP32}, {hexNOP2, hexJMP8}}
		pair := pairs[rapid.IntRange(0, len(pairs)-1).Draw(rt, "instructions")]
		p := X86Params{
			CPUs:       rapid.IntRange(1, 2).Draw(rt, "cpus"),
			Executions: rapid.IntRange(1, 2).Draw(rt, "executions"),
			NMIs:       rapid.IntRange(0, 1).Draw(rt, "nmis"),
			WriterNMIs: rapid.IntRange(0, 1).Draw(rt, "writer nmis"),
			Old:        pair[0],
			New:        pair[1],
			Fetch:      rapid.SampledFrom([]string{"bytewise", "block:8", "block:16", "stale:16", "stale:64"}).Draw(rt, "fetch"),
			Placement:  rapid.SampledFrom([]string{"inside-line", "cross-16"}).Draw(rt, "placement"),
			Variant:    rapid.SampledFrom([]string{"", "", "", "naive-copy", "naive-atomic"}).Draw(rt, "variant"),
		}
		if rapid.IntRange(0, 3).Draw(rt, "kprobe CPU") == 0 {
			p.UnrelatedInt3 = true
			hits := rapid.IntRange(1, 2).Draw(rt, "kprobe hits")
			p.KprobeHits = &hits
			p.CPUs, p.Executions, p.WriterNMIs = 1, 1, 0
		}
		if pre := rapid.IntRange(-1, 2).Draw(rt, "prelude"); pre >= 0 {
			p.Prelude = &pre // -1: the default
		}
		if rapid.IntRange(0, 2).Draw(rt, "ignore atomic-switch") == 0 {
			p.Ignore = []string{"atomic-switch"} // the digest then drops its summary
		}
		if p.CPUs*p.Executions*(1+p.NMIs) > 2 {
			p.WriterNMIs = 0 // keep DPOR's side within a second or two
		}
		if p.Variant == "naive-atomic" {
			p.Placement = "inside-line" // text_poke refuses a line-crossing write
		}
		if p.Variant == "" {
			for _, step := range []string{"sync1", "sync2", "sync3", "refs-drain"} {
				if rapid.IntRange(0, 3).Draw(rt, "disable "+step) == 0 {
					p.Disable = append(p.Disable, step)
				}
			}
		}
		compare(rt.Fatalf, rt.Skipf, p)
	})
	if compared < 2 || violations == 0 || violations == compared {
		t.Fatalf("compared %d configurations, %d violations: the test no longer checks both verdicts", compared, violations)
	}
	t.Logf("compared %d configurations (%d violations)", compared, violations)
}

// setChecks sets rapid's number of checks for one test, n or under
// -short short (which rapid divides by 5), unless the user chose one with
// -rapid.checks.
func setChecks(t *testing.T, n, short int) {
	f := flag.Lookup("rapid.checks")
	if f == nil || f.Value.String() != f.DefValue {
		return
	}
	if testing.Short() {
		n = short
	}
	old := f.Value.String()
	f.Value.Set(fmt.Sprint(n))
	t.Cleanup(func() { f.Value.Set(old) })
}

// BenchmarkX86SpinConfig is the SPIN anchor's configuration
// (bench/spin-vs-klpcheck.sh): text_poke_bp, bytewise, K executors × R
// executions, no NMI, no kprobe, under the stateful and DPOR strategies.
func BenchmarkX86SpinConfig(b *testing.B) {
	for _, kr := range [][2]int{{2, 2}, {2, 3}, {3, 3}} {
		for _, st := range []explore.Strategy{explore.Stateful, explore.DPOR} {
			if st == explore.DPOR && kr[0]*kr[1] > 4 {
				continue // DPOR does not finish K=3 R=3 in minutes
			}
			b.Run(fmt.Sprintf("K%dR%d/%s", kr[0], kr[1], st), func(b *testing.B) {
				// The Promela model's properties: atomic-switch ignored.
				s := Scenario{Name: "spin", Kind: "x86", Params: mustJSON(b, X86Params{CPUs: kr[0], Executions: kr[1],
					Fetch: "bytewise", Placement: "inside-line", Old: hexNOP5, New: hexCALL32, Ignore: []string{"atomic-switch"}})}
				prog, err := Build(s)
				if err != nil {
					b.Fatal(err)
				}
				var res *explore.Result
				for b.Loop() {
					res = explore.Explore(prog, explore.Options{Strategy: st, MaxSteps: 10000})
				}
				if res.Verdict != explore.Safe {
					b.Fatalf("%s", verdict(res))
				}
				b.ReportMetric(float64(res.Stats.Executions), "executions")
				b.ReportMetric(float64(res.Stats.States), "states")
				b.ReportMetric(float64(res.Stats.Executions)/res.Stats.Elapsed.Seconds(), "executions/s")
			})
		}
	}
}

func mustJSON(b *testing.B, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// TestX86CPUDiesInNMI: a CPU that decodes a torn instruction inside an
// NMI dies there, even when the scenario does not judge torn-decode: it
// never returns to the code the NMI interrupted (before, the NMI's
// failure was dropped and the CPU ran on).
func TestX86CPUDiesInNMI(t *testing.T) {
	p := X86Params{CPUs: 1, Executions: 2, NMIs: 1, Variant: "naive-copy", Old: hexNOP5, New: hexCALL32,
		Ignore: []string{"torn-decode", "final-text", "atomic-switch"}}
	prog, last, err := BuildX86Observed(x86(t, "dies-in-nmi", p))
	if err != nil {
		t.Fatal(err)
	}
	tornInNMI := 0
	wrapped := func(s *explore.System) {
		prog(s)
		m := last()
		s.AtEnd("dead CPU stays dead", func() error {
			r := m.Torn
			if r == nil || !r.NMI {
				return nil
			}
			tornInNMI++
			for _, e := range m.Execs {
				if e.CPU == r.CPU && e.Begin > r.Step {
					return fmt.Errorf("cpu%d died in an NMI at step %d but executed site %d at step %d", r.CPU, r.Step, e.Site, e.Begin)
				}
			}
			return nil
		})
	}
	if r := explore.Explore(wrapped, explore.Options{Strategy: explore.DPOR, MaxSteps: 2000}); r.Verdict != explore.Safe {
		t.Fatalf("%s: %v", r.Verdict, r.Failure)
	}
	if tornInNMI == 0 {
		t.Fatal("no execution tore inside an NMI: the test checks nothing")
	}
}

package catalog

import (
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/explore"
)

// TestSafeAgainstSampling is a catalog-wide judge of the models'
// footprints: DPOR is only as sound as the footprints the models declare,
// and its verdicts are checked against Expect by the kinds' own tests. So
// for every built-in scenario expected safe, random walks and PCT runs
// (which need no footprints) must not find a violation either.
func TestSafeAgainstSampling(t *testing.T) {
	checked := 0
	for _, s := range Builtin() {
		if s.Expect != "safe" {
			continue
		}
		checked++
		t.Run(s.Name, func(t *testing.T) {
			prog, opts, err := Prepare(s)
			if err != nil {
				t.Fatal(err)
			}
			n := int64(3000)
			if testing.Short() {
				n = 200
			}
			for _, o := range []explore.Options{
				{Strategy: explore.Random, Seed: 1, MaxExecutions: n, MaxSteps: opts.MaxSteps, TimeLimit: 5 * time.Second},
				{Strategy: explore.PCT, Seed: 1, MaxExecutions: n, MaxSteps: opts.MaxSteps, TimeLimit: 5 * time.Second},
			} {
				res := explore.Explore(prog, o)
				if res.Failure != nil {
					t.Fatalf("%s finds %s in a scenario DPOR is expected to prove safe\n%s",
						o.Strategy, res.Failure, explore.Explain(prog, res))
				}
			}
		})
	}
	// The catalog proves some 200 scenarios safe: a filter that let none
	// through would judge nothing.
	if checked < 100 {
		t.Errorf("sampled %d scenarios expected safe; want the catalog's (at least 100)", checked)
	}
}

package catalog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
	"github.com/klpcheck/klpcheck/props"
)

// TestSelftestsExplored explores every selftest of the kernel's livepatch
// suite (the goldens of klp/testdata, the "livepatch selftests" table of
// the catalog) with its scenario's bounds and every livepatch property
// on: no interleaving of the admin script, the
// transition work and the selftests' tasks violates a property (no false
// positive), and every interleaving prints the kernel's expected log, as
// check_result requires of the real kernel.
func TestSelftestsExplored(t *testing.T) {
	cases := klp.Selftests()
	scenarios := livepatchSelftests()
	if len(cases) != 32 || len(scenarios) != len(cases) {
		t.Errorf("%d transcribed selftests and %d scenarios, want the kernel's 32", len(cases), len(scenarios))
	}
	for i, c := range cases {
		s := scenarios[i]
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			var cfg klp.Config
			if err := DecodeParams(s, &cfg); err != nil {
				t.Fatal(err)
			}
			want := strings.Join(c.Expected, "\n")
			prog, err := klp.Program(&cfg, props.NewLivepatchMonitor, func(k *klp.Kernel) {
				k.System().AtEnd("selftest-log", func() error {
					if got := strings.Join(k.Log(), "\n"); got != want {
						return fmt.Errorf("this interleaving's log differs from check_result's expectation:\n%s", got)
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			opts, err := s.Explore.Options()
			if err != nil {
				t.Fatal(err)
			}
			opts.TimeLimit = 5 * time.Minute
			if testing.Short() && opts.Strategy == explore.DPOR && c.Name == "T9 busy target module" {
				// 73,178 executions exhaustively; -short explores every
				// interleaving with ≤2 preemptions (587).
				opts.Strategy, opts.MaxPreemptions = explore.Bounded, 2
			}
			res := explore.Explore(prog, opts)
			t.Logf("%s: %s in %d executions (%s)", s.Name, res.Verdict, res.Stats.Executions, res.Bounds)
			if string(res.Verdict) != s.Expect {
				msg := ""
				if res.Failure != nil {
					msg = res.Failure.Property + ": " + res.Failure.Message
				}
				t.Errorf("verdict %s, expected %s: %s", res.Verdict, s.Expect, msg)
			}
		})
	}
}

// A state2 whose pre_patch allocates even when the previous patch's data
// will be taken over leaks its own buffer: system-state catches it, and
// the unmodified module passes the same script.
func TestSystemStateLeak(t *testing.T) {
	script := []string{"load_lp test_klp_state", "load_lp test_klp_state2", "unload_lp test_klp_state", "disable_lp test_klp_state2", "unload_lp test_klp_state2"}
	run := func(mutate bool) *explore.Failure {
		cfg := klp.SelftestConfig()
		cfg.Script = script
		if mutate {
			for i := range cfg.Patches {
				if cfg.Patches[i].Name == "test_klp_state2" {
					b := *cfg.Patches[i].Objects[0].Bodies
					b.PrePatch = []string{"alloc 1", "log allocate_loglevel_state: allocating space to store console_loglevel"}
					cfg.Patches[i].Objects[0].Bodies = &b
				}
			}
		}
		prog, err := klp.Program(&cfg, props.NewLivepatchMonitor, nil)
		if err != nil {
			t.Fatal(err)
		}
		return explore.Explore(prog, explore.Options{Strategy: explore.DPOR, MaxSteps: 3000}).Failure
	}
	if f := run(false); f != nil {
		t.Fatalf("test_klp_state2 as in the kernel: %s: %s", f.Property, f.Message)
	}
	f := run(true)
	if f == nil || f.Property != props.SystemState || !strings.Contains(f.Message, "leaked") {
		t.Fatalf("the leaking state2: failure %+v, want system-state naming the leak", f)
	}
}

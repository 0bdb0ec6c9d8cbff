package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
	"github.com/klpcheck/klpcheck/props"
)

// selftestCase is one test of the kernel's livepatch selftests as
// klp/testdata holds it: the functions.sh script and the expected log.
type selftestCase struct {
	file, name       string
	script, expected []string
}

func readSelftests(t *testing.T) []selftestCase {
	files, _ := filepath.Glob("../klp/testdata/test-*.txt")
	if len(files) == 0 {
		t.Fatal("no selftest goldens in ../klp/testdata")
	}
	var out []selftestCase
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(string(data), "\n=== ")[1:] {
			lines := strings.Split(strings.TrimRight(part, "\n"), "\n")
			c := selftestCase{file: filepath.Base(path), name: lines[0]}
			inExp := false
			for _, l := range lines[1:] {
				switch {
				case l == "---":
					inExp = true
				case inExp:
					c.expected = append(c.expected, l)
				default:
					c.script = append(c.script, l)
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// selftestPreemptions are the selftests explored with a preemption bound
// instead of exhaustive DPOR: test-syscall's two processes loop until
// killed, and DPOR does not finish within minutes (187,888 executions in
// 60 s); with at most one preemption it takes 18,236 executions.
var selftestPreemptions = map[string]int{"patch getpid syscall while being heavily hammered": 1}

// TestSelftestsExplored explores every selftest of the kernel's livepatch
// suite (the goldens of klp/testdata) exhaustively with DPOR and every
// livepatch property on: no interleaving of the admin script, the
// transition work and the selftests' tasks violates a property (no false
// positive), and every interleaving prints the kernel's expected log, as
// check_result requires of the real kernel.
func TestSelftestsExplored(t *testing.T) {
	cases := readSelftests(t)
	for _, c := range cases {
		t.Run(c.file+"/"+c.name, func(t *testing.T) {
			cfg := klp.SelftestConfig()
			cfg.Script = c.script
			want := strings.Join(c.expected, "\n")
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
			opts := explore.Options{Strategy: explore.DPOR, MaxSteps: 3000, TimeLimit: 2 * time.Minute}
			if n, ok := selftestPreemptions[c.name]; ok {
				opts.Strategy, opts.MaxPreemptions = explore.Bounded, n
			}
			res := explore.Explore(prog, opts)
			t.Logf("%s in %d executions (%s)", res.Verdict, res.Stats.Executions, res.Bounds)
			if res.Verdict != explore.Safe {
				msg := ""
				if res.Failure != nil {
					msg = res.Failure.Property + ": " + res.Failure.Message
				}
				t.Errorf("verdict %s: %s", res.Verdict, msg)
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

package props

import (
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
)

func explorePatch(t *testing.T, cfg klp.Config, opts explore.Options) *explore.Result {
	t.Helper()
	prog, err := klp.Program(&cfg, NewLivepatchMonitor, nil)
	if err != nil {
		t.Fatal(err)
	}
	return explore.Explore(prog, opts)
}

// The kernel's selftest scripts hold every livepatch property (callbacks
// in order and symmetric, func states per the table, no pending flags).
func TestLivepatchSelftestsHoldProperties(t *testing.T) {
	const cb, mod, busy, lp, rep = "test_klp_callbacks_demo", "test_klp_callbacks_mod", "test_klp_callbacks_busy", "test_klp_livepatch", "test_klp_atomic_replace"
	scripts := [][]string{
		{"load_mod " + mod, "load_lp " + cb, "unload_mod " + mod, "disable_lp " + cb, "unload_lp " + cb},
		{"load_lp " + cb, "load_mod " + mod, "load_mod " + busy, "unload_mod " + mod, "disable_lp " + cb, "unload_lp " + cb, "unload_mod " + busy},
		{"load_mod " + mod, "load_failing_mod " + cb + " pre_patch_ret=-19", "unload_mod " + mod},
		{"load_lp " + lp, "load_lp " + cb, "load_lp " + rep + " replace=1", "wait-patches 1", "unload_lp " + cb, "unload_lp " + lp, "disable_lp " + rep, "unload_lp " + rep},
	}
	for _, sc := range scripts {
		cfg := klp.SelftestConfig()
		cfg.Script = sc
		res := explorePatch(t, cfg, explore.Options{})
		if res.Verdict != explore.Safe {
			t.Errorf("%v: %s %v", sc, res.Verdict, res.Failure)
		}
	}
}

func TestLivepatchViolations(t *testing.T) {
	fgh := []string{"f", "g", "h"}
	patch := func(name string, funcs ...string) klp.PatchConfig {
		p := klp.PatchConfig{Name: name, Objects: []klp.ObjectConfig{{Name: "vmlinux"}}}
		for _, f := range funcs {
			p.Objects[0].Funcs = append(p.Objects[0].Funcs, klp.FuncConfig{OldName: f})
		}
		return p
	}
	cases := []struct {
		name string
		cfg  klp.Config
		want string
	}{
		{"force mixes versions", klp.Config{Functions: fgh, Patches: []klp.PatchConfig{patch("P", "f", "g")},
			Tasks:  []klp.TaskConfig{{Name: "A", Kind: "user", Program: []string{"call f", "sleep-d", "call g", "ret", "ret", "user"}}},
			Script: []string{"load_lp_nowait P", "echo 1 > /sys/kernel/livepatch/P/force"}}, MixedState},
		{"stale fork flag", klp.Config{Functions: fgh, Patches: []klp.PatchConfig{patch("P", "f")},
			Tasks: []klp.TaskConfig{{Name: "T", Kind: "user", Program: []string{"call f", "fork C", "ret", "user"}},
				{Name: "C", Kind: "user", Child: true, Program: []string{"user"}}},
			Script: []string{"load_lp_nowait P", "echo 0 > /sys/kernel/livepatch/P/enabled"}, Disable: []klp.Step{klp.CopyProcessTIF}}, PendingFlag},
		{"uninterruptible sleeper", klp.Config{Functions: fgh, Patches: []klp.PatchConfig{patch("P", "f")},
			Tasks:  []klp.TaskConfig{{Name: "D", Kind: "kthread", Program: []string{"call f", "block-d", "ret"}}},
			Script: []string{"load_lp P"}}, TransitionCompletes},
		{"barrier wmb#2 omitted", klp.Config{Functions: fgh, Patches: []klp.PatchConfig{patch("P", "f")},
			Tasks:  []klp.TaskConfig{{Name: "A", Kind: "user", Program: []string{"user", "call f", "ret", "user"}}},
			Script: []string{"load_lp P", "disable_lp P"}, Reorder: []klp.Barrier{klp.WMB2}}, UndefState},
		{"module text freed under a sleeper (immediate)", klp.Config{Functions: fgh, Patches: []klp.PatchConfig{{Name: "P", Immediate: true, Objects: []klp.ObjectConfig{{Name: "vmlinux", Funcs: []klp.FuncConfig{{OldName: "f"}}}}}},
			Tasks:  []klp.TaskConfig{{Name: "A", Kind: "user", Program: []string{"call f", "sleep", "ret", "user"}}},
			Script: []string{"load_lp P", "disable_lp P", "unload_lp P"}}, ModuleText},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := explorePatch(t, c.cfg, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 2})
			if res.Failure == nil || res.Failure.Property != c.want {
				t.Fatalf("verdict %s %v, want a %s failure", res.Verdict, res.Failure, c.want)
			}
			t.Logf("%s: %s", res.Failure.Property, res.Failure.Message)
			// The mutants' fixed counterparts hold.
			if len(c.cfg.Disable) > 0 || len(c.cfg.Reorder) > 0 {
				c.cfg.Disable, c.cfg.Reorder = nil, nil
				if res := explorePatch(t, c.cfg, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 2}); res.Verdict != explore.Safe {
					t.Errorf("fixed algorithm: %s %v", res.Verdict, res.Failure)
				}
			}
		})
	}
}

// Omitting wmb#1: a task sees the new func on func_stack before its
// transition flag; the func's state skips the table's (0,1).
func TestLivepatchWMB1(t *testing.T) {
	cfg := klp.Config{Functions: []string{"f"}, Patches: []klp.PatchConfig{{Name: "P", Objects: []klp.ObjectConfig{{Name: "vmlinux", Funcs: []klp.FuncConfig{{OldName: "f"}}}}}},
		Script: []string{"load_lp P"}, Reorder: []klp.Barrier{klp.WMB1}}
	res := explorePatch(t, cfg, explore.Options{})
	if res.Failure == nil || res.Failure.Property != FuncStates {
		t.Fatalf("verdict %s %v, want func-states", res.Verdict, res.Failure)
	}
}

// module-text for target modules: rmmod of a module whose exit does not
// flush its sleeping work frees code the kworker still runs; the busy
// module's own exit (which flushes) is safe.
func TestModuleTextTargetModule(t *testing.T) {
	mod := func(exit []string) klp.Config {
		return klp.Config{Functions: []string{"f"}, Modules: []klp.ModuleConfig{
			{Name: "M", Functions: []string{"m_fn"}, Params: []string{"block"},
				Work:      []string{"call m_fn", "complete", "sleep-while block", "ret"},
				InitSteps: []string{"schedule_work", "wait_for_completion"}, ExitSteps: exit}},
			Script: []string{"load_mod M block=1", "unload_mod M"}}
	}
	res := explorePatch(t, mod([]string{"log bye"}), explore.Options{})
	if res.Failure == nil || res.Failure.Property != ModuleText {
		t.Fatalf("unflushed work: %s %+v, want module-text", res.Verdict, res.Failure)
	}
	t.Logf("unflushed: %s", res.Failure.Message)
	res = explorePatch(t, mod([]string{"set block 0", "flush_work"}), explore.Options{})
	if res.Verdict != explore.Safe {
		t.Fatalf("flushed work: %s %+v", res.Verdict, res.Failure)
	}
}

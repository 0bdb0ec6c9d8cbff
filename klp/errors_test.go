package klp

import (
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

func runScript(t *testing.T, cfg Config) ([]string, *explore.Record) {
	t.Helper()
	var k *Kernel
	prog, err := Program(&cfg, nil, func(kk *Kernel) { k = kk })
	if err != nil {
		t.Fatal(err)
	}
	rec, err := explore.Replay(prog, nil, explore.ReplayOptions{Extend: true, MaxSteps: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Failure != nil {
		t.Errorf("execution failed: %s: %s", rec.Failure.Property, rec.Failure.Message)
	}
	return k.Log(), rec
}

func patchOf(name string, funcs ...FuncConfig) PatchConfig {
	return PatchConfig{Name: name, Objects: []ObjectConfig{{Name: "vmlinux", Funcs: funcs}}}
}

func wantLog(t *testing.T, got []string, want string) {
	t.Helper()
	w := strings.TrimSpace(want)
	if g := strings.Join(got, "\n"); g != w {
		t.Errorf("log:\n%s\nwant:\n%s", g, w)
	}
}

// Bad input yields the kernel's errors in the event log, never a crash.
func TestEnableErrors(t *testing.T) {
	t.Run("unknown function", func(t *testing.T) {
		got, _ := runScript(t, Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "nosuch"})},
			Script: []string{"load_failing_mod P"}})
		wantLog(t, got, `
% insmod test_modules/P.ko
livepatch: symbol 'nosuch' not found in symbol table
insmod: ERROR: could not insert module test_modules/P.ko: Invalid argument`)
	})
	t.Run("duplicate symbol without sympos", func(t *testing.T) {
		got, _ := runScript(t, Config{Functions: []string{"f", "f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
			Script: []string{"load_failing_mod P"}})
		wantLog(t, got, `
% insmod test_modules/P.ko
livepatch: unresolvable ambiguity for symbol 'f' in object '(null)'
insmod: ERROR: could not insert module test_modules/P.ko: Invalid argument`)
	})
	t.Run("sympos out of range", func(t *testing.T) {
		got, _ := runScript(t, Config{Functions: []string{"f", "f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f", OldSympos: 3})},
			Script: []string{"load_failing_mod P"}})
		wantLog(t, got, `
% insmod test_modules/P.ko
livepatch: symbol position 3 for symbol 'f' in object 'vmlinux' not found
insmod: ERROR: could not insert module test_modules/P.ko: Invalid argument`)
	})
	t.Run("duplicate symbol with sympos", func(t *testing.T) {
		got, _ := runScript(t, Config{Functions: []string{"f", "f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f", OldSympos: 2})},
			Script: []string{"load_lp P", "disable_lp P", "unload_lp P"}})
		wantLog(t, got, `
% insmod test_modules/P.ko
livepatch: enabling patch 'P'
livepatch: 'P': initializing patching transition
livepatch: 'P': starting patching transition
livepatch: 'P': completing patching transition
livepatch: 'P': patching complete
% echo 0 > /sys/kernel/livepatch/P/enabled
livepatch: 'P': initializing unpatching transition
livepatch: 'P': starting unpatching transition
livepatch: 'P': completing unpatching transition
livepatch: 'P': unpatching complete
% rmmod P`)
	})
	t.Run("second patch while one is in transition", func(t *testing.T) {
		got, _ := runScript(t, Config{Functions: []string{"f", "g", "h"},
			Patches: []PatchConfig{patchOf("P0", FuncConfig{OldName: "g"}), patchOf("P1", FuncConfig{OldName: "f"}), patchOf("P2", FuncConfig{OldName: "h"})},
			Tasks:   []TaskConfig{{Name: "A", Kind: "kthread", Program: []string{"call f", "block-d", "ret"}}},
			Script: []string{"wait-sleeping A", "load_lp P0", "load_lp_nowait P1", "load_failing_mod P2",
				"echo 0 > /sys/kernel/livepatch/P0/enabled", "echo 1 > /sys/kernel/livepatch/P1/force", "wait-transition P1",
				"echo 1 > /sys/kernel/livepatch/P1/enabled", "echo 0 > /sys/kernel/livepatch/P1/enabled"}})
		wantLog(t, got, `
% insmod test_modules/P0.ko
livepatch: enabling patch 'P0'
livepatch: 'P0': initializing patching transition
livepatch: 'P0': starting patching transition
livepatch: 'P0': completing patching transition
livepatch: 'P0': patching complete
% insmod test_modules/P1.ko
livepatch: enabling patch 'P1'
livepatch: 'P1': initializing patching transition
livepatch: 'P1': starting patching transition
% insmod test_modules/P2.ko
insmod: ERROR: could not insert module test_modules/P2.ko: Device or resource busy
% echo 0 > /sys/kernel/livepatch/P0/enabled
% echo 1 > /sys/kernel/livepatch/P1/force
livepatch: forcing remaining tasks to the patched state
livepatch: 'P1': completing patching transition
livepatch: 'P1': patching complete
% echo 1 > /sys/kernel/livepatch/P1/enabled
% echo 0 > /sys/kernel/livepatch/P1/enabled
livepatch: 'P1': initializing unpatching transition
livepatch: 'P1': starting unpatching transition
livepatch: 'P1': completing unpatching transition
livepatch: 'P1': unpatching complete`)
	})
}

// Params errors name the field.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Tasks: []TaskConfig{{Name: "A", Kind: "daemon"}}}, "params.tasks[0].kind"},
		{Config{Tasks: []TaskConfig{{Name: "A", Kind: "user", Program: []string{"jump f"}}}}, "params.tasks[0].program[0]"},
		{Config{Tasks: []TaskConfig{{Name: "A", Kind: "user", Program: []string{"loop 2", "ret"}}}}, "params.tasks[0].program"},
		{Config{Script: []string{"insmod nosuch"}}, "params.script[0]"},
		{Config{Patches: []PatchConfig{{Name: "P"}}}, "params.patches[0].objects"},
		{Config{CPUs: []string{"sleepy"}}, "params.cpus[0]"},
		{Config{Disable: []Step{"everything"}}, "params.disable[0]"},
		{Config{Proposed: []Proposal{"magic"}}, "params.proposed[0]"},
		{Config{Reorder: []Barrier{"wmb3"}}, "params.reorder[0]"},
		{Config{Tasks: []TaskConfig{{Name: "A", Kind: "user", Program: []string{"release_task now"}}}}, "params.tasks[0].program[0]"},
		{Config{Functions: []string{"f"}, Tasks: []TaskConfig{{Name: "A", Kind: "user", Program: []string{"call g"}}}}, "params.tasks[0].program"},
	}
	for _, c := range cases {
		_, err := Program(&c.cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
}

func runRaw(t *testing.T, cfg Config) (*Kernel, *explore.Record) {
	t.Helper()
	var k *Kernel
	prog, err := Program(&cfg, nil, func(kk *Kernel) { k = kk })
	if err != nil {
		t.Fatal(err)
	}
	rec, err := explore.Replay(prog, nil, explore.ReplayOptions{Extend: true, MaxSteps: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return k, rec
}

// functions.sh semantics: a helper whose expectation fails ends the
// script as failed (die), plain commands only print on the terminal, and
// terminal output never reaches the kernel log.
func TestHarnessSemantics(t *testing.T) {
	world := func(script ...string) Config {
		return Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"}), patchOf("BAD", FuncConfig{OldName: "nosuch"})},
			Modules: []ModuleConfig{{Name: "M"}}, Script: script}
	}
	fails := []struct {
		name, want string
		script     []string
	}{
		{"load_failing_mod that loads", "P unexpectedly loaded", []string{"load_failing_mod P"}},
		{"load_lp that fails", "could not insert module test_modules/BAD.ko: Invalid argument", []string{"load_lp BAD"}},
		{"load_mod twice", "File exists", []string{"load_mod M", "load_mod M"}},
		{"unload_mod of a module not loaded", "failed to unload module M (refcnt)", []string{"unload_mod M"}},
		{"disable_lp of a patch not loaded", "does not exist", []string{"disable_lp P"}},
	}
	for _, c := range fails {
		t.Run(c.name, func(t *testing.T) {
			_, rec := runRaw(t, world(c.script...))
			if rec.Failure == nil || rec.Failure.Property != "script" || !strings.Contains(rec.Failure.Message, c.want) {
				t.Fatalf("failure %+v, want a script failure naming %q", rec.Failure, c.want)
			}
		})
	}
	t.Run("plain commands", func(t *testing.T) {
		k, rec := runRaw(t, world("insmod BAD", "rmmod M", "echo 0 > /sys/kernel/livepatch/P/enabled", "echo 1 > /sys/module/P/parameters/pre_patch_ret"))
		if rec.Failure != nil {
			t.Fatalf("plain commands failed the script: %s", rec.Failure.Message)
		}
		for _, l := range k.Log() {
			if strings.HasPrefix(l, "insmod:") || strings.HasPrefix(l, "rmmod:") || strings.HasPrefix(l, "bash:") {
				t.Errorf("terminal line %q in the kernel log", l)
			}
		}
		want := "insmod: ERROR: could not insert module test_modules/BAD.ko: Invalid argument\nrmmod: ERROR: Module M is not currently loaded\nbash: /sys/kernel/livepatch/P/enabled: No such file or directory\nbash: /sys/module/P/parameters/pre_patch_ret: No such file or directory"
		if g := strings.Join(k.Shell(), "\n"); g != want {
			t.Errorf("shell:\n%s\nwant:\n%s", g, want)
		}
	})
}

// force_store and enabled_store parse with kstrtobool: "echo 0 > force"
// is a no-op, a value that is not a boolean is -EINVAL and forces
// nothing; "n" disables like 0.
func TestSysfsBooleans(t *testing.T) {
	cfg := func(script ...string) Config {
		return Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
			Tasks:  []TaskConfig{{Name: "A", Kind: "kthread", Program: []string{"call f", "block-d", "ret"}}},
			Script: append([]string{"wait-sleeping A", "load_lp_nowait P"}, script...)}
	}
	for _, v := range []string{"0", "n", "off"} {
		k, _ := runRaw(t, cfg("echo "+v+" > /sys/kernel/livepatch/P/force", "expect /sys/kernel/livepatch/P/transition 1"))
		for _, l := range k.Log() {
			if strings.Contains(l, "forcing") {
				t.Errorf("echo %s > force forced the transition", v)
			}
		}
		if len(k.Shell()) != 0 {
			t.Errorf("echo %s > force: %v", v, k.Shell())
		}
	}
	k, _ := runRaw(t, cfg("echo 2 > /sys/kernel/livepatch/P/force", "expect /sys/kernel/livepatch/P/transition 1"))
	if g := strings.Join(k.Shell(), "\n"); g != "bash: echo: write error: Invalid argument" {
		t.Errorf("echo 2 > force: shell %q", g)
	}
	k, rec := runRaw(t, cfg("echo Y > /sys/kernel/livepatch/P/force", "wait-transition P"))
	if rec.Failure != nil || !strings.Contains(strings.Join(k.Log(), "\n"), "livepatch: forcing remaining tasks to the patched state") {
		t.Errorf("echo Y > force did not force: %v %v", rec.Failure, k.Log())
	}
	k, rec = runRaw(t, Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
		Script: []string{"load_lp P", "echo n > /sys/kernel/livepatch/P/enabled", "wait-gone P", "echo x > /sys/kernel/livepatch/P/enabled"}})
	if rec.Failure != nil || !strings.Contains(strings.Join(k.Log(), "\n"), "'P': unpatching complete") {
		t.Errorf("echo n > enabled did not disable: %v %v", rec.Failure, k.Log())
	}
}

// The other order of test-kprobe.sh: with the livepatch's IPMODIFY ops on
// cmdline_proc_show, a kprobe with a post_handler cannot be armed and the
// module's init fails with -EBUSY; one without a post_handler loads. A
// plain sysctl that cannot turn ftrace off prints on the terminal only.
func TestKprobeAfterLivepatch(t *testing.T) {
	cfg := SelftestConfig()
	cfg.Script = []string{"load_lp test_klp_livepatch", "load_failing_mod test_klp_kprobe has_post_handler=1",
		"load_mod test_klp_kprobe has_post_handler=n", "sysctl kernel.ftrace_enabled=0", "unload_mod test_klp_kprobe",
		"disable_lp test_klp_livepatch", "sysctl kernel.ftrace_enabled=0", "load_failing_mod test_klp_livepatch"}
	k, rec := runRaw(t, cfg)
	if rec.Failure != nil {
		t.Fatalf("%s: %s", rec.Failure.Property, rec.Failure.Message)
	}
	log := strings.Join(k.Log(), "\n")
	if !strings.Contains(log, "insmod: ERROR: could not insert module test_modules/test_klp_kprobe.ko: Device or resource busy") {
		t.Errorf("the kprobe with a post_handler loaded:\n%s", log)
	}
	if g := strings.Join(k.Shell(), "\n"); !strings.Contains(g, `sysctl: setting key "kernel.ftrace_enabled": Device or resource busy`) {
		t.Errorf("shell: %s", g)
	}
	if k.FtraceEnabled() {
		t.Errorf("ftrace_enabled could not be cleared once the livepatch was gone")
	}
}

// A module whose exit does not flush its sleeping work: rmmod frees the
// code the kworker still runs (module-text), never a crash of the model;
// init/exit steps that set a parameter of a module without work run too.
func TestModuleWorkOutlivesModule(t *testing.T) {
	cfg := Config{Functions: []string{"f"}, Modules: []ModuleConfig{
		{Name: "M", Params: []string{"block"}, Work: []string{"log enter", "complete", "sleep-while block", "log exit"},
			InitSteps: []string{"schedule_work", "wait_for_completion"}, ExitSteps: []string{"log bye"}},
		{Name: "N", Params: []string{"x"}, InitSteps: []string{"set x 1", "if x: log x is set"}},
	}, Script: []string{"load_mod M block=1", "load_mod N", "unload_mod M"}}
	k, rec := runRaw(t, cfg)
	// The kworker keeps running after the script ends (daemons run
	// until they block), so the freed code is reached: module-text.
	if rec.Failure == nil || rec.Failure.Property != "module-text" {
		t.Fatalf("got %v, want the module-text failure of the unflushed work", rec.Failure)
	}
	if !strings.Contains(strings.Join(k.Log(), "\n"), "N: x is set") {
		t.Errorf("log %v", k.Log())
	}
	if m := k.module("M"); m != nil {
		t.Fatalf("M still loaded")
	}
	// The judgement is the monitor's (props): the kworker still runs M's
	// work when M is freed.
	if kw := k.taskNamed("kworker/M"); kw == nil || !kw.workRunning {
		t.Fatalf("the kworker is not running M's work at the end")
	}
}

// `wake TASK` ends a block-d sleep that nothing else ends: the transition
// stalled on the sleeper completes once the script wakes it.
func TestScriptWakesTask(t *testing.T) {
	cfg := Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
		Tasks:  []TaskConfig{{Name: "A", Kind: "kthread", Program: []string{"call f", "block-d", "ret"}}},
		Script: []string{"wait-sleeping A", "load_lp_nowait P", "expect /sys/kernel/livepatch/P/transition 1", "wake A", "wait-transition P"}}
	if _, rec := runRaw(t, cfg); rec.Failure != nil {
		t.Fatalf("%s: %s", rec.Failure.Property, rec.Failure.Message)
	}
	cfg.Script = cfg.Script[:3]
	if _, rec := runRaw(t, cfg); rec.Failure == nil || !rec.Failure.Stuck {
		t.Fatalf("without wake: %+v, want stuck", rec.Failure)
	}
}

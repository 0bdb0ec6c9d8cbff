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
bash: echo: write error: Device or resource busy
% echo 1 > /sys/kernel/livepatch/P1/force
livepatch: forcing remaining tasks to the patched state
livepatch: 'P1': completing patching transition
livepatch: 'P1': patching complete
% echo 1 > /sys/kernel/livepatch/P1/enabled
bash: echo: write error: Invalid argument
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
		{Config{Disable: []string{"everything"}}, "params.disable[0]"},
		{Config{Proposed: []string{"magic"}}, "params.proposed[0]"},
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

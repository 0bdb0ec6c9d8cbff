package klp

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// SelftestConfig is the world of tools/testing/selftests/livepatch: the
// vmlinux functions the test modules patch, the target modules
// (test_modules/test_klp_callbacks_mod.c, test_klp_callbacks_busy.c,
// test_klp_mod_target.c, test_klp_kprobe.c, test_klp_shadow_vars.c) and the livepatch modules (test_klp_livepatch.c,
// test_klp_atomic_replace.c, test_klp_callbacks_demo.c,
// test_klp_callbacks_demo2.c, test_klp_syscall.c, test_klp_mod_patch.c,
// test_klp_state.c, test_klp_state2.c, test_klp_state3.c),
// with no running tasks but the kworker of test_klp_callbacks_busy (idle
// until the module queues its work) and the getpid processes
// test-syscall.sh starts: on the idle machines the selftests run on,
// every other transition completes on its first attempt. The script is
// empty; callers set it.
func SelftestConfig() Config {
	const lp = "this has been live patched"
	return Config{
		Functions: []string{"cmdline_proc_show", "meminfo_proc_show", "__x64_sys_getpid"},
		Modules: []ModuleConfig{
			{Name: "test_klp_callbacks_mod", Init: []string{"test_klp_callbacks_mod_init"}, Exit: []string{"test_klp_callbacks_mod_exit"}},
			{Name: "test_klp_shadow_vars", Body: "test_klp_shadow_vars"},
			{Name: "test_klp_kprobe", Params: []string{"has_post_handler"},
				Kprobe: &KprobeConfig{Function: "cmdline_proc_show", PostHandlerParam: "has_post_handler"}},
			// test_klp_callbacks_busy.c: init queues busymod_work_func on a
			// kworker and waits until it has entered; unless
			// block_transition is set it flushes the work (so "exit"
			// prints inside init); while the flag is set the kworker
			// sleeps inside busymod_work_func, which the demo patches.
			{Name: "test_klp_callbacks_busy", Functions: []string{"busymod_work_func"}, Params: []string{"block_transition"},
				Work: []string{"call busymod_work_func", "log busymod_work_func enter", "complete",
					"sleep-while block_transition", "log busymod_work_func exit", "ret"},
				InitSteps: []string{"log test_klp_callbacks_busy_init", "schedule_work", "wait_for_completion", "if !block_transition: flush_work"},
				ExitSteps: []string{"set block_transition N", "flush_work", "log test_klp_callbacks_busy_exit"}},
			{Name: "test_klp_mod_target", Functions: []string{"test_klp_mod_target_show"},
				Init: []string{"test_klp_mod_target_init"}, Exit: []string{"test_klp_mod_target_exit"}},
		},
		// test_klp-call_getpid: user processes calling getpid in a loop
		// until killed, which test-syscall.sh starts from the shell (one
		// per CPU, at most 128; here two).
		Tasks: []TaskConfig{
			{Name: "getpid1", Kind: "user", Child: true, Program: getpidLoop},
			{Name: "getpid2", Kind: "user", Child: true, Program: getpidLoop},
		},
		Patches: []PatchConfig{
			{Name: "test_klp_livepatch", Objects: []ObjectConfig{{Name: "vmlinux",
				Funcs: []FuncConfig{{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show", Output: lp}}}}},
			{Name: "test_klp_atomic_replace", Objects: []ObjectConfig{{Name: "vmlinux",
				Funcs: []FuncConfig{{OldName: "meminfo_proc_show", NewFunc: "livepatch_meminfo_proc_show", Output: lp}}}}},
			{Name: "test_klp_callbacks_demo", Objects: []ObjectConfig{
				{Name: "vmlinux", Callbacks: true},
				{Name: "test_klp_callbacks_mod", Callbacks: true},
				{Name: "test_klp_callbacks_busy", Callbacks: true,
					Funcs: []FuncConfig{{OldName: "busymod_work_func", NewFunc: "patched_busymod_work_func"}}},
			}},
			{Name: "test_klp_callbacks_demo2", Objects: []ObjectConfig{{Name: "vmlinux", Callbacks: true}}},
			{Name: "test_klp_syscall", PidsParam: "klp_pids", Objects: []ObjectConfig{{Name: "vmlinux",
				Funcs: []FuncConfig{{OldName: "__x64_sys_getpid", NewFunc: "lp_sys_getpid", RemovesCaller: true}}}}},
			{Name: "test_klp_mod_patch", Objects: []ObjectConfig{{Name: "test_klp_mod_target",
				Funcs: []FuncConfig{{OldName: "test_klp_mod_target_show", NewFunc: "livepatch_mod_target_show", Output: lp}}}}},
			statePatch("test_klp_state", 1, stateV1),
			statePatch("test_klp_state2", 2, stateV2),
			statePatch("test_klp_state3", 2, stateV2),
		},
	}
}

// statePatch is test_klp_state.c (version 1) or test_klp_state2.c /
// test_klp_state3.c (version 2): a cumulative patch of vmlinux with no
// funcs, one klp_state (id 1, CONSOLE_LOGLEVEL_STATE) and callbacks that
// keep console_loglevel in the state's data.
func statePatch(name string, version int, b CallbackBodies) PatchConfig {
	return PatchConfig{Name: name, Replace: true, States: []StateConfig{{ID: 1, Version: version}},
		Objects: []ObjectConfig{{Name: "vmlinux", Callbacks: true, Bodies: &b}}}
}

// stateV1 are test_klp_state.c's callbacks: allocate_loglevel_state,
// fix_console_loglevel, restore_console_loglevel, free_loglevel_state.
var stateV1 = CallbackBodies{
	PrePatch: []string{"if !state 1: return -22", "alloc 1",
		"log allocate_loglevel_state: allocating space to store console_loglevel"},
	PostPatch: []string{"if !state 1: return",
		"log fix_console_loglevel: fixing console_loglevel", "use 1"},
	PreUnpatch: []string{"if !state 1: return",
		"log restore_console_loglevel: restoring console_loglevel", "use 1"},
	PostUnpatch: []string{"if !state 1: return",
		"log free_loglevel_state: freeing space for the stored console_loglevel", "free 1"},
}

// stateV2 are test_klp_state2.c's callbacks, which take the data over
// from the previous patch (klp_get_prev_state) and leave it to it.
var stateV2 = CallbackBodies{
	PrePatch: []string{
		"if prev 1: log allocate_loglevel_state: space to store console_loglevel already allocated",
		"if prev 1: return 0",
		"if !state 1: return -22", "alloc 1",
		"log allocate_loglevel_state: allocating space to store console_loglevel"},
	PostPatch: []string{"if !state 1: return",
		"if prev 1: log fix_console_loglevel: taking over the console_loglevel change",
		"if prev 1: take 1", "if prev 1: return",
		"log fix_console_loglevel: fixing console_loglevel", "use 1"},
	PreUnpatch: []string{
		"if prev 1: log restore_console_loglevel: passing the console_loglevel change back to the old livepatch",
		"if prev 1: return", "if !state 1: return",
		"log restore_console_loglevel: restoring console_loglevel", "use 1"},
	PostUnpatch: []string{
		"if prev 1: log free_loglevel_state: keeping space to store console_loglevel",
		"if prev 1: return", "if !state 1: return",
		"log free_loglevel_state: freeing space for the stored console_loglevel", "free 1"},
}

var getpidLoop = []string{"call __x64_sys_getpid", "ret", "user", "repeat"}

// Selftest is one test of tools/testing/selftests/livepatch: its script
// (the functions.sh helpers, in this package's admin script language)
// for the SelftestConfig world and the kernel log its check_result
// expects, transcribed from the kernel's test script.
type Selftest struct {
	File     string // the kernel's script, e.g. "test-callbacks.sh"
	Name     string // its start_test name (T<n> prefixes for test-callbacks)
	Script   []string
	Expected []string
}

//go:embed testdata/test-*.txt
var selftestFiles embed.FS

// Selftests returns every transcribed selftest, by script file then in
// the script's order. The transcriptions live in testdata/ (TestSelftests
// compares the model's log with them; -update rewrites them).
func Selftests() []Selftest {
	names, _ := fs.Glob(selftestFiles, "testdata/test-*.txt")
	var out []Selftest
	for _, n := range names {
		data, _ := selftestFiles.ReadFile(n)
		file := strings.TrimSuffix(path.Base(n), ".txt") + ".sh"
		_, cases := parseSelftestFile(string(data))
		for _, c := range cases {
			c.File = file
			out = append(out, c)
		}
	}
	return out
}

// parseSelftestFile splits a transcription: a header, then for each test
// "=== NAME", the script, "---" and the expected log.
func parseSelftestFile(data string) (header string, cases []Selftest) {
	parts := strings.Split(data, "\n=== ")
	header = parts[0]
	for _, p := range parts[1:] {
		lines := strings.Split(strings.TrimRight(p, "\n"), "\n")
		c := Selftest{Name: lines[0]}
		inExp := false
		for _, l := range lines[1:] {
			switch {
			case l == "---":
				inExp = true
			case inExp:
				c.Expected = append(c.Expected, l)
			case l != "":
				c.Script = append(c.Script, l)
			}
		}
		cases = append(cases, c)
	}
	return header, cases
}

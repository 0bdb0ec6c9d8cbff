package klp

// SelftestConfig is the world of tools/testing/selftests/livepatch: the
// vmlinux functions the test modules patch, the target modules
// (test_modules/test_klp_callbacks_mod.c, test_klp_callbacks_busy.c,
// test_klp_mod_target.c) and the livepatch modules (test_klp_livepatch.c,
// test_klp_atomic_replace.c, test_klp_callbacks_demo.c,
// test_klp_callbacks_demo2.c, test_klp_syscall.c, test_klp_mod_patch.c),
// with no tasks: every transition completes on its first attempt, as on
// the idle machines the selftests run on. The script is empty; callers set
// it.
func SelftestConfig() Config {
	const lp = "this has been live patched"
	return Config{
		Functions: []string{"cmdline_proc_show", "meminfo_proc_show", "__x64_sys_getpid"},
		Modules: []ModuleConfig{
			{Name: "test_klp_callbacks_mod", Init: []string{"test_klp_callbacks_mod_init"}, Exit: []string{"test_klp_callbacks_mod_exit"}},
			{Name: "test_klp_callbacks_busy", Functions: []string{"busymod_work_func"},
				Init: []string{"test_klp_callbacks_busy_init", "busymod_work_func enter", "busymod_work_func exit"},
				Exit: []string{"test_klp_callbacks_busy_exit"}},
			{Name: "test_klp_mod_target", Functions: []string{"test_klp_mod_target_show"},
				Init: []string{"test_klp_mod_target_init"}, Exit: []string{"test_klp_mod_target_exit"}},
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
			{Name: "test_klp_syscall", Objects: []ObjectConfig{{Name: "vmlinux",
				Funcs: []FuncConfig{{OldName: "__x64_sys_getpid", NewFunc: "lp_sys_getpid"}}}}},
			{Name: "test_klp_mod_patch", Objects: []ObjectConfig{{Name: "test_klp_mod_target",
				Funcs: []FuncConfig{{OldName: "test_klp_mod_target_show", NewFunc: "livepatch_mod_target_show", Output: lp}}}}},
		},
	}
}

package klp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// An admin script drives the model the way the kernel's livepatch
// selftests drive the kernel. One command per line:
//
//	insmod NAME [key=value ...]                     load a target or livepatch module
//	rmmod NAME                                      unload it
//	echo 0|1 > /sys/kernel/livepatch/P/enabled      disable, or reverse a transition
//	echo 1 > /sys/kernel/livepatch/P/force          force the transition
//	echo V > /sys/module/P/parameters/pre_patch_ret set the demo's pre_patch_ret
//	wait-transition P      wait until /sys/kernel/livepatch/P/transition reads 0 (or P is gone)
//	wait-gone P            wait until /sys/kernel/livepatch/P disappears
//	wait-patches N         wait until exactly N patches are in /sys/kernel/livepatch
//	wait-sleeping TASK     wait until TASK is asleep (to order a script after a task)
//	cat FUNC               run FUNC as a reader of its /proc file would; what the
//	                       running version prints goes to the log (grep … > /dev/kmsg)
//	expect-cat FUNC OUT    the same, but the script fails unless the output is OUT
//	                       ("(original)": the unpatched function); nothing is logged
//	sysctl kernel.ftrace_enabled=0|1   write the sysctl (errors go to the terminal)
//	log TEXT               write TEXT to the log (echo TEXT > /dev/kmsg); $(cat PATH)
//	                       in TEXT is replaced by what PATH reads
//	spawn TASK             start a task declared with child: true from the shell (prog &)
//	kill TASK              SIGKILL: a task looping with `repeat` exits
//	wake TASK              wake_up_process: ends the task's block/block-d sleep
//	loop_until PATH VALUE  wait until a sysfs/procfs file reads VALUE (functions.sh's
//	                       loop_until 'grep -q ^VALUE$ PATH'; forever if it never does)
//	expect PATH VALUE      assert a sysfs/procfs value (/sys/kernel/livepatch/P/enabled,
//	                       …/transition, …/replace, …/OBJ/patched, /proc/TASK/patch_state)
//
// and the helpers of tools/testing/selftests/livepatch/functions.sh:
//
//	load_mod M [args]       insmod (logs the command)
//	load_lp P [args]        insmod + wait-transition
//	load_lp_nowait P [args] insmod
//	load_failing_mod X [args] insmod that must fail; its error line is logged
//	unload_mod M / unload_lp P   rmmod (unload_lp first waits until P is gone)
//	disable_lp P            echo 0 > …/enabled + wait-gone
//	set_pre_patch_ret P V   echo V > /sys/module/P/parameters/pre_patch_ret
//	set_ftrace_enabled [--fail] V  sysctl kernel.ftrace_enabled=V; logs
//	                        "livepatch: kernel.ftrace_enabled = V", or with --fail
//	                        sysctl's error; a failure without --fail skips the test
//
// The admin ends by waiting until no transition is in progress, as the
// selftests' loop_until does.
type command struct {
	verb   string
	name   string
	args   []string
	value  string
	line   int
	expect bool // load_failing_mod: the load must fail
	raw    bool // a plain shell command (not a functions.sh helper)
}

func parseScript(c *Config) ([]command, error) {
	names := map[string]string{} // name → "module" | "patch"
	for _, m := range c.Modules {
		names[m.Name] = "module"
	}
	for _, p := range c.Patches {
		names[p.Name] = "patch"
	}
	tasks, childTasks := map[string]bool{}, map[string]bool{}
	for _, t := range c.Tasks {
		tasks[t.Name] = true
		childTasks[t.Name] = t.Child
	}
	var out []command
	for i, l := range c.Script {
		f := strings.Fields(l)
		bad := func(msg string, a ...any) error {
			return fmt.Errorf("params.script[%d]: %q: %s", i, l, fmt.Sprintf(msg, a...))
		}
		if len(f) == 0 {
			return nil, bad("empty command")
		}
		needName := func(kind string) (string, error) {
			if len(f) < 2 {
				return "", bad("missing module name")
			}
			n := f[1]
			if names[n] == "" {
				return "", bad("no module or livepatch named %q in params.modules or params.patches", n)
			}
			if kind != "" && names[n] != kind {
				return "", bad("%q is not a %s", n, map[string]string{"patch": "livepatch module", "module": "target module"}[kind])
			}
			return n, nil
		}
		cmd := command{verb: f[0], line: i}
		var err error
		switch f[0] {
		case "insmod", "load_mod", "load_lp", "load_lp_nowait", "load_failing_mod":
			kind := ""
			switch f[0] {
			case "load_mod":
				kind = "module"
			case "load_lp", "load_lp_nowait":
				kind = "patch"
			}
			if cmd.name, err = needName(kind); err != nil {
				return nil, err
			}
			for _, a := range f[2:] {
				kv := strings.SplitN(a, "=", 2)
				if len(kv) != 2 || kv[0] == "" {
					return nil, bad("module parameter %q is not key=value", a)
				}
				if pc := patchConfigIn(c, cmd.name); pc != nil && kv[0] != "replace" && kv[0] != "pre_patch_ret" && (pc.PidsParam == "" || kv[0] != pc.PidsParam) {
					return nil, bad("unknown parameter %q (livepatch modules take replace, pre_patch_ret and their pids_param)", kv[0])
				}
				if pc := patchConfigIn(c, cmd.name); pc != nil && pc.PidsParam != "" && kv[0] == pc.PidsParam {
					for _, n := range strings.Split(kv[1], ",") {
						if !tasks[n] {
							return nil, bad("%s: %q is not a task of params.tasks", kv[0], n)
						}
					}
				}
				if mc := moduleConfigIn(c, cmd.name); mc != nil && !slices.Contains(mc.Params, kv[0]) {
					return nil, bad("unknown parameter %q (module %s declares %v in params.modules[].params)", kv[0], cmd.name, mc.Params)
				}
				if mc := moduleConfigIn(c, cmd.name); mc != nil && mc.Kprobe != nil && kv[0] == mc.Kprobe.PostHandlerParam {
					if _, err := kstrtobool(kv[1]); err != 0 {
						return nil, bad("parameter %s=%q is not a boolean", kv[0], kv[1])
					}
				}
			}
			cmd.args = f[2:]
			cmd.expect = f[0] == "load_failing_mod"
		case "rmmod", "unload_mod", "unload_lp":
			kind := map[string]string{"unload_mod": "module", "unload_lp": "patch"}[f[0]]
			if cmd.name, err = needName(kind); err != nil {
				return nil, err
			}
		case "disable_lp", "wait-transition", "wait-gone":
			if cmd.name, err = needName("patch"); err != nil {
				return nil, err
			}
		case "set_pre_patch_ret":
			if cmd.name, err = needName("patch"); err != nil {
				return nil, err
			}
			if len(f) != 3 {
				return nil, bad("want set_pre_patch_ret P VALUE")
			}
			cmd.value = f[2]
		case "spawn", "kill", "wake":
			if len(f) != 2 || !tasks[f[1]] {
				return nil, bad("want %s TASK (a task of params.tasks)", f[0])
			}
			if f[0] == "spawn" && !childTasks[f[1]] {
				return nil, bad("spawn %s: the task is not declared with child: true", f[1])
			}
			cmd.name = f[1]
		case "wait-sleeping":
			if len(f) != 2 || !tasks[f[1]] {
				return nil, bad("want wait-sleeping TASK (a task of params.tasks)")
			}
			cmd.name = f[1]
		case "wait-patches":
			if len(f) != 2 {
				return nil, bad("want wait-patches N")
			}
			cmd.value = f[1]
		case "echo":
			// echo V > PATH
			if len(f) != 4 || f[2] != ">" {
				return nil, bad("want echo VALUE > PATH")
			}
			cmd.value = f[1]
			path := f[3]
			switch {
			case strings.HasPrefix(path, "/sys/kernel/livepatch/") && (strings.HasSuffix(path, "/enabled") || strings.HasSuffix(path, "/force")):
				parts := strings.Split(strings.TrimPrefix(path, "/sys/kernel/livepatch/"), "/")
				if len(parts) != 2 || names[parts[0]] != "patch" {
					return nil, bad("no livepatch named in %s", path)
				}
				cmd.name = parts[0]
				cmd.verb = "echo-" + parts[1]
			case strings.HasPrefix(path, "/sys/module/") && strings.HasSuffix(path, "/parameters/pre_patch_ret"):
				n := strings.TrimSuffix(strings.TrimPrefix(path, "/sys/module/"), "/parameters/pre_patch_ret")
				if names[n] != "patch" {
					return nil, bad("no livepatch module %q", n)
				}
				cmd.name = n
				cmd.verb = "set_pre_patch_ret"
				cmd.raw = true
			default:
				return nil, bad("unsupported path %s", path)
			}
		case "cat":
			if len(f) != 2 {
				return nil, bad("want cat FUNC")
			}
			cmd.name = f[1]
		case "expect-cat":
			if len(f) < 3 {
				return nil, bad("want expect-cat FUNC OUTPUT (OUTPUT \"(original)\" for the unpatched function)")
			}
			cmd.name = f[1]
			cmd.value = strings.Join(f[2:], " ")
		case "set_ftrace_enabled", "sysctl":
			// set_ftrace_enabled [--fail] V (functions.sh) or
			// sysctl kernel.ftrace_enabled=V
			args := f[1:]
			if f[0] == "set_ftrace_enabled" && len(args) > 0 && args[0] == "--fail" {
				cmd.expect, args = true, args[1:]
			}
			v := ""
			switch {
			case f[0] == "set_ftrace_enabled" && len(args) == 1:
				v = args[0]
			case f[0] == "sysctl" && len(args) == 1 && strings.HasPrefix(args[0], "kernel.ftrace_enabled="):
				v = strings.TrimPrefix(args[0], "kernel.ftrace_enabled=")
			default:
				return nil, bad("want set_ftrace_enabled [--fail] 0|1 or sysctl kernel.ftrace_enabled=0|1")
			}
			if v != "0" && v != "1" {
				return nil, bad("kernel.ftrace_enabled takes 0 or 1")
			}
			cmd.value = v
		case "log":
			cmd.value = strings.TrimSpace(strings.TrimPrefix(l, "log"))
		case "loop_until":
			if len(f) != 3 {
				return nil, bad("want loop_until PATH VALUE")
			}
			cmd.name, cmd.value = f[1], f[2]
		case "expect":
			if len(f) != 3 {
				return nil, bad("want expect PATH VALUE")
			}
			cmd.name, cmd.value = f[1], f[2]
		default:
			return nil, bad("unknown command %q", f[0])
		}
		out = append(out, cmd)
	}
	return out, nil
}

func (k *Kernel) patchConfig(name string) *PatchConfig {
	for i := range k.cfg.Patches {
		if k.cfg.Patches[i].Name == name {
			return &k.cfg.Patches[i]
		}
	}
	return nil
}

func (k *Kernel) moduleConfig(name string) *ModuleConfig {
	for i := range k.cfg.Modules {
		if k.cfg.Modules[i].Name == name {
			return &k.cfg.Modules[i]
		}
	}
	return nil
}

// runScript is the admin thread.
func (k *Kernel) runScript(t *explore.Thread, script []command) {
	for _, c := range script {
		k.runCommand(t, c)
	}
	k.waitTransition(t, "")
}

func (k *Kernel) waitTransition(t *explore.Thread, name string) {
	t.Await("wait until no transition is in progress", k.fpKLP(explore.Read), func() bool {
		return k.transition == nil || (name != "" && k.transition.Name != name)
	})
}

func (k *Kernel) runCommand(t *explore.Thread, c command) {
	switch c.verb {
	case "insmod", "load_mod", "load_lp", "load_lp_nowait", "load_failing_mod":
		k.logf("%% insmod test_modules/%s.ko%s", c.name, argString(c.args))
		err := k.insmod(t, c.name, c.args)
		if err != 0 {
			msg := fmt.Sprintf("insmod: ERROR: could not insert module test_modules/%s.ko: %s", c.name, Strerror(err))
			k.shellf("%s", msg)
			switch c.verb {
			case "load_failing_mod":
				// load_failing_mod copies insmod's error into the log.
				k.logf("%s", msg)
			case "insmod":
			default:
				k.harnessFailed(t, c, "%s", msg)
			}
			return
		}
		switch c.verb {
		case "load_failing_mod":
			k.harnessFailed(t, c, "%s unexpectedly loaded", c.name)
		case "load_lp":
			k.waitTransition(t, c.name)
		}
	case "rmmod", "unload_mod", "unload_lp":
		if c.verb != "rmmod" {
			// unload_mod waits until /sys/module/M/refcnt reads 0 (a
			// livepatch module is pinned until its patch is freed, for
			// good when it was forced).
			k.waitRefcnt(t, c)
		}
		k.logf("%% rmmod %s", c.name)
		if err := k.rmmod(t, c.name); err != "" && c.verb != "rmmod" {
			k.harnessFailed(t, c, "%s", err)
		}
	case "disable_lp", "echo-enabled":
		v := "0"
		if c.verb == "echo-enabled" {
			v = c.value
		}
		k.logf("%% echo %s > /sys/kernel/livepatch/%s/enabled", v, c.name)
		p := k.patchNamed(c.name)
		if p == nil {
			k.shellf("bash: /sys/kernel/livepatch/%s/enabled: No such file or directory", c.name)
			k.harnessFailed(t, c, "/sys/kernel/livepatch/%s/enabled does not exist", c.name)
			return
		}
		if err := k.enabledStore(t, p, v); err != 0 {
			k.shellf("bash: echo: write error: %s", Strerror(err))
			k.harnessFailed(t, c, "echo %s > /sys/kernel/livepatch/%s/enabled: %s", v, c.name, Strerror(err))
			return
		}
		if c.verb == "disable_lp" {
			k.waitGone(t, c.name)
		}
	case "echo-force":
		k.logf("%% echo %s > /sys/kernel/livepatch/%s/force", c.value, c.name)
		p := k.patchNamed(c.name)
		if p == nil {
			k.shellf("bash: /sys/kernel/livepatch/%s/force: No such file or directory", c.name)
			return
		}
		if err := k.forceStore(t, p, c.value); err != 0 {
			k.shellf("bash: echo: write error: %s", Strerror(err))
		}
	case "set_pre_patch_ret":
		k.logf("%% echo %s > /sys/module/%s/parameters/pre_patch_ret", c.value, c.name)
		t.Op("write pre_patch_ret", explore.Local)
		m := k.module(c.name)
		if m == nil {
			k.shellf("bash: /sys/module/%s/parameters/pre_patch_ret: No such file or directory", c.name)
			k.harnessFailed(t, c, "failed to set pre_patch_ret parameter for %s module", c.name)
			return
		}
		var v int
		fmt.Sscan(c.value, &v)
		m.Params["pre_patch_ret"] = c.value
		if m.patch != nil {
			m.patch.prePatchRet = v
		}
	case "wait-transition":
		k.waitTransition(t, c.name)
	case "wait-gone":
		k.waitGone(t, c.name)
	case "wait-patches":
		var n int
		fmt.Sscan(c.value, &n)
		t.Await("wait until "+c.value+" patches remain", k.fpWorkKLP(explore.Read), func() bool { return len(k.Patches) == n })
	case "wait-sleeping":
		tk := k.taskNamed(c.name)
		t.Await("wait until "+c.name+" sleeps", k.fpState(tk, explore.Read), func() bool {
			return tk.State == SleepingInterruptible || tk.State == SleepingUninterruptible
		})
	case "cat":
		if out, ok := k.cat(t, c.name); ok && out != "" {
			k.logf("%s", out)
		}
	case "expect-cat":
		out, _ := k.cat(t, c.name)
		if out == "" {
			out = "(original)"
		}
		if out != c.value {
			t.Failf("script", "script line %d: cat %s printed %q, expected %q", c.line, c.name, out, c.value)
		}
	case "set_ftrace_enabled", "sysctl":
		v := 0
		if c.value == "1" {
			v = 1
		}
		err := k.ftraceSysctl(t, v)
		if c.verb == "sysctl" {
			if err != 0 {
				k.shellf("sysctl: setting key \"kernel.ftrace_enabled\": %s", Strerror(err))
			}
			return
		}
		switch {
		case err == 0:
			k.logf("livepatch: kernel.ftrace_enabled = %s", c.value)
		case c.expect:
			k.logf("livepatch: sysctl: setting key \"kernel.ftrace_enabled\": %s", Strerror(err))
		default:
			t.Failf("script", "script line %d: SKIP: failed to set kernel.ftrace_enabled = %s", c.line, c.value)
		}
	case "log":
		k.logf("%s", k.expandCat(t, c.value))
	case "spawn":
		k.spawn(t, k.taskNamed(c.name))
	case "wake":
		// wake_up_process: ends a `block`/`block-d` sleep (TASK_NORMAL
		// covers both); a task that is not asleep is not affected.
		tk := k.taskNamed(c.name)
		t.Op("wake_up_process("+c.name+")", k.fpState(tk, explore.Write))
		if tk.State == SleepingInterruptible || tk.State == SleepingUninterruptible {
			tk.woken = true
		}
	case "kill":
		tk := k.taskNamed(c.name)
		t.Op("kill -9 "+c.name, k.fpState(tk, explore.Write))
		tk.killed = true
	case "loop_until":
		t.Await("loop_until "+c.name+" reads "+c.value, k.fpAll(explore.Read), func() bool {
			got, err := k.ReadFile(c.name)
			return err == nil && got == c.value
		})
	case "expect":
		t.Op("read "+c.name, k.fpAll(explore.Read))
		got, err := k.ReadFile(c.name)
		if err != nil {
			t.Failf("script", "script line %d: %v", c.line, err)
		}
		if got != c.value {
			t.Failf("script", "script line %d: %s reads %s, expected %s", c.line, c.name, got, c.value)
		}
	}
}

// harnessFailed is functions.sh's die: a helper whose command failed (or,
// for load_failing_mod, succeeded) ends the test as failed.
func (k *Kernel) harnessFailed(t *explore.Thread, c command, format string, args ...any) {
	if c.raw || c.verb == "insmod" || c.verb == "rmmod" || strings.HasPrefix(c.verb, "echo-") {
		return // a plain command: its error is only on the terminal
	}
	t.Failf("script", "script line %d (%s): %s", c.line, c.verb, fmt.Sprintf(format, args...))
}

// waitRefcnt is unload_mod's loop_until on /sys/module/M/refcnt == 0; a
// module that is not loaded has no refcnt file, so the loop times out and
// the test dies.
func (k *Kernel) waitRefcnt(t *explore.Thread, c command) {
	if k.module(c.name) == nil {
		t.Op("cat /sys/module/"+c.name+"/refcnt", explore.Local)
		k.harnessFailed(t, c, "failed to unload module %s (refcnt)", c.name)
		return
	}
	t.Await("wait until /sys/module/"+c.name+"/refcnt reads 0", k.fpWorkKLP(explore.Read), func() bool {
		m := k.module(c.name)
		return m == nil || m.refs == 0
	})
}

func argString(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, " ")
}

func (k *Kernel) waitGone(t *explore.Thread, name string) {
	t.Await("wait until /sys/kernel/livepatch/"+name+" is gone", k.fpWorkKLP(explore.Read), func() bool { return k.patchNamed(name) == nil })
}

// insmod loads a module: klp_module_coming, then its init (a livepatch
// module's init is klp_enable_patch). It returns a positive errno.
func (k *Kernel) insmod(t *explore.Thread, name string, args []string) int {
	t.Op("insmod "+name+": load_module", explore.Local)
	if k.module(name) != nil {
		return EEXIST
	}
	m := &Module{Name: name, State: "COMING", Params: map[string]string{}}
	for _, a := range args {
		kv := strings.SplitN(a, "=", 2)
		m.Params[kv[0]] = kv[1]
	}
	if pc := k.patchConfig(name); pc != nil {
		m.Livepatch, m.pcfg = true, pc
		k.modules = append(k.modules, m)
		p := k.newPatch(pc, m)
		if err := k.enablePatch(t, p); err != 0 {
			k.dropModule(m)
			return err
		}
		m.State = "LIVE"
		return 0
	}
	m.cfg = k.moduleConfig(name)
	k.modules = append(k.modules, m)
	if err := k.moduleComing(t, m); err != 0 {
		k.dropModule(m)
		return err
	}
	if k.callsModules {
		t.Op(name+": module_init", k.fpModules(explore.Write))
	} else {
		t.Op(name+": module_init", explore.Local)
	}
	for _, l := range m.cfg.Init {
		k.logf("%s: %s", name, l)
	}
	k.runModSteps(t, m, m.cfg.InitSteps)
	for _, b := range BuiltinModules {
		if b.Name == m.cfg.Body {
			if err := b.init(k, t, m); err != 0 {
				m.State = "GOING"
				k.moduleGoing(t, m)
				k.dropModule(m)
				return err
			}
		}
	}
	if m.cfg.Kprobe != nil {
		if err := k.registerKprobe(t, m); err != 0 {
			// do_init_module failed: the module goes away through
			// MODULE_STATE_GOING, klp_module_going included.
			m.State = "GOING"
			k.moduleGoing(t, m)
			k.dropModule(m)
			return err
		}
	}
	m.State = "LIVE"
	return 0
}

func (k *Kernel) dropModule(m *Module) {
	for i, x := range k.modules {
		if x == m {
			k.modules = append(k.modules[:i:i], k.modules[i+1:]...)
			return
		}
	}
}

// rmmod unloads a module: a livepatch module only when nothing holds a
// reference (its patch is freed and was not forced); a target module runs
// its exit, then klp_module_going. It returns rmmod's error line, if any.
func (k *Kernel) rmmod(t *explore.Thread, name string) string {
	t.Op("rmmod "+name, explore.Local)
	m := k.module(name)
	if m == nil {
		k.shellf("rmmod: ERROR: Module %s is not currently loaded", name)
		return k.shell[len(k.shell)-1]
	}
	if m.Livepatch {
		if m.refs > 0 {
			k.shellf("rmmod: ERROR: Module %s is in use", name)
			return k.shell[len(k.shell)-1]
		}
		t.Op("free_module("+name+"): module text freed", k.fpAll(explore.Read))
		k.check(t, k.mon.ModuleRemoved(k, m))
		k.dropModule(m)
		return ""
	}
	t.Op(name+": module_exit", explore.Local)
	if m.cfg.Kprobe != nil {
		k.unregisterKprobe(t, m)
	}
	for _, l := range m.cfg.Exit {
		k.logf("%s: %s", name, l)
	}
	k.runModSteps(t, m, m.cfg.ExitSteps)
	m.State = "GOING"
	k.moduleGoing(t, m)
	if k.callsModules {
		// Only programs can run module text.
		t.OpMulti("free_module("+name+"): module text freed", k.fpAll(explore.Read), k.fpModules(explore.Write))
		k.check(t, k.mon.ModuleRemoved(k, m))
	}
	k.dropModule(m)
	return ""
}

// WorkActive reports whether m's work item is queued or running: its
// kworker would then run the module's code after an unload.
func (k *Kernel) WorkActive(m *Module) bool {
	kw := k.kworkerOf(m)
	return kw != nil && (kw.workQueued || kw.workRunning)
}

// kworkerOf is the kworker of a module's work.
func (k *Kernel) kworkerOf(m *Module) *Task {
	for _, tk := range k.Tasks {
		if tk.work != nil && tk.work.Name == m.Name {
			return tk
		}
	}
	return nil
}

// runModSteps runs module_init's or module_exit's steps
// (ModuleConfig.InitSteps / ExitSteps).
func (k *Kernel) runModSteps(t *explore.Thread, m *Module, lines []string) {
	kw := k.kworkerOf(m)
	// The module's parameters are guarded by its kworker's sched object
	// (only the kworker reads them concurrently); without a work item
	// nothing else reads them.
	fpParams := func(a explore.Access) explore.Footprint {
		if kw == nil {
			return explore.Local
		}
		return k.fpState(kw, a)
	}
	for _, l := range lines {
		s, _ := parseModStep(l, m.cfg) // validated
		if s.param != "" {
			t.Op("READ_ONCE("+s.param+")", fpParams(explore.Read))
			v, _ := kstrtobool(m.Params[s.param])
			if v == s.negate {
				continue
			}
		}
		switch s.verb {
		case "log":
			k.logf("%s: %s", m.Name, s.arg)
		case "schedule_work":
			t.Op(m.Name+": schedule_work", k.fpState(kw, explore.Write))
			kw.workQueued, kw.completed = true, false
		case "wait_for_completion":
			t.Await(m.Name+": wait_for_completion", k.fpState(kw, explore.Write), func() bool { return kw.completed })
			kw.completed = false
		case "flush_work":
			t.Await(m.Name+": flush_work", k.fpState(kw, explore.Read), func() bool { return !kw.workQueued && !kw.workRunning })
		case "set":
			t.Op(m.Name+": WRITE_ONCE("+s.arg+", "+s.value+")", fpParams(explore.Write))
			m.Params[s.arg] = s.value
		}
	}
}

// cat runs fn as the reader of its /proc file: through the ftrace handler
// as a task that has already switched (it is the shell, which passed
// exit_to_user_mode). It returns what the running version prints ("" for
// the original function) and whether the file exists.
func (k *Kernel) cat(t *explore.Thread, fn string) (string, bool) {
	var sym *Symbol
	if s := k.lookup("vmlinux", fn); len(s) > 0 {
		sym = s[0]
	}
	for _, m := range k.modules {
		if s := k.lookup(m.Name, fn); len(s) > 0 && sym == nil {
			sym = s[0]
		}
	}
	if sym == nil {
		k.shellf("cat: %s: No such file or directory", fn)
		return "", false
	}
	t.Op("cat: call "+fn, explore.Footprint{Lo: k.objKLP, Hi: k.objOps + explore.Obj(sym.index) + 1, Access: explore.Read})
	st := k.ops[sym.index].stack
	if len(st) == 0 {
		return "", true
	}
	f := st[0]
	if f.Transition && k.target == Unpatched {
		if len(st) < 2 {
			return "", true
		}
		f = st[1]
	}
	if !f.Nop && f.Output != "" {
		return f.obj.patch.Name + ": " + f.Output, true
	}
	return "", true
}

func patchConfigIn(c *Config, name string) *PatchConfig {
	for i := range c.Patches {
		if c.Patches[i].Name == name {
			return &c.Patches[i]
		}
	}
	return nil
}

// expandCat replaces each $(cat PATH) in a log line by what PATH reads,
// as the shell does before echo writes the line to /dev/kmsg.
func (k *Kernel) expandCat(t *explore.Thread, s string) string {
	for {
		i := strings.Index(s, "$(cat ")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			return s
		}
		path := s[i+len("$(cat ") : i+j]
		t.Op("cat "+path, k.fpAll(explore.Read))
		v, err := k.ReadFile(path)
		if err != nil {
			k.shellf("cat: %s: No such file or directory", path)
		}
		s = s[:i] + v + s[i+j+1:]
	}
}

// spawn starts a child task from the script's shell (`prog &`): fork
// links it with the shell's patch state, which is the target state while
// a transition is in progress (the shell passed exit_to_user_mode) and
// IDLE otherwise, without TIF_PATCH_PENDING.
func (k *Kernel) spawn(t *explore.Thread, tk *Task) {
	if tk.State != NotStarted {
		t.Op("spawn "+tk.Name, explore.Local)
		t.Failf("script", "spawn %s: the task was started already", tk.Name)
	}
	k.listWrite(t, "bash: fork "+tk.Name+" (klp_copy_process, link under tasklist_lock)", k.fpTaskAll(tk))
	tk.PatchState = Undef
	if k.transition != nil {
		tk.PatchState = k.target
	}
	tk.PatchPending = false
	tk.linked = true
	tk.State = Running
	t.System().Go(tk.Name, tk.run)
}

func moduleConfigIn(c *Config, name string) *ModuleConfig {
	for i := range c.Modules {
		if c.Modules[i].Name == name {
			return &c.Modules[i]
		}
	}
	return nil
}

// ReadFile reads a sysfs or procfs file of the livepatch interface.
func (k *Kernel) ReadFile(path string) (string, error) {
	b := func(x bool) string {
		if x {
			return "1"
		}
		return "0"
	}
	if rest, ok := strings.CutPrefix(path, "/sys/kernel/"); ok && strings.HasSuffix(rest, "/npids") {
		m := k.module(strings.TrimSuffix(rest, "/npids"))
		if m != nil && m.patch != nil && m.pcfg.PidsParam != "" {
			return fmt.Sprint(len(m.patch.pendingPids)), nil
		}
		return "", fmt.Errorf("%s: No such file or directory", path)
	}
	if strings.HasPrefix(path, "/proc/") && strings.HasSuffix(path, "/patch_state") {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/proc/"), "/patch_state")
		tk := k.taskNamed(name)
		if tk == nil || !tk.linked {
			return "", fmt.Errorf("%s: No such file or directory", path)
		}
		return fmt.Sprint(int(tk.PatchState)), nil
	}
	rest, ok := strings.CutPrefix(path, "/sys/kernel/livepatch/")
	if !ok {
		return "", fmt.Errorf("%s: not a livepatch sysfs or procfs file", path)
	}
	parts := strings.Split(rest, "/")
	p := k.patchNamed(parts[0])
	if p == nil {
		return "", fmt.Errorf("%s: No such file or directory", path)
	}
	switch {
	case len(parts) == 2 && parts[1] == "enabled":
		return b(p.Enabled), nil
	case len(parts) == 2 && parts[1] == "transition":
		return b(p == k.transition), nil
	case len(parts) == 2 && parts[1] == "replace":
		return b(p.Replace), nil
	case len(parts) == 2 && parts[1] == "stack_order":
		for i, q := range k.Patches {
			if q == p {
				return fmt.Sprint(i + 1), nil
			}
		}
	case len(parts) == 3 && parts[2] == "patched":
		for _, o := range p.Objs {
			if o.Name == parts[1] {
				return b(o.Patched), nil
			}
		}
	}
	return "", fmt.Errorf("%s: No such file or directory", path)
}

package klp

import (
	"fmt"
	"strconv"

	"github.com/klpcheck/klpcheck/explore"
)

// The parts of ftrace and kprobes that livepatch meets (kernel/trace/
// ftrace.c, kernel/kprobes.c): the kernel.ftrace_enabled sysctl and the
// one-IPMODIFY-ops-per-function rule. A klp_ops is registered with
// FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT (see registerFtraceOps
// in patch.go); a kprobe on an ftrace location is armed with
// kprobe_ipmodify_ops when it has a post_handler (v6.13+), else with
// kprobe_ftrace_ops, which does not modify the IP.

// KprobeConfig is a kprobe a target module registers in its init and
// unregisters in its exit (test_modules/test_klp_kprobe.c).
type KprobeConfig struct {
	// Function is the probed vmlinux function.
	Function string `json:"function"`
	// PostHandlerParam names the module parameter (a bool, as insmod
	// sets it) that gives the kprobe a post_handler; empty: none.
	PostHandlerParam string `json:"post_handler_param,omitempty"`
}

// registerKprobe mirrors register_kprobe → arm_kprobe_ftrace for a module
// being initialised: a kprobe with a post_handler needs the IPMODIFY ops,
// which -EBUSY refuses when a klp_ops already modifies the IP. It returns
// a positive errno.
func (k *Kernel) registerKprobe(t *explore.Thread, m *Module) int {
	kc := m.cfg.Kprobe
	sym := k.lookup("vmlinux", kc.Function)[0]
	post := false
	if kc.PostHandlerParam != "" {
		post, _ = kstrtobool(m.Params[kc.PostHandlerParam]) // validated at insmod
	}
	t.Op(fmt.Sprintf("%s: register_kprobe(%s), post_handler=%v", m.Name, kc.Function, post), k.fpAllOps())
	if !post {
		return 0
	}
	if k.ipmodify[sym.index] != "" {
		if t.Tracing() {
			t.Notef("arm_kprobe_ftrace: %s already has an IPMODIFY ftrace ops (%s): -EBUSY", kc.Function, k.ipmodify[sym.index])
		}
		return EBUSY
	}
	k.ipmodify[sym.index] = "kprobe"
	return 0
}

// unregisterKprobe is the module exit's unregister_kprobe.
func (k *Kernel) unregisterKprobe(t *explore.Thread, m *Module) {
	sym := k.lookup("vmlinux", m.cfg.Kprobe.Function)[0]
	t.Op(fmt.Sprintf("%s: unregister_kprobe(%s)", m.Name, m.cfg.Kprobe.Function), k.fpAllOps())
	if k.ipmodify[sym.index] == "kprobe" {
		k.ipmodify[sym.index] = ""
	}
}

// ftraceSysctl mirrors writing kernel.ftrace_enabled (ftrace_enable_sysctl):
// turning ftrace off while a permanent ops (a klp_ops) is registered is
// -EBUSY. It returns a positive errno.
func (k *Kernel) ftraceSysctl(t *explore.Thread, v int) int {
	t.Op("sysctl kernel.ftrace_enabled="+strconv.Itoa(v), k.fpAllOps())
	if v == 0 {
		for _, owner := range k.ipmodify {
			if owner == "livepatch" {
				return EBUSY
			}
		}
	}
	k.ftraceDisabled = v == 0
	return 0
}

// FtraceEnabled reads kernel.ftrace_enabled.
func (k *Kernel) FtraceEnabled() bool { return !k.ftraceDisabled }

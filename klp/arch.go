package klp

import "github.com/klpcheck/klpcheck/explore"

// FentryResult is what a task's CPU did at a patched function's fentry
// site (the 5-byte call ftrace placed at the function's first
// instruction).
type FentryResult uint8

const (
	// FentryFtrace: the site called into ftrace (the ops' own trampoline
	// or ftrace_regs_caller, by a real CALL or an emulated one), so
	// klp_ftrace_handler runs and picks the version.
	FentryFtrace FentryResult = iota
	// FentrySkipped: execution went past the site without calling
	// anything (an int3 handler that treats the site as a NOP): the
	// original function body runs and no handler chooses.
	FentrySkipped
	// FentryDied: the CPU died at the site (a torn instruction, an
	// unclaimed int3); the architecture's properties report why.
	FentryDied
)

// Arch is the architecture below livepatch, for scenarios that model the
// instructions a task's CPU fetches at fentry sites (the "fentry" kind
// of the catalog joins the x86 machine here). Without one, every call of
// a patched function reaches klp_ftrace_handler, as if its fentry site
// were never rewritten while the task runs.
type Arch interface {
	// Traced reports whether sym's fentry site is executed through the
	// architecture.
	Traced(sym *Symbol) bool
	// Fentry executes sym's fentry site on tk's CPU.
	Fentry(t *explore.Thread, tk *Task, sym *Symbol) FentryResult
}

// SetArch installs the architecture of this execution; call it from the
// observe function of Program, before any thread runs.
func (k *Kernel) SetArch(a Arch) { k.arch = a }

// System is the execution's system (to add the architecture's threads
// and properties from observe).
func (k *Kernel) System() *explore.System { return k.sys }

// TaskIndex is tk's position in Config.Tasks (-1 for an idle task).
func (k *Kernel) TaskIndex(tk *Task) int {
	if tk.Idle {
		return -1
	}
	return tk.Pid - 100
}

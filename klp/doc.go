// Package klp is the livepatch core of klpcheck: Patch / Object / Func /
// Callbacks mirroring struct klp_patch, klp_object, klp_func and
// klp_callbacks, the kernel's global livepatch state (klp_patches,
// klp_transition_patch, klp_target_state, klp_signals_cnt, the
// cond_resched hook), the transition code of kernel/livepatch/transition.c
// in the kernel's order, the ftrace handler of kernel/livepatch/patch.c,
// module coming/going, callbacks and callback bodies written against the
// system-state API (state.go), shadow variables (shadow.go), the parts of
// ftrace and kprobes livepatch meets (ftrace.go: ftrace_enabled, one
// IPMODIFY ops per function), target modules with functions, parameters,
// init/exit steps and a work item run by a kworker of their own, the
// sysfs-visible state, a dmesg-worded event log (Kernel.Log, what the
// selftests' check_result compares) beside the commands' terminal output
// (Kernel.Shell), and admin scripts that drive it the way
// tools/testing/selftests/livepatch drives the kernel, with functions.sh's
// semantics (a helper whose expectation fails ends the script). The
// kernel's 32 selftests are transcribed in testdata/ and exported by
// Selftests for the SelftestConfig world.
//
// Everything runs as threads of the explore engine: an admin thread runs
// the script (insmod, rmmod, echo 0 > enabled, force, …), a daemon thread
// is klp_transition_work (the delayed retry of klp_try_complete_transition),
// every task of the scenario is a thread running a small program over the
// call graph, and every idle CPU has an idle-loop thread. Shared state that
// the kernel reads without klp_mutex (func_stack and func->transition per
// patched function, klp_target_state, the cond_resched static key, each
// task's patch_state, TIF_PATCH_PENDING, stack and scheduler state) is an
// explore object and every access to it is a scheduling point; state only
// touched under klp_mutex (klp_patches, patch->enabled, forced, callbacks'
// bookkeeping, module lists) is protected by the modelled mutex and needs
// no footprint of its own.
//
// Memory model: sequential consistency. The kernel's smp_wmb/smp_rmb pairs
// (wmb#1 in __klp_enable_patch, wmb#2 in klp_init_transition, wmb#3 in
// __klp_disable_patch, the wmb in klp_reverse_transition and the rmbs in
// klp_ftrace_handler and __klp_sched_try_switch) are named steps, but under
// SC they have no effect; a barrier mutant is modelled by reordering the
// stores the barrier separates (Config.Reorder), as the fact sheet
// suggests. klp_synchronize_transition is modelled exactly: it waits until
// no task is inside a preempt-disabled klp section (the ftrace handler,
// klp_update_patch_state, __klp_sched_try_switch).
//
// Tasks live in this package (task.go), not in a package of their own: a task's call
// step IS the ftrace handler (its footprint, its reads of func_stack and
// patch_state and the check of its result are one unit), its exit to user
// IS klp_update_patch_state, its cond_resched IS __klp_sched_try_switch,
// and its fork IS klp_copy_process. Splitting them behind hooks would make
// every hook carry klp's object layout and footprints back into the task
// package; the split is left for when a second client of tasks exists.
//
// The package must not know the property catalog (props) nor the scenario
// catalog: properties are judged by a Monitor handed in by the caller, and
// klp only reports what happened (which version a task entered, how a
// klp_func's state changed, which callback ran, …).
package klp

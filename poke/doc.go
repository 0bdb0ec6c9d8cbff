// Package poke is x86 text patching as Linux does it, written as
// straight-line Go over the model's machine, in the kernel's order of
// steps: text_poke_early, text_poke, the int3 protocol
// (smp_text_poke_batch_add / smp_text_poke_batch_finish, formerly
// text_poke_bp_batch) and its int3 handler (smp_text_poke_int3_handler,
// formerly poke_int3_handler) with the per-CPU refcount scheme of 6.16.
//
// Every synchronisation point is a named step a scenario can disable
// (sync1, sync2, sync3, refs-set, refs-drain); the naive byte copy and
// the naive single atomic store are genuinely different writers. Memory is
// sequentially consistent in the model, so smp_wmb/smp_rmb are no-ops and
// are not offered as steps.
//
// poke knows the machine's operations (stores, syncs, traps) but nothing of
// properties: what counts as a violation is props' business.
package poke

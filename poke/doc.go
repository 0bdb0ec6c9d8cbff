// Package poke is x86 text patching as Linux does it, written as
// straight-line Go over the model's machine, in the kernel's order of
// steps: text_poke_early, text_poke, the int3 protocol
// (smp_text_poke_batch_add / smp_text_poke_batch_finish, formerly
// text_poke_bp_batch) and its int3 handler (smp_text_poke_int3_handler,
// formerly poke_int3_handler) with the per-CPU refcount scheme of 6.16
// (poke.go), and the generations and alternatives before it, each in a
// file of its own with its own state.
//
// Every writer variant is one entry of the table in variants.go: its
// name, meaning, kernel version, the named steps a scenario may disable
// (refs-set, sync1, sync2, sync3, refs-drain), what sites it accepts
// (Validate) and its code (New: the variant's state in one execution,
// whose Writer method is the writer and whose Int3 method, if any, is
// the int3 handler). Memory is sequentially consistent in the model, so
// smp_wmb/smp_rmb are no-ops and are not offered as steps.
//
// poke knows the machine's operations (stores, syncs, traps) but nothing
// of properties — what counts as a violation is props' business — nor of
// scenario files: it returns *model.FieldError for a site it cannot
// patch, and the catalog maps the field to the file's.
package poke

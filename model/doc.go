// Package model is klpcheck's emulated x86 machine: text memory with padded
// code regions, CPUs that fetch, decode (golang.org/x/arch/x86/x86asm) and
// execute instruction streams under a fetch model (bytewise, block:N,
// stale:N), INT3 traps through an interrupt gate, sync_core IPIs delivered
// at instruction boundaries, NMIs, and an unrelated int3 source (a kprobe).
//
// It builds on explore's thread primitives: every fetch, IPI and trap is a
// scheduling point whose footprint names the text bytes (one explore object
// per byte) or the per-CPU IPI slot it touches, so DPOR independence is
// exact.
//
// The model records what happened (decodes and their classification,
// traps, handler verdicts, site executions, the writer's named steps) for
// the property catalog to judge; it never decides a property itself. It
// must not know the patching protocol: the int3 handler is installed by
// poke, and the properties live in props. Livepatch tasks are klp's
// (klp/task.go), not the machine's.
package model

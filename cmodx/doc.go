// Package cmodx is klpcheck's machine for fixed-size instruction sets
// (arm64, RISC-V): text memory made of fetch units, CPUs (harts) that fetch
// whole units atomically but may keep executing stale ones until they
// synchronise, the cache maintenance and synchronisation operations the
// kernel uses (DC CVAU, IC IVAU, ISB, fence.i, IPIs, stop_machine), and
// tasks that run small functions whose patch sites are being rewritten.
//
// # Fetch and synchronisation model
//
// Every store to text creates a new snapshot of each fetch unit it covers
// (a 4-byte word; a 2-byte parcel for RISC-V without Ziccif). A snapshot
// carries the epoch at which it became visible (every text store and
// cache-maintenance operation advances one global epoch) and, per CPU, the
// epoch at which that CPU's instruction side lost it (never, until an
// invalidation). A CPU keeps a clock, the earliest epoch its next fetch
// may logically happen at: a context-synchronisation event (ISB, exception
// entry/return on arm64, fence.i on RISC-V) moves it to the current epoch,
// and fetching a snapshot moves it to that snapshot's epoch, since
// instruction fetches happen in program order. A fetch of a unit may
// return any snapshot the CPU has not lost before its clock: with several
// candidates it is a choice point. This is the operational reading of
// Simner et al., "ARMv8-A system semantics: instruction fetch in relaxed
// architectures" (ESOP 2020) and of the RISC-V fence.i rules:
//
//   - arm64: a snapshot stays fetchable (it may sit in any instruction
//     cache or be prefetched) until DC CVAU has cleaned the newer data to
//     the point of unification and a later IC IVAU has invalidated the
//     instruction caches; even then a CPU that prefetched it before the
//     invalidation may execute it until its next context synchronisation.
//   - RISC-V: data memory is coherent for instruction fetch (Ziccif), but
//     instruction caches are not: a hart loses stale snapshots only when
//     it executes fence.i (locally, or in the IPI or SBI call of a remote
//     icache flush).
//
// Data memory (counters, flags) is sequentially consistent: the model is
// about instruction fetch, not about the data-side memory model.
//
// The machine records what happened (each fetch, its candidates, each
// executed patch-site instruction, the writer's named steps) for the
// property catalog (props) to judge; it never decides a property itself.
// It knows no architecture: decoding, what may be concurrently modified
// and what an instruction does come from an ISA (packages arm64, riscv).
// It must not know the kernel's patching protocols: those drive it.
package cmodx

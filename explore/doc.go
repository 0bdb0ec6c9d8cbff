// Package explore is klpcheck's engine: it runs ordinary Go code as
// emulated threads, exactly one at a time, and explores their
// interleavings deterministically.
//
// A Program builds a fresh System for every execution: it allocates shared
// objects, spawns threads and registers checks. A thread is a func(*Thread)
// run on an iter.Pull coroutine. Every access to shared state goes through
// a scheduling point (Thread.Op, Thread.Await or the typed helpers Var and
// Mutex) that announces the operation's footprint before it runs; the code
// between two scheduling points executes atomically. Data nondeterminism
// (which cache line is stale, whether an NMI arrives) is a choice point
// (Thread.Choose), so an execution is fully determined by a Schedule: a
// list of small integers, thread ids at scheduling nodes and values at
// choice nodes.
//
// Strategies (Options.Strategy), one table of values (strategyTable):
// exhaustive DFS with source-set DPOR and sleep sets, plain exhaustive
// enumeration (the differential oracle for the reductions), stateful DFS
// over the distinct states a program declares (state caching with
// symmetry classes, state.go), iterative preemption bounding, random walk
// and PCT.
//
// explore knows nothing of x86, text patching or livepatch: it could check
// any concurrent Go code written against its thread API. It must not import
// any other klpcheck package.
package explore

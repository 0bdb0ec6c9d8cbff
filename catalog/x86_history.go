package catalog

// The x86 rows of the history table (issue 6): each known text-patching
// bug as a buggy/fixed pair of built-in scenarios whose verdicts are
// computed by exploring.

// x86HistoryTable is the table every history scenario belongs to.
const x86HistoryTable = "history"

// x86History lists the x86 history pairs, in the order.
func x86History() []Scenario {
	var out []Scenario
	add := func(name, row, col, desc string, p X86Params, b *Bounds, expect string) {
		out = append(out, x86Scenario("history/"+name, x86HistoryTable, row, col, desc, p, b, expect))
	}
	dpor := func() *Bounds { return &Bounds{Strategy: "dpor", MaxSteps: 2000} }

	// 2013: the flag scheme. A jump label site (nop5 → jmp32), one
	// executor that takes an NMI; the handler redirects to the end of the
	// instruction (bp_int3_handler), as jump labels passed it.
	flag := X86Params{CPUs: 1, NMIs: 1, Variant: "text_poke_bp-v3.12", Old: hexNOP5, New: hexJMP32}
	noSync := flag
	noSync.Disable = []string{"sync3"}
	row := "2013 flag cleared early"
	add("2013-flag/buggy", row, "buggy",
		"text_poke_bp of v3.12 (fd4363fff3d9, arch/x86/kernel/alternative.c) clearing bp_patching_in_progress right after writing the first byte, without the final on_each_cpu(do_sync_core): a CPU that fetched the int3 traps after the flag is cleared and poke_int3_handler says \"not mine\"",
		noSync, dpor(), "violation:stray-int3")
	add("2013-flag/fixed", row, "fixed",
		"text_poke_bp of v3.12–v5.2 as merged (fd4363fff3d9): the final sync before bp_patching_in_progress = false",
		flag, dpor(), "safe")

	// v5.3: the batch teardown order, hit by an unrelated int3 (a kprobe).
	batch := func(v string) X86Params {
		return X86Params{CPUs: 1, UnrelatedInt3: true, Variant: v, Old: hexNOP5, New: hexCALL32}
	}
	row = "v5.3 vec cleared before nr_entries"
	add("v5.3-clear-order/buggy", row, "buggy",
		"text_poke_bp_batch of v5.3 (c0213b0ac03c) tears down with bp_patching.vec = NULL; bp_patching.nr_entries = 0 and no sync; a kprobe int3 on another CPU reads nr_entries ≠ 0, then dereferences the NULL vec (fixed by 285a54efe386)",
		batch("text_poke_bp_batch-v5.3"), dpor(), "violation:handler-memory")
	add("v5.3-clear-order/fixed", row, "fixed",
		"285a54efe386 \"x86/alternatives: Sync bp_patching update for avoiding NULL pointer exception\" (v5.5): nr_entries = 0; text_poke_sync(); vec = NULL",
		batch("text_poke_bp_batch-v5.5"), dpor(), "safe")
	cur := batch("")
	add("v5.3-clear-order/refcount", row, "fixed (refcount)",
		"the refcount scheme that replaced the extra sync (1f676247f36a, per-CPU since 2025): smp_text_poke_batch_finish as in 6.16",
		cur, dpor(), "safe")

	// The same teardown over a two-site batch (a jump label and a static
	// call, say): both sites are in bp_patching.vec, found by bsearch.
	batch2 := func(v string) X86Params {
		p := batch(v)
		p.Old, p.New = "", ""
		p.Sites = []X86Site{{Addr: "0xffffffff8100001e", Old: hexNOP5, New: hexCALL32}, {Addr: "0xffffffff81000023", Old: hexNOP5, New: hexJMP32}}
		return p
	}
	row = "v5.3 vec cleared before nr_entries (2-site batch)"
	add("v5.3-clear-order-batch2/buggy", row, "buggy",
		"text_poke_bp_batch of v5.3 (c0213b0ac03c) over two adjacent sites: the teardown is the same vec = NULL; nr_entries = 0 without a sync, and a kprobe int3 that read nr_entries ≠ 0 bsearches the NULL vec",
		batch2("text_poke_bp_batch-v5.3"), dpor(), "violation:handler-memory")
	add("v5.3-clear-order-batch2/fixed", row, "fixed",
		"285a54efe386 (v5.5) over two sites: nr_entries = 0; text_poke_sync(); vec = NULL",
		batch2("text_poke_bp_batch-v5.5"), dpor(), "safe")
	add("v5.3-clear-order-batch2/refcount", row, "fixed (refcount)",
		"the current smp_text_poke_batch_finish over two sites (per-CPU refcounts)",
		batch2(""), dpor(), "safe")

	// v5.6: the descriptor on the writer's stack.
	row = "v5.6 on-stack descriptor"
	add("v5.6-stack-desc/buggy", row, "buggy",
		"text_poke_bp_batch of v5.6 (1f676247f36a) publishes a descriptor on its stack through bp_desc; a kprobe int3 reads bp_desc, the writer stores NULL, drops refs to 0 and returns, and try_get_desc's atomic_inc_not_zero runs on the reused frame (fixed by efd608fa7403)",
		batch("text_poke_bp_batch-v5.6"), dpor(), "violation:handler-memory")
	add("v5.6-stack-desc/fixed", row, "fixed",
		"efd608fa7403 \"x86/alternative: Fix race in try_get_desc()\" (v6.0): a static descriptor, refs set with release, inc_not_zero on it",
		batch("text_poke_bp_batch-v6.0"), dpor(), "safe")

	// kprobes: disarm relying on an RCU grace period.
	kp := func(v string) X86Params {
		return X86Params{CPUs: 1, Variant: v, Old: "90", New: "90"}
	}
	row = "2019 kprobe arm/disarm without sync"
	add("kprobe-disarm/buggy", row, "buggy",
		"kprobe arm/disarm before 5c02ece81848 (Nov 2019): arch_arm_kprobe/arch_disarm_kprobe are plain text_pokes and unregister_kprobe relies on synchronize_rcu; a CPU that fetched the int3 before the probed byte came back traps after the probe is gone (the handler without the \"int3 vanished\" fallback, as since 8e791f7eba4c)",
		kp("kprobe-disarm-rcu"), dpor(), "violation:stray-int3")
	add("kprobe-disarm/fixed", row, "fixed",
		"5c02ece81848 \"x86/kprobes: Fix ordering while text-patching\": text_poke_sync() after arming and after disarming, before the grace period",
		kp("kprobe-disarm-sync"), dpor(), "safe")
	// 2025: queue / single / apply with the unchecked single.
	sites := []X86Site{{Addr: "0xffffffff81000020", Old: hexNOP5, New: hexCALL32}, {Addr: "0xffffffff81000030", Old: hexNOP5, New: hexJMP32}}
	single := func(v string, capacity int) X86Params {
		return X86Params{CPUs: 1, Variant: v, Sites: sites, Capacity: capacity}
	}
	row = "2025 unsorted vector: bsearch miss"
	add("2025-single-unsorted/buggy", row, "buggy",
		"jump_label queue(0x…30) / smp_text_poke_single(0x…20) / apply after c8976ade0c1b: single appends below the queued address, the vector is [0x…30, 0x…20], and a CPU hitting the int3 at 0x…30 misses in the bsearch (\"Oops: int3\"; fixed by 2aebf5ee43bf)",
		single("smp_text_poke_single-c8976ade0c1b", 2), dpor(), "violation:stray-int3")
	add("2025-single-unsorted/fixed", row, "fixed",
		"2aebf5ee43bf \"x86/alternatives: Fix int3 handling failure from broken text_poke array\" (June 2025): smp_text_poke_single goes through smp_text_poke_batch_add, which runs the queued batch first",
		single("smp_text_poke_single-2aebf5ee43bf", 2), dpor(), "safe")
	row = "2025 unsorted vector: overflow"
	add("2025-single-overflow/buggy", row, "buggy",
		"the same sequence with the vector full (TEXT_POKE_ARRAY_MAX = 1 here) after the queue: c8976ade0c1b's single writes vec[1], past the array, over nr_entries (fixed by 2aebf5ee43bf)",
		single("smp_text_poke_single-c8976ade0c1b", 1), dpor(), "violation:handler-memory")
	add("2025-single-overflow/fixed", row, "fixed",
		"2aebf5ee43bf: the checked add runs the full batch before appending",
		single("smp_text_poke_single-2aebf5ee43bf", 1), dpor(), "safe")

	// 2008: stop_machine and NMIs on parked CPUs.
	sm := func(v string) X86Params {
		return X86Params{CPUs: 1, NMIs: 1, Variant: v, Old: hexNOP5, New: hexCALL32}
	}
	row = "2008 stop_machine vs NMI"
	add("2008-stop-machine-nmi/buggy", row, "buggy",
		"patching under stop_machine with text_poke's memcpy (text_poke_smp, 2.6.3x–3.11; ftrace before its 2008 NMI fix): the other CPU is parked, but an NMI on it runs the site mid-copy",
		sm("stop_machine-text_poke"), dpor(), "violation:torn-decode")
	add("2008-stop-machine-nmi/fixed", row, "fixed",
		"ftrace's NMI-safe code modification (Steven Rostedt, 2008; arch/x86/kernel/ftrace.c of 2.6.28: ftrace_nmi_enter co-writes the bytes while MOD_CODE_WRITE_FLAG is set, the writer waits for running NMIs)",
		sm("stop_machine-ftrace-nmi"), dpor(), "safe")

	// Patching from a crash path after the other CPUs were stopped.
	stop := func(v string) X86Params {
		return X86Params{CPUs: 2, Variant: v, Old: hexNOP5, New: hexCALL32}
	}
	row = "crash-path poke after stopping CPUs"
	add("crash-stop/nmi-shootdown", row, "buggy",
		"the crash path stops the other CPUs with nmi_shootdown_cpus: crash_nmi_callback halts them inside the NMI with interrupts disabled but leaves them in cpu_online_mask, so a text_poke_bp afterwards (a static call or key updated on the way to kexec) waits in on_each_cpu for acknowledgements that never come",
		stop("crash-nmi-shootdown"), dpor(), "stuck:sync-completes")
	add("crash-stop/stop-this-cpu", row, "fixed",
		"the rule the reboot path follows: stop_this_cpu clears the CPU from cpu_online_mask (set_cpu_online(cpu, false)) before halting, and stop_other_cpus waits for num_online_cpus() == 1, so the sync IPIs target nobody else",
		stop("stop_other_cpus"), dpor(), "safe")

	// 2026: sync IPIs deferred for NOHZ_FULL CPUs in user mode.
	nohz := func(placement string, inEntry bool) X86Params {
		return X86Params{CPUs: 1, NohzFull: true, SiteInEntry: inEntry, Fetch: "stale:64", Placement: placement, Old: hexNOP5, New: hexCALL32}
	}
	for _, c := range []struct{ placement, row, buggy string }{
		{"inside-line", "2026 NOHZ_FULL deferred sync (stale:64)", "violation:stray-int3"},
		{"cross-64", "2026 NOHZ_FULL deferred sync (stale:64, site crossing a line)", "violation:torn-decode"},
	} {
		add("nohz-deferred-sync/"+c.placement+"/site-in-entry", c.row, "buggy",
			"context_tracking \"Defer some IPIs until a user->kernel transition\" (RFC v8, 2026): a NOHZ_FULL CPU in user mode gets no text_poke sync IPI; entry code that executes a patched site before the deferred sync_core (breaking the noinstr rule) runs the bytes its cache kept from before it left the kernel",
			nohz(c.placement, true), dpor(), c.buggy)
		add("nohz-deferred-sync/"+c.placement+"/noinstr", c.row, "fixed",
			"the series' rule: code that runs on entry before the deferred-work catch-up is noinstr and holds no patchable site; the site runs after the catch-up's sync_core",
			nohz(c.placement, false), dpor(), "safe")
	}

	// hpa 2010: a permanent int3 handler.
	three := []X86Site{{Addr: "0xffffffff81000020", Old: hexNOP5, New: hexCALL32}, {Addr: "0xffffffff81000030", Old: hexNOP5, New: hexJMP32}, {Addr: "0xffffffff81000040", Old: hexNOP5, New: hexCALL32}}
	perm := func(v string, sites []X86Site) X86Params {
		return X86Params{CPUs: 1, Variant: v, Sites: sites}
	}
	row = "2010 hpa permanent int3 handler"
	add("2010-permanent-int3/current-only", row, "buggy",
		"hpa, LKML 12 Jan 2010 (Re: jump label v4, text_poke_fixup): a permanent int3 handler, no sync after the tail or the first byte (deferred to the next poke), and a handler that remembers only the current site: a CPU's pending int3 from the previous site is not claimed",
		perm("permanent-int3-current", three[:2]), dpor(), "violation:stray-int3")
	add("2010-permanent-int3/two-sites", row, "fixed",
		"hpa's handler that remembers the current and the previous site, pokes serialised: \"one could get a #BP from either the current or the previous modification site\"",
		perm("permanent-int3-two", three[:2]), dpor(), "safe")
	add("2010-permanent-int3/two-sites-parallel", row, "fixed, unserialised writers",
		"the two-site handler with two writers that do not serialise their pokes: \"if modifications are allowed to run in parallel you need to consider all possible current or stale #BP sites\"",
		perm("permanent-int3-two-parallel", three), dpor(), "violation:stray-int3")
	return out
}

package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Historical generations of the int3 protocol (issue 6). Each is
// different code from the current BatchFinish: a Go function per
// historical kernel function, named in its doc comment with the kernel
// version. They share the three write phases (int3, tails, first bytes,
// with their syncs), which did not change; what changed is how the handler
// finds the patch and how the writer tears it down.
const (
	// Flag2013 is text_poke_bp of v3.12–v5.2 (fd4363fff3d9): globals
	// bp_patching_in_progress, bp_int3_addr, bp_int3_handler; the handler
	// redirects the trapped CPU to bp_int3_handler (the end of the
	// instruction: "behave as the old NOP").
	Flag2013 Variant = "text_poke_bp-v3.12"
	// Batch53 is text_poke_bp_batch of v5.3 (c0213b0ac03c): globals
	// bp_patching.vec and bp_patching.nr_entries, cleared after the last
	// sync as vec = NULL, then nr_entries = 0, with no sync between.
	Batch53 Variant = "text_poke_bp_batch-v5.3"
	// Batch55 is the same with 285a54efe386's teardown: nr_entries = 0,
	// text_poke_sync(), vec = NULL.
	Batch55 Variant = "text_poke_bp_batch-v5.5"
	// Desc56 is text_poke_bp_batch of v5.6 (1f676247f36a): a descriptor
	// {vec, nr_entries, refs} on the writer's stack, published through the
	// global pointer bp_desc.
	Desc56 Variant = "text_poke_bp_batch-v5.6"
	// Desc60 is efd608fa7403 (v6.0): the descriptor is a static global
	// and the handler does inc_not_zero on its refs directly.
	Desc60 Variant = "text_poke_bp_batch-v6.0"
	// KprobeRCU is a kprobe arm and disarm before 5c02ece81848 (v5.5):
	// arch_arm_kprobe and arch_disarm_kprobe are plain text_pokes, and
	// unregister_kprobe relies on synchronize_rcu before the probe is
	// gone.
	KprobeRCU Variant = "kprobe-disarm-rcu"
	// KprobeSync is arm/disarm after 5c02ece81848: each text_poke is
	// followed by text_poke_sync(); then the grace period.
	KprobeSync Variant = "kprobe-disarm-sync"
	// Single2025 is jump_label's queue / single / apply after
	// c8976ade0c1b (2025): smp_text_poke_single appends to the shared
	// text_poke_array without the ordering and capacity checks.
	Single2025 Variant = "smp_text_poke_single-c8976ade0c1b"
	// SingleChecked is the same sequence after 2aebf5ee43bf (June 2025):
	// smp_text_poke_single goes through the checked add.
	SingleChecked Variant = "smp_text_poke_single-2aebf5ee43bf"
	// StopMachine2008 is text_poke_smp-style patching (2.6.2x–3.11):
	// stop_machine parks every other CPU, then the bytes are copied with
	// text_poke; an NMI on a parked CPU still runs kernel code.
	StopMachine2008 Variant = "stop_machine-text_poke"
	// FtraceNMI2008 is the same under stop_machine with ftrace's 2008
	// NMI scheme (arch/x86/kernel/ftrace.c, 2.6.28): an NMI that arrives
	// while the write is flagged co-writes the new bytes itself before it
	// runs any code, and the writer waits for running NMIs around the
	// write.
	FtraceNMI2008 Variant = "stop_machine-ftrace-nmi"
	// PermanentCurrent, PermanentTwo and PermanentParallel are hpa's
	// proposal (LKML, 12 Jan 2010, on text_poke_fixup): a permanent int3
	// handler, no sync after the tail, no sync after the first byte
	// (deferred to the next poke's int3 sync), and no handler teardown.
	// PermanentCurrent's handler remembers only the current site;
	// PermanentTwo's the current and the previous one, with the pokes
	// serialised; PermanentParallel has the same handler but two
	// unserialised writers.
	PermanentCurrent  Variant = "permanent-int3-current"
	PermanentTwo      Variant = "permanent-int3-two"
	PermanentParallel Variant = "permanent-int3-two-parallel"
)

// HistoryVariants lists the historical writers with their meaning.
var HistoryVariants = []VariantInfo{
	{Flag2013, "v3.12–v5.2 text_poke_bp: bp_patching_in_progress flag, handler redirects to the end of the instruction; flag cleared after sync3"},
	{Batch53, "v5.3 text_poke_bp_batch: after sync3, vec = NULL then nr_entries = 0, no sync"},
	{Batch55, "v5.5 text_poke_bp_batch (285a54efe386): after sync3, nr_entries = 0, sync, vec = NULL"},
	{Desc56, "v5.6 text_poke_bp_batch (1f676247f36a): refcounted descriptor on the writer's stack, published by pointer"},
	{Desc60, "v6.0 text_poke_bp_batch (efd608fa7403): refcounted static descriptor"},
	{KprobeRCU, "kprobe arm/disarm before 5c02ece81848: text_poke of int3, text_poke of the probed byte, synchronize_rcu, probe unregistered"},
	{Single2025, "2025 queue (all sites but the lowest) / single (the lowest, appended unchecked) / apply, each under its own text_mutex section"},
	{SingleChecked, "the same sequence with 2aebf5ee43bf: single goes through smp_text_poke_batch_add (flush first)"},
	{StopMachine2008, "stop_machine parks the other CPUs, text_poke copies the bytes; NMIs on parked CPUs run the patched code"},
	{FtraceNMI2008, "stop_machine plus ftrace's 2008 NMI co-writing: ftrace_nmi_enter rewrites the bytes when the write flag is set; the writer waits for NMIs"},
	{PermanentCurrent, "hpa 2010: permanent int3 handler remembering only the current site; sync after the int3 only"},
	{PermanentTwo, "hpa 2010: permanent int3 handler remembering the current and the previous site; pokes serialised"},
	{PermanentParallel, "hpa 2010: the two-site handler with two unserialised writers (sites alternate between them)"},
	{FtraceSkip, "2012–v5.1 ftrace breakpoint method (08d636b6d4fb): modifying_ftrace_code, int3 / sync / tails / sync / first bytes / sync; ftrace_int3_handler skips the 5-byte site as if it were a nop"},
	{FtraceEmulate, "v5.2 ftrace breakpoint method (9e298e860408): the same writer; ftrace_int3_handler emulates a call to ftrace_regs_caller"},
	{KprobeSync, "kprobe arm/disarm after 5c02ece81848: each text_poke followed by text_poke_sync, then synchronize_rcu, probe unregistered"},
	{CrashNMIStop, "crash path: nmi_shootdown_cpus stops the other CPUs (crash_nmi_callback halts them with interrupts off, still online), then smp_text_poke_batch_finish"},
	{StopOtherCPUs, "reboot path: stop_other_cpus (stop_this_cpu takes each CPU offline before halting), then smp_text_poke_batch_finish"},
}

// IsSingle reports whether v is the 2025 queue/single/apply sequence,
// which runs the current protocol (Int3Handler, BatchFinish).
func IsSingle(v Variant) bool { return v == Single2025 || v == SingleChecked }

// QueueSingleApply mirrors jump_label's use of the 2025 API from one
// writer taking text_mutex separately for each call:
// arch_jump_label_transform_queue for every site but the lowest
// (smp_text_poke_batch_add), then a smp_text_poke_single of the lowest
// site — below the queued ones — and arch_jump_label_transform_apply
// (smp_text_poke_batch_finish). Single2025 has c8976ade0c1b's single
// (SinglePokeUnchecked); SingleChecked has 2aebf5ee43bf's (TextPokeBP).
func (k *Poker) QueueSingleApply(t *explore.Thread) {
	es := k.patch.Entries
	for _, e := range es[1:] {
		k.BatchAdd(t, e)
	}
	if k.patch.Variant == Single2025 {
		if !k.SinglePokeUnchecked(t, es[0]) {
			return
		}
	} else {
		k.TextPokeBP(t, es[0])
	}
	k.BatchFinish(t)
}

// SinglePokeUnchecked mirrors smp_text_poke_single after c8976ade0c1b:
// tp = &text_poke_array.vec[text_poke_array.nr_entries++]; init it; then
// smp_text_poke_batch_finish(). Appending below a queued address leaves
// the vector unsorted; appending to a full vector writes past vec[]
// over nr_entries (a handler-memory fault reported for the writer: the
// batch and every int3 handler then walk a garbage vector). It returns false after an overflow.
func (k *Poker) SinglePokeUnchecked(t *explore.Thread, e Entry) bool {
	m := k.m
	t.Op("smp_text_poke_single: vec[nr_entries++] (unchecked)", explore.WRange(k.descObj, 1+len(k.vec)))
	m.SetWriterStep(t, "smp_text_poke_single")
	if k.nr == len(k.vec) {
		m.ReportWriterFault(fmt.Sprintf("smp_text_poke_single wrote vec[%d] past text_poke_array.vec[TEXT_POKE_ARRAY_MAX = %d]: the entry for %#x overwrote nr_entries, and the batch and its int3 handler walk a garbage vector", k.nr, len(k.vec), e.Addr))
		return false
	}
	k.vec[k.nr] = e
	k.nr++
	k.nmi(t)
	k.BatchFinish(t)
	return true
}

// IsKprobe reports whether v is a kprobe arm/disarm (the site's old and
// new byte are the probed instruction).
func IsKprobe(v Variant) bool { return v == KprobeRCU || v == KprobeSync }

// IsHistory reports whether v is a historical generation.
func IsHistory(v Variant) bool {
	for _, h := range HistoryVariants {
		if h.Name == v {
			return true
		}
	}
	return false
}

// history is the protocol state of a historical generation: one object
// for the globals the handler reads first (the flag, nr_entries, the
// bp_desc pointer) and one for what it reads next (vec, or the
// descriptor with its refs).
type history struct {
	headObj explore.Obj
	bodyObj explore.Obj

	// Flag2013: bp_patching_in_progress, bp_int3_addr, bp_int3_handler.
	inProgress         bool
	int3Addr, int3Dest uint64
	// Batch53/55: bp_patching.nr_entries and whether bp_patching.vec is
	// set (the head holds nr_entries, the body the vec pointer).
	nr     int
	vecSet bool
	// Desc56: bp_desc != NULL (head); the stack descriptor's refs and
	// whether the writer's frame still holds it (body).
	// Desc60: the static descriptor's refs (body).
	descPub   bool
	refs      int32
	frameLive bool
	// KprobeRCU/Sync: the probe is still in kprobe_table (head).
	registered bool
	// StopMachine2008/FtraceNMI2008: CPUs parked in stop_machine and
	// whether the writer released them (body); nmi_running and
	// MOD_CODE_WRITE_FLAG (head).
	parked     int
	released   bool
	nmiRunning int
	modFlag    bool
	// Permanent*: the sites the handler claims (indexes into the
	// entries, -1 for none) and whether the second writer finished (head).
	cur, prev  int
	secondDone bool
	// FtraceSkip/FtraceEmulate: modifying_ftrace_code (head).
	modifying int
}

func (k *Poker) installHistory() {
	k.h = &history{}
	if IsStopped(k.patch.Variant) {
		return // the current state and handler (Install)
	}
	if IsSingle(k.patch.Variant) {
		return // the current state and handler (Install)
	}
	if IsPermanent(k.patch.Variant) {
		k.h.cur, k.h.prev = -1, -1
		k.m.Int3 = k.PermanentInt3Handler
		return
	}
	if IsStopMachine(k.patch.Variant) {
		k.m.Int3 = nil // no int3 is ever written
		if k.patch.Variant == FtraceNMI2008 {
			k.m.NMIEnter, k.m.NMIExit = k.FtraceNMIEnter, k.FtraceNMIExit
		}
		return
	}
	k.h.headObj = k.m.S.Object("history: " + string(k.patch.Variant) + " head")
	k.h.bodyObj = k.m.S.Object("history: " + string(k.patch.Variant) + " body")
	switch {
	case k.patch.Variant == Flag2013:
		k.m.Int3 = k.PokeInt3Handler2013
	case IsFtrace(k.patch.Variant):
		k.m.Int3 = k.FtraceInt3Handler
	case IsKprobe(k.patch.Variant):
		k.h.registered = true
		k.m.Int3 = k.KprobeInt3Handler
	default:
		k.m.Int3 = k.PokeInt3HandlerBatch
	}
}

func (k *Poker) historyWriter(t *explore.Thread) {
	switch k.patch.Variant {
	case Flag2013:
		for _, e := range k.patch.Entries {
			k.TextPokeBP2013(t, e)
		}
	case Batch53, Batch55:
		k.TextPokeBPBatch53(t)
	case Desc56:
		k.TextPokeBPBatch56(t)
	case Desc60:
		k.TextPokeBPBatch60(t)
	case KprobeRCU, KprobeSync:
		k.DisarmKprobe(t)
	case FtraceSkip, FtraceEmulate:
		k.ArchFtraceUpdateCode(t)
	case Single2025, SingleChecked:
		k.QueueSingleApply(t)
	case StopMachine2008, FtraceNMI2008:
		k.StopMachinePoke(t)
	case PermanentCurrent, PermanentTwo:
		for i := range k.patch.Entries {
			k.PermanentPoke(t, i)
		}
	case PermanentParallel:
		for i := 0; i < len(k.patch.Entries); i += 2 {
			k.PermanentPoke(t, i)
		}
		h := k.h
		t.Await("wait for the second writer", explore.R(h.headObj), func() bool { return h.secondDone })
	}
}

// DisarmKprobe mirrors a kprobe's life on one probed byte:
// register_kprobe (the probe is in kprobe_table from the start) →
// arm_kprobe → arch_arm_kprobe: text_poke(addr, INT3), followed since
// 5c02ece81848 by text_poke_sync(); then unregister_kprobe →
// __disarm_kprobe → arch_disarm_kprobe: text_poke(addr, &p->opcode),
// followed since 5c02ece81848 by text_poke_sync(); then synchronize_rcu()
// and the probe leaves kprobe_table (it is freed). The grace period is a
// named step with no other effect: every int3 handler is one atomic
// operation of the model, so no handler can be inside an RCU read-side
// section across it — and a grace period does not serialize any CPU's
// instruction stream, which is the bug.
func (k *Poker) DisarmKprobe(t *explore.Thread) {
	h := k.h
	sync := func() {
		if k.patch.Variant == KprobeSync {
			k.m.SyncEachCPU(t, k.m.CPUs[0], "text_poke_sync", func() { k.nmi(t) })
		}
	}
	for _, e := range k.patch.Entries {
		if err := k.TextPoke(t, e.Addr, []byte{INT3Opcode}); err != nil {
			panic(err) // NewPatch checked it
		}
		sync()
		if err := k.TextPoke(t, e.Addr, e.Text); err != nil {
			panic(err)
		}
		sync()
	}
	k.hop(t, "synchronize_rcu", explore.Local, func() {})
	k.hop(t, "kprobe removed from kprobe_table and freed", explore.W(h.headObj), func() { h.registered = false })
}

// KprobeInt3Handler mirrors kprobe_int3_handler without the "int3
// vanished" fallback (as since 8e791f7eba4c): get_kprobe(addr) finds the
// probe → it runs and the probed instruction is single-stepped (the
// 1-byte instruction's effect: continue after it); no probe → not mine
// (and nobody else claims the int3: "Oops: int3").
func (k *Poker) KprobeInt3Handler(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	h := k.h
	ip := regs.IP - 1
	t.Op("int3: kprobe_int3_handler: get_kprobe", explore.R(h.headObj))
	if !h.registered || !k.isSite(ip) {
		if t.Tracing() {
			t.Notef("cpu%d: kprobe_int3_handler: no kprobe at %#x", c.ID, ip)
		}
		return false
	}
	regs.IP = ip + 1
	if t.Tracing() {
		t.Notef("cpu%d: kprobe_int3_handler: probe hit, single-stepped, continue at %#x", c.ID, regs.IP)
	}
	return true
}

func (k *Poker) isSite(ip uint64) bool {
	for _, e := range k.patch.Entries {
		if e.Addr == ip {
			return true
		}
	}
	return false
}

// hop is one operation of the writer on the history state.
func (k *Poker) hop(t *explore.Thread, name string, fp explore.Footprint, f func()) {
	t.Op(name, fp)
	k.m.SetWriterStep(t, name)
	f()
	k.nmi(t)
}

// threePhases is the unchanged core of every generation: an int3 at each
// site, sync1, the tails, sync2 (if a tail was written), the first bytes,
// sync3 (if one was written; StepSync3 disables it).
func (k *Poker) threePhases(t *explore.Thread, vec []Entry) {
	m := k.m
	for i := range vec {
		e := &vec[i]
		t.Op("int3", m.WriteFP(e.Addr, 1))
		m.SetWriterStep(t, "int3")
		e.Old = m.Mem(e.Addr)
		m.Store(e.Addr, []byte{INT3Opcode})
		m.CPUs[0].Serialize()
		k.nmi(t)
	}
	k.sync(t, StepSync1)
	tails := false
	for i := range vec {
		if e := &vec[i]; e.Len > 1 {
			k.memcpy(t, "tail", e.Addr+1, e.Text[1:])
			tails = true
		}
	}
	if tails {
		k.sync(t, StepSync2)
	}
	first := false
	for i := range vec {
		e := &vec[i]
		if e.Text[0] == INT3Opcode {
			continue
		}
		t.Op("first-byte", m.WriteFP(e.Addr, 1))
		m.SetWriterStep(t, "first-byte")
		m.Store(e.Addr, e.Text[:1])
		m.CPUs[0].Serialize()
		k.nmi(t)
		first = true
	}
	if first {
		k.sync(t, StepSync3)
	}
}

// TextPokeBP2013 mirrors text_poke_bp of v3.12–v5.2 (fd4363fff3d9,
// arch/x86/kernel/alternative.c): set bp_int3_handler (here the end of the
// instruction, as jump labels passed it), bp_int3_addr and
// bp_patching_in_progress; smp_wmb; int3, sync, tail, sync, first byte,
// sync (the last one is StepSync3); bp_patching_in_progress = false.
func (k *Poker) TextPokeBP2013(t *explore.Thread, e Entry) {
	h := k.h
	k.hop(t, "bp_patching_in_progress = true", explore.W(h.headObj), func() {
		h.int3Dest = e.Addr + uint64(e.Len)
		h.int3Addr = e.Addr + 1
		h.inProgress = true
	})
	vec := []Entry{e}
	k.threePhases(t, vec)
	k.hop(t, "bp_patching_in_progress = false", explore.W(h.headObj), func() { h.inProgress = false })
}

// PokeInt3Handler2013 mirrors poke_int3_handler of v3.12–v5.2: smp_rmb;
// not mine unless bp_patching_in_progress and the trap is at
// bp_int3_addr; then regs->ip = bp_int3_handler.
func (k *Poker) PokeInt3Handler2013(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	h := k.h
	t.Op("int3: poke_int3_handler reads bp_patching_in_progress", explore.R(h.headObj))
	if !h.inProgress || regs.IP != h.int3Addr {
		if t.Tracing() {
			t.Notef("cpu%d: poke_int3_handler: not mine (in_progress=%v)", c.ID, h.inProgress)
		}
		return false
	}
	regs.IP = h.int3Dest
	if t.Tracing() {
		t.Notef("cpu%d: poke_int3_handler: redirect to bp_int3_handler %#x", c.ID, regs.IP)
	}
	return true
}

// TextPokeBPBatch53 mirrors text_poke_bp_batch of v5.3 (c0213b0ac03c):
// bp_patching.vec = tp; bp_patching.nr_entries = n; smp_wmb; the three
// phases; then, relying on sync_core's barrier, "bp_patching.vec = NULL;
// bp_patching.nr_entries = 0;". For Batch55 it has 285a54efe386's order
// instead: nr_entries = 0; text_poke_sync(); vec = NULL.
func (k *Poker) TextPokeBPBatch53(t *explore.Thread) {
	h := k.h
	n := len(k.patch.Entries)
	k.hop(t, "bp_patching.vec = tp", explore.W(h.bodyObj), func() {
		copy(k.vec, k.patch.Entries)
		h.vecSet = true
	})
	k.hop(t, "bp_patching.nr_entries = n", explore.W(h.headObj), func() { h.nr = n })
	k.threePhases(t, k.vec[:n])
	if k.patch.Variant == Batch53 {
		k.hop(t, "bp_patching.vec = NULL", explore.W(h.bodyObj), func() { h.vecSet = false })
		k.hop(t, "bp_patching.nr_entries = 0", explore.W(h.headObj), func() { h.nr = 0 })
		return
	}
	k.hop(t, "bp_patching.nr_entries = 0", explore.W(h.headObj), func() { h.nr = 0 })
	k.m.SyncEachCPU(t, k.m.CPUs[0], "text_poke_sync", func() { k.nmi(t) })
	k.hop(t, "bp_patching.vec = NULL", explore.W(h.bodyObj), func() { h.vecSet = false })
}

// TextPokeBPBatch56 mirrors text_poke_bp_batch of v5.6 (1f676247f36a):
// struct bp_patching_desc desc = {vec, nr_entries, refs = 1} on the
// stack; smp_store_release(&bp_desc, &desc); the three phases;
// WRITE_ONCE(bp_desc, NULL); if (!atomic_dec_and_test(&desc.refs))
// atomic_cond_read_acquire(&desc.refs, !VAL); return — after which the
// stack frame is reused.
func (k *Poker) TextPokeBPBatch56(t *explore.Thread) {
	h := k.h
	n := len(k.patch.Entries)
	k.hop(t, "desc = {vec, nr_entries, refs = 1} (on the stack)", explore.W(h.bodyObj), func() {
		copy(k.vec, k.patch.Entries)
		h.nr, h.refs, h.frameLive = n, 1, true
	})
	k.hop(t, "smp_store_release(&bp_desc, &desc)", explore.W(h.headObj), func() { h.descPub = true })
	k.threePhases(t, k.vec[:n])
	k.hop(t, "WRITE_ONCE(bp_desc, NULL)", explore.W(h.headObj), func() { h.descPub = false })
	k.dropRefs(t)
	k.hop(t, "return: the stack frame holding desc is reused", explore.W(h.bodyObj), func() { h.frameLive = false })
}

// TextPokeBPBatch60 mirrors text_poke_bp_batch after efd608fa7403 (v6.0):
// the static bp_desc gets vec and nr_entries, then
// atomic_set_release(&bp_desc.refs, 1); the three phases; drop and wait.
func (k *Poker) TextPokeBPBatch60(t *explore.Thread) {
	h := k.h
	n := len(k.patch.Entries)
	h.frameLive = true // static storage never goes away
	k.hop(t, "bp_desc.vec, nr_entries; atomic_set_release(&bp_desc.refs, 1)", explore.W(h.bodyObj), func() {
		copy(k.vec, k.patch.Entries)
		h.nr, h.refs = n, 1
	})
	k.threePhases(t, k.vec[:n])
	k.dropRefs(t)
}

// dropRefs is "if (!atomic_dec_and_test(&desc->refs))
// atomic_cond_read_acquire(&desc->refs, !VAL);".
func (k *Poker) dropRefs(t *explore.Thread) {
	h := k.h
	k.hop(t, "atomic_dec_and_test(&desc.refs)", explore.W(h.bodyObj), func() { h.refs-- })
	if h.refs != 0 {
		t.Await("atomic_cond_read_acquire(&desc.refs, !VAL)", explore.R(h.bodyObj), func() bool { return h.refs == 0 })
		k.nmi(t)
	}
}

// PokeInt3HandlerBatch mirrors poke_int3_handler of the batch
// generations: v5.3/v5.5 (read nr_entries; zero → not mine; then use
// bp_patching.vec), v5.6 (try_get_desc: READ_ONCE(bp_desc), NULL → not
// mine, then atomic_inc_not_zero(&desc->refs)) and v6.0 (inc_not_zero on
// the static descriptor); then the bsearch (or vec[0]) and the
// emulation, and put_desc where there is a refcount.
func (k *Poker) PokeInt3HandlerBatch(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	h, m := k.h, k.m
	var n int
	refcounted := false
	switch k.patch.Variant {
	case Batch53, Batch55:
		t.Op("int3: poke_int3_handler reads bp_patching.nr_entries", explore.R(h.headObj))
		if n = h.nr; n == 0 {
			return false
		}
		t.Op("int3: poke_int3_handler reads bp_patching.vec", explore.R(h.bodyObj))
		if !h.vecSet {
			m.ReportHandlerFault(c, fmt.Sprintf("poke_int3_handler read nr_entries = %d, then bp_patching.vec was NULL: NULL pointer dereference", n))
			return false
		}
	case Desc56:
		t.Op("int3: try_get_desc: READ_ONCE(bp_desc)", explore.R(h.headObj))
		if !h.descPub {
			return false
		}
		t.Op("int3: try_get_desc: atomic_inc_not_zero(&desc->refs)", explore.W(h.bodyObj))
		if !h.frameLive {
			m.ReportHandlerFault(c, "try_get_desc read bp_desc, then the writer returned and its stack frame was reused: atomic_inc_not_zero on the dead frame, the vector is garbage (use after return)")
			return false
		}
		if h.refs == 0 {
			return false
		}
		h.refs++
		n, refcounted = h.nr, true
	case Desc60:
		t.Op("int3: try_get_desc: atomic_inc_not_zero(&bp_desc.refs)", explore.W(h.bodyObj))
		if h.refs == 0 {
			return false
		}
		h.refs++
		n, refcounted = h.nr, true
	}
	ip := regs.IP - 1
	tpl := lookupEntry(k.vec, n, ip)
	handled := tpl != nil && emulate(m, c, tpl, regs)
	if refcounted {
		t.Op("int3: put_desc: atomic_dec(&desc->refs)", explore.W(h.bodyObj))
		h.refs--
	}
	noteHandled(t, c, regs, handled)
	return handled
}

// emulate is the handler's switch on the entry's opcode (int3_emulate_*).
func emulate(m *model.Machine, c *model.CPU, tpl *Entry, regs *model.Regs) bool {
	next := tpl.Addr + uint64(tpl.Len)
	switch tpl.Opcode {
	case INT3Opcode:
		return false
	case RETOpcode:
		regs.IP = regs.Pop()
	case CALLOpcode:
		regs.Push(next)
		regs.IP = next + uint64(int64(tpl.Disp))
	case JMP32Opcode, JMP8Opcode:
		regs.IP = next + uint64(int64(tpl.Disp))
	default:
		m.ReportHandlerFault(c, fmt.Sprintf("BUG(): the vector entry at %#x has opcode %#02x, which the handler cannot emulate", tpl.Addr, tpl.Opcode))
		return false
	}
	return true
}

// IsStopMachine reports whether v patches under stop_machine (the
// executors are parked CPUs: run their bodies with Parked).
func IsStopMachine(v Variant) bool { return v == StopMachine2008 || v == FtraceNMI2008 }

// Parked is the body of a CPU parked by stop_machine (multi_cpu_stop):
// it checks in, an NMI may arrive (its handler runs the patched code),
// and it waits for the writer to release it, then serializes (the
// sync_core of text_poke_smp's stop function).
func (k *Poker) Parked(c *model.CPU) func(t *explore.Thread) {
	return func(t *explore.Thread) {
		h := k.h
		t.Op("multi_cpu_stop: parked", explore.W(h.bodyObj))
		h.parked++
		t.Op("parked: an NMI may arrive", explore.Local)
		if !c.NMIPoint(t) {
			return
		}
		t.Await("multi_cpu_stop: wait for the writer", explore.R(h.bodyObj), func() bool { return h.released })
		c.Serialize()
	}
}

// StopMachinePoke mirrors text_poke_smp (2.6.3x–3.11) / ftrace's
// __ftrace_modify_code under stop_machine: wait until every other CPU
// is parked, copy the new bytes with text_poke (a memcpy), release. For
// FtraceNMI2008 the copy is do_ftrace_mod_code of 2.6.28: publish
// mod_code_ip/newcode, wait_for_nmi_and_set_mod_flag, ftrace_mod_code,
// clear_mod_flag, wait_for_nmi.
func (k *Poker) StopMachinePoke(t *explore.Thread) {
	h := k.h
	n := len(k.m.CPUs) - 1
	t.Await("stop_machine: wait until every other CPU is parked", explore.R(h.bodyObj), func() bool { return h.parked == n })
	k.m.SetWriterStep(t, "stop_machine")
	for _, e := range k.patch.Entries {
		if k.patch.Variant == StopMachine2008 {
			k.memcpy(t, "text_poke", e.Addr, e.Text)
			continue
		}
		t.Await("wait_for_nmi_and_set_mod_flag: cmpxchg(nmi_running, 0, MOD_CODE_WRITE_FLAG)", explore.W(h.headObj), func() bool { return h.nmiRunning == 0 })
		k.m.SetWriterStep(t, "set MOD_CODE_WRITE_FLAG")
		h.modFlag = true
		k.memcpy(t, "ftrace_mod_code", e.Addr, e.Text)
		k.hop(t, "clear_mod_flag", explore.W(h.headObj), func() { h.modFlag = false })
		t.Await("wait_for_nmi: nmi_running == 0", explore.R(h.headObj), func() bool { return h.nmiRunning == 0 })
	}
	k.hop(t, "stop_machine: release the parked CPUs", explore.W(h.bodyObj), func() { h.released = true })
}

// FtraceNMIEnter mirrors ftrace_nmi_enter of 2.6.28: if
// atomic_inc_return(&nmi_running) has MOD_CODE_WRITE_FLAG, the NMI runs
// ftrace_mod_code itself (probe_kernel_write of the same new bytes)
// before any other code.
func (k *Poker) FtraceNMIEnter(t *explore.Thread, c *model.CPU) {
	h, m := k.h, k.m
	t.Op("ftrace_nmi_enter: atomic_inc_return(&nmi_running)", explore.W(h.headObj))
	h.nmiRunning++
	if !h.modFlag {
		return
	}
	for _, e := range k.patch.Entries {
		for i := range e.Text {
			a := e.Addr + uint64(i)
			t.Op("ftrace_nmi_enter: ftrace_mod_code (co-write)", m.WriteFP(a, 1))
			m.Store(a, e.Text[i:i+1])
		}
	}
	if t.Tracing() {
		t.Notef("cpu%d: NMI co-wrote the new bytes", c.ID)
	}
}

// FtraceNMIExit mirrors ftrace_nmi_exit: atomic_dec(&nmi_running).
func (k *Poker) FtraceNMIExit(t *explore.Thread, c *model.CPU) {
	t.Op("ftrace_nmi_exit: atomic_dec(&nmi_running)", explore.W(k.h.headObj))
	k.h.nmiRunning--
}

// IsPermanent reports whether v is one of hpa's permanent-handler
// variants.
func IsPermanent(v Variant) bool {
	return v == PermanentCurrent || v == PermanentTwo || v == PermanentParallel
}

// SecondWriter is the body of PermanentParallel's second writer (the
// odd-indexed sites), which takes no lock against the first.
func (k *Poker) SecondWriter() func(t *explore.Thread) {
	return func(t *explore.Thread) {
		for i := 1; i < len(k.patch.Entries); i += 2 {
			k.PermanentPoke(t, i)
		}
		k.hop(t, "second writer done", explore.W(k.h.headObj), func() { k.h.secondDone = true })
	}
}

// PermanentPoke is one poke of hpa's scheme (text_poke_fixup's steps
// 1–4 with his two simplifications): tell the permanent handler about
// the site (for the two-site handler the current site becomes the
// previous one), write the int3 and sync all CPUs (step 2, which also
// completes the previous poke), write the tail (step 3, no sync), write
// the first byte (step 4, its sync deferred to the next poke).
func (k *Poker) PermanentPoke(t *explore.Thread, i int) {
	h, m := k.h, k.m
	e := k.patch.Entries[i]
	k.hop(t, "int3 handler: current site", explore.W(h.headObj), func() {
		if k.patch.Variant != PermanentCurrent {
			h.prev = h.cur
		}
		h.cur = i
	})
	t.Op("int3", m.WriteFP(e.Addr, 1))
	m.SetWriterStep(t, "int3")
	m.Store(e.Addr, []byte{INT3Opcode})
	m.CPUs[0].Serialize()
	k.nmi(t)
	k.m.SyncEachCPU(t, m.CPUs[0], "sync", func() { k.nmi(t) })
	if e.Len > 1 {
		k.memcpy(t, "tail", e.Addr+1, e.Text[1:])
	}
	t.Op("first-byte", m.WriteFP(e.Addr, 1))
	m.SetWriterStep(t, "first-byte")
	m.Store(e.Addr, e.Text[:1])
	m.CPUs[0].Serialize()
	k.nmi(t)
}

// PermanentInt3Handler is the permanent handler hpa described: an int3
// at the current (or, for the two-site handler, the previous) site is
// emulated as the site's new instruction; anything else is not mine.
func (k *Poker) PermanentInt3Handler(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	h := k.h
	ip := regs.IP - 1
	t.Op("int3: permanent handler looks up the current/previous site", explore.R(h.headObj))
	for _, i := range [2]int{h.cur, h.prev} {
		if i >= 0 && k.patch.Entries[i].Addr == ip {
			ok := emulate(k.m, c, &k.patch.Entries[i], regs)
			if t.Tracing() {
				t.Notef("cpu%d: permanent handler: site %d, continue at %#x", c.ID, i, regs.IP)
			}
			return ok
		}
	}
	if t.Tracing() {
		t.Notef("cpu%d: permanent handler: not mine (current %d, previous %d)", c.ID, h.cur, h.prev)
	}
	return false
}

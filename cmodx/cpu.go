package cmodx

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// CPU is one processor (an arm64 PE, a RISC-V hart). CPU 0 runs the
// writer.
type CPU struct {
	ID int
	m  *Machine
	// IRQs: interrupts are enabled (maskable IPIs are taken at
	// instruction boundaries only then).
	IRQs bool
	// clock is the earliest epoch the CPU's next fetch may happen at.
	clock int32
	seen  int32 // last IPI generation taken
	// syncedAt is the step at which the CPU took a synchronisation the
	// writer issued after its last text store (-1: none yet).
	syncedAt int32
	// stopDone: the CPU has been through the current stop_machine.
	stopDone bool
	// Preemptible: the task on this CPU may be preempted at any
	// instruction boundary (CONFIG_PREEMPT), so stop_machine's stopper can
	// run between two instructions of a patch site; otherwise only at the
	// task's schedule points between calls.
	Preemptible bool
}

// Machine returns the CPU's machine.
func (c *CPU) Machine() *Machine { return c.m }

// ISB is a context synchronisation event on c (the "isb" instruction, or
// exception entry or return on arm64): instructions fetched before it are
// discarded, so its later fetches happen after every invalidation so far.
func (c *CPU) ISB(t *explore.Thread) {
	t.Op(fmt.Sprintf("cpu%d: isb", c.ID), explore.R(c.m.imem))
	c.contextSync()
	if t.Tracing() {
		t.Notef("cpu%d: isb", c.ID)
	}
}

func (c *CPU) contextSync() { c.clock = c.m.epoch }

// FenceI mirrors local_flush_icache_all() on RISC-V: "fence.i" makes the
// hart's later fetches see every store visible to it: it loses every
// snapshot already superseded.
func (c *CPU) FenceI(t *explore.Thread) {
	t.Op(fmt.Sprintf("hart%d: fence.i", c.ID), explore.R(c.m.imem))
	c.fenceI()
	if t.Tracing() {
		t.Notef("hart%d: fence.i", c.ID)
	}
}

func (c *CPU) fenceI() {
	m := c.m
	for i := range m.units {
		un := &m.units[i]
		for k := 0; k < len(un.snaps)-1; k++ {
			un.snaps[k].lost[c.ID] = min(un.snaps[k].lost[c.ID], m.epoch)
		}
	}
	c.clock = m.epoch
}

// SyncPoint is a point where the protocol relies on c being synchronised
// with the writer without an instruction of its own (leaving a stop_machine
// callback whose fence.i a scenario removed): an operation that reads
// instruction memory, then MarkWriterSync.
func (c *CPU) SyncPoint(t *explore.Thread, label string) {
	t.Op(label, explore.R(c.m.imem))
	c.MarkWriterSync()
}

// MarkWriterSync records that c took a synchronisation the writer issued
// after its last text store (the isb of a stop_machine callback, say).
// Call it inside an operation that reads instruction memory (ISB, FenceI).
func (c *CPU) MarkWriterSync() {
	if c.syncedAt < 0 && c.m.lastStore >= 0 {
		c.syncedAt = c.m.step()
	}
}

// fetched is the result of fetching one instruction.
type fetched struct {
	b     []byte
	steps []int32 // step of each unit fetch
	alts  [][]byte
	stale bool
}

// fetchUnit reads the unit holding addr: one operation, a choice among
// the snapshots the CPU may still fetch. It returns the unit's bytes, the
// distinct candidate values, and whether the chosen one is not the
// current memory.
func (c *CPU) fetchUnit(t *explore.Thread, idx int) (val []byte, cands [][]byte, stale bool) {
	m := c.m
	t.Op(fmt.Sprintf("fetch %#x", m.L.Base+uint64(idx*m.L.Unit)), explore.R(m.imem))
	un := &m.units[idx]
	u := m.L.Unit
	type cand struct {
		val   []byte
		avail int32
		cur   bool
	}
	var cs []cand
	for k := range un.snaps {
		sn := &un.snaps[k]
		if sn.lost[c.ID] <= c.clock {
			continue
		}
		v := sn.val[:u]
		dup := false
		for i := range cs {
			if bytes.Equal(cs[i].val, v) {
				// The same bytes: keep the earliest epoch (it constrains
				// later fetches least), note if it is current.
				cs[i].avail = min(cs[i].avail, sn.avail)
				cs[i].cur = cs[i].cur || k == len(un.snaps)-1
				dup = true
			}
		}
		if !dup {
			cs = append(cs, cand{v, sn.avail, k == len(un.snaps)-1})
		}
	}
	pick := 0
	if len(cs) > 1 {
		// Offer the newest snapshot first, then older ones.
		for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
			cs[i], cs[j] = cs[j], cs[i]
		}
		pick = t.Choose("fetch version", len(cs))
	}
	ch := cs[pick]
	c.clock = max(c.clock, ch.avail)
	for _, x := range cs {
		cands = append(cands, x.val)
	}
	return append([]byte(nil), ch.val...), cands, !ch.cur
}

// fetch reads the instruction at pc: one fetch per unit it spans (two for
// a 4-byte RISC-V instruction at 2 mod 4, or without Ziccif).
func (c *CPU) fetch(t *explore.Thread, pc uint64) fetched {
	m := c.m
	u := uint64(m.L.Unit)
	var f fetched
	idx := int((pc - m.L.Base) / u)
	val, cands, stale := c.fetchUnit(t, idx)
	off := (pc - m.L.Base) % u
	f.b = append(f.b, val[off:]...)
	f.steps = append(f.steps, m.step())
	f.stale = stale
	f.alts = c.instrCands(cands, int(off))
	n := m.ISA.InsnLen(f.b)
	if len(f.b) > n {
		f.b = f.b[:n]
		return f
	}
	for len(f.b) < n {
		idx++
		val, cands2, stale2 := c.fetchUnit(t, idx)
		need := min(n-len(f.b), int(u))
		f.b = append(f.b, val[:need]...)
		f.steps = append(f.steps, m.step())
		f.stale = f.stale || stale2
		if len(cands2) > 1 {
			f.alts = append(f.alts, c.instrCands(cands2, 0)...)
		}
	}
	return f
}

// instrCands trims unit candidates to the instruction bytes within it.
func (c *CPU) instrCands(cands [][]byte, off int) [][]byte {
	if len(cands) < 2 {
		return nil
	}
	var out [][]byte
	for _, v := range cands {
		out = append(out, v[off:])
	}
	return out
}

// IPIKind is what an IPI makes its target do.
type IPIKind uint8

const (
	// IPISync is kick_all_cpus_sync()'s empty call: on arm64 taking it is
	// exception entry and return, a context synchronisation.
	IPISync IPIKind = iota + 1
	// IPIFenceI is RISC-V's ipi_remote_fence_i: the target runs fence.i.
	IPIFenceI
	// SBIFenceI is sbi_remote_fence_i(): the firmware makes the target
	// run fence.i in M-mode, whatever the S-mode interrupt state.
	SBIFenceI
)

func (k IPIKind) String() string {
	return [...]string{"?", "IPI (kick_all_cpus_sync)", "IPI (ipi_remote_fence_i)", "SBI remote fence.i"}[k]
}

// SendIPIs mirrors smp_call_function(func, wait=1) / on_each_cpu() from
// CPU self: one operation queues the IPI to every other CPU, then the
// sender waits for every acknowledgement.
func (m *Machine) SendIPIs(t *explore.Thread, self *CPU, kind IPIKind, name string) {
	n := len(m.CPUs)
	t.Op(name+": send "+kind.String(), explore.WRange(m.ipiObj, n))
	m.SetWriterStep(t, name)
	for i := range m.ipiGen {
		if i != self.ID {
			m.ipiGen[i]++
			m.ipiKind[i] = kind
			m.ipiSentAt[i] = m.step()
		}
	}
	t.Await(name+": wait for every CPU", explore.RRange(m.ackObj, n), func() bool {
		for i := range m.ackGen {
			if i != self.ID && m.ackGen[i] < m.ipiGen[i] {
				return false
			}
		}
		return true
	})
}

// pendingIPI: an IPI is queued that c can take now.
func (c *CPU) pendingIPI() bool {
	m := c.m
	return m.ipiGen[c.ID] > c.seen && (c.IRQs || m.ipiKind[c.ID] == SBIFenceI)
}

// takeIPI runs the IPI's handler and acknowledges it: an operation of its
// own after the boundary that saw it.
func (c *CPU) takeIPI(t *explore.Thread) {
	m := c.m
	kind := m.ipiKind[c.ID]
	t.OpMulti(fmt.Sprintf("cpu%d: %s", c.ID, kind), explore.W(m.ackObj+explore.Obj(c.ID)), explore.R(m.imem))
	c.seen = m.ipiGen[c.ID]
	switch {
	case kind == IPIFenceI || kind == SBIFenceI:
		c.fenceI()
	case m.ISA.SyncOnException():
		c.contextSync()
	}
	if m.ipiSentAt[c.ID] > m.lastStore && m.lastStore >= 0 {
		c.MarkWriterSync()
	}
	m.ackGen[c.ID] = c.seen
	if t.Tracing() {
		what := "exception entry/return: context synchronisation"
		switch {
		case kind != IPISync:
			what = "fence.i"
		case !m.ISA.SyncOnException():
			what = "no fetch synchronisation"
		}
		t.Notef("cpu%d: takes the %s (%s)", c.ID, kind, what)
	}
}

// boundary is an instruction boundary of a task on c: a pending IPI is
// taken (if interrupts allow), and if the task is preemptible a pending
// stop_machine runs its stopper here.
func (c *CPU) boundary(t *explore.Thread) {
	m := c.m
	fps := []explore.Footprint{explore.R(m.ipiObj + explore.Obj(c.ID))}
	if m.stop != nil && c.Preemptible {
		fps = append(fps, explore.R(m.stop.reqObj))
	}
	t.OpMulti("boundary", fps...)
	if c.pendingIPI() {
		c.takeIPI(t)
	}
	if c.Preemptible && m.stop != nil && m.stop.requested && !c.stopDone {
		c.stopper(t)
	}
}

// schedulePoint is a point where the task on c calls schedule() (between
// its calls): IPIs are taken and a pending stopper runs.
func (c *CPU) schedulePoint(t *explore.Thread) {
	m := c.m
	fps := []explore.Footprint{explore.R(m.ipiObj + explore.Obj(c.ID))}
	if m.stop != nil {
		fps = append(fps, explore.R(m.stop.reqObj))
	}
	t.OpMulti("schedule point", fps...)
	if c.pendingIPI() {
		c.takeIPI(t)
	}
	if m.stop != nil && m.stop.requested && !c.stopDone {
		c.stopper(t)
	}
}

// SpinUntil is a spin-wait with interrupts as they are on c (cpu_relax
// in a loop): it blocks until cond holds, taking the IPIs c can take
// meanwhile (SBI remote fences even with interrupts off). fp must cover
// what cond reads.
func (c *CPU) SpinUntil(t *explore.Thread, label string, fp explore.Footprint, cond func() bool) {
	m := c.m
	for {
		t.AwaitMulti(label, func() bool { return cond() || c.pendingIPI() }, fp, explore.R(m.ipiObj+explore.Obj(c.ID)))
		if cond() {
			return
		}
		c.takeIPI(t)
	}
}

// idle is the CPU once its task is done: the idle loop takes IPIs and
// runs the stopper whenever asked.
func (c *CPU) idle(t *explore.Thread) {
	m := c.m
	for {
		fps := []explore.Footprint{explore.R(m.ipiObj + explore.Obj(c.ID))}
		if m.stop != nil {
			fps = append(fps, explore.R(m.stop.reqObj))
		}
		t.AwaitMulti("idle: wait for an IPI or the stopper", func() bool {
			return c.pendingIPI() || (m.stop != nil && m.stop.requested && !c.stopDone)
		}, fps...)
		if c.pendingIPI() {
			c.takeIPI(t)
		}
		if m.stop != nil && m.stop.requested && !c.stopDone {
			c.stopper(t)
		}
	}
}

// SlotExec is one executed instruction of a patch site.
type SlotExec struct {
	CPU, Site, Slot int
	Class           Class
	Bytes           []byte
	Text            string
	Begin           int32 // step of its first fetch
	Stale           bool  // some unit came from a superseded snapshot
}

// Class is an executed site instruction's version.
type Class uint8

const (
	ClassOld  Class = iota + 1 // the old instruction
	ClassNew                   // the new instruction (or an unchanged one)
	ClassTorn                  // bytes of both versions
)

func (c Class) String() string { return [...]string{"?", "old", "new", "torn"}[c] }

// UnpredictableRecord is a fetch that could return encodings the ISA does
// not allow to be concurrently modified into one another.
type UnpredictableRecord struct {
	CPU    int
	Addr   uint64
	Cands  [][]byte
	Step   int32
	Writer model.WriterState
}

// TornRecord is an instruction assembled from fetches of different
// versions.
type TornRecord struct {
	CPU    int
	Addr   uint64
	Bytes  []byte
	Steps  []int32
	Old    []byte
	New    []byte
	Step   int32
	Writer model.WriterState
}

// WildRecord is a site run whose effect is neither the old nor the new
// site's: an instruction sequence mixed from two versions.
type WildRecord struct {
	CPU     int
	Site    int
	Classes []Class
	Texts   []string
	Effect  string
	Step    int32
	Writer  model.WriterState
}

// StaleSyncRecord is an old instruction executed by a CPU after it took a
// synchronisation the writer issued after its last store.
type StaleSyncRecord struct {
	CPU      int
	Exec     SlotExec
	SyncedAt int32
	Writer   model.WriterState
}

// RunTask returns the body of a task on c: calls times, it calls each
// function of entries in turn (a schedule point before each call), then
// leaves the idle loop as a daemon.
func (m *Machine) RunTask(c *CPU, entries []uint64, calls int) func(t *explore.Thread) {
	return func(t *explore.Thread) {
		for i := 0; i < calls; i++ {
			for _, e := range entries {
				c.schedulePoint(t)
				if !c.call(t, e) {
					return
				}
			}
		}
		m.S.Daemon(fmt.Sprintf("cpu%d idle", c.ID), c.idle)
	}
}

// call runs the function at entry until it returns. It returns false when
// the CPU died (an unpredictable or torn instruction, a wild jump).
func (c *CPU) call(t *explore.Thread, entry uint64) bool {
	m := c.m
	var regs Regs
	pc := entry
	// The site being run and its instructions' classes, for the mixed
	// sequence check.
	site, run := -1, []Class(nil)
	var texts []string
	for {
		if !m.L.In(pc) {
			return true // returned to the caller
		}
		c.boundary(t)
		f := c.fetch(t, pc)
		s, slot := m.L.SiteSlot(pc)
		text := m.ISA.Disasm(f.b, pc, m.L.Sym)
		if len(f.alts) > 1 && !m.ISA.ConcurrentOK(f.alts) {
			if m.Unpredictable == nil {
				m.Unpredictable = &UnpredictableRecord{CPU: c.ID, Addr: pc, Cands: f.alts, Step: m.step(), Writer: m.Writer}
			}
			if t.Tracing() {
				t.Notef("cpu%d fetched %#x while it may see %s: CONSTRAINED UNPREDICTABLE", c.ID, pc, c.altText(f.alts, pc))
			}
			return false
		}
		if s >= 0 {
			sl := m.L.Sites[s].Slots[slot]
			cls := ClassTorn
			switch {
			case bytes.Equal(f.b, sl.New):
				cls = ClassNew
			case bytes.Equal(f.b, sl.Old):
				cls = ClassOld
			}
			ex := SlotExec{CPU: c.ID, Site: s, Slot: slot, Class: cls, Bytes: f.b, Text: text, Begin: f.steps[0], Stale: f.stale}
			m.Execs = append(m.Execs, ex)
			if t.Tracing() {
				c.noteFetch(t, pc, f, text, cls.String())
			}
			if cls == ClassTorn {
				if m.Torn == nil {
					m.Torn = &TornRecord{CPU: c.ID, Addr: pc, Bytes: f.b, Steps: f.steps, Old: sl.Old, New: sl.New, Step: m.step(), Writer: m.Writer}
				}
				return false
			}
			if cls == ClassOld && c.syncedAt >= 0 && m.StaleSync == nil {
				m.StaleSync = &StaleSyncRecord{CPU: c.ID, Exec: ex, SyncedAt: c.syncedAt, Writer: m.Writer}
			}
			if slot == 0 {
				site, run, texts = s, nil, nil
			}
			if s == site {
				run, texts = append(run, cls), append(texts, text)
			}
		} else if t.Tracing() {
			c.noteFetch(t, pc, f, text, "")
		}
		t.Op("execute", explore.Local)
		eff, err := m.ISA.Exec(f.b, pc, &regs)
		if err != nil {
			if site >= 0 && m.Wild == nil {
				m.Wild = &WildRecord{CPU: c.ID, Site: site, Classes: run, Texts: texts, Effect: err.Error(), Step: m.step(), Writer: m.Writer}
			}
			if t.Tracing() {
				t.Notef("cpu%d: %v", c.ID, err)
			}
			return false
		}
		if site >= 0 && (eff.Kind != model.FallThrough || pc+uint64(len(f.b)) == m.L.Sites[site].End()) {
			// The site run ends: judge its effect.
			st := &m.L.Sites[site]
			if !eff.Same(st.OldEffect) && !eff.Same(st.NewEffect) && m.Wild == nil {
				m.Wild = &WildRecord{CPU: c.ID, Site: site, Classes: run, Texts: texts, Effect: eff.String(), Step: m.step(), Writer: m.Writer}
				return false
			}
			site = -1
		}
		switch eff.Kind {
		case model.FallThrough:
			pc += uint64(len(f.b))
		case model.Jump:
			pc = eff.Next
		case model.Call:
			// The callee (outside the image) returns at once.
			if m.L.In(eff.Next) {
				panic("cmodx: calls inside the image are not modelled")
			}
			pc = eff.Pushed
		case model.Return:
			return true
		}
	}
}

func (c *CPU) altText(alts [][]byte, pc uint64) string {
	var parts []string
	for _, a := range alts {
		parts = append(parts, fmt.Sprintf("%s (%s)", model.Hex(a), c.m.ISA.Disasm(a, pc, c.m.L.Sym)))
	}
	return strings.Join(parts, " or ")
}

// noteFetch narrates a fetch for rendered traces.
func (c *CPU) noteFetch(t *explore.Thread, pc uint64, f fetched, text, cls string) {
	var b strings.Builder
	fmt.Fprintf(&b, "cpu%d fetched %#x: %s %s", c.ID, pc, model.Hex(f.b), text)
	if cls != "" {
		fmt.Fprintf(&b, " (%s)", cls)
	}
	if f.stale {
		b.WriteString(", a stale copy")
	}
	if len(f.alts) > 1 {
		fmt.Fprintf(&b, "; it could see %d versions", len(f.alts))
	}
	t.Note(b.String())
}

// SiteEffect runs a site's instructions from a fresh register file and
// returns the effect of the run: the first control transfer, or falling
// through past the site.
func SiteEffect(isa ISA, s *Site, newText bool) (model.Effect, error) {
	var regs Regs
	for _, sl := range s.Slots {
		b := sl.Old
		if newText {
			b = sl.New
		}
		eff, err := isa.Exec(b, sl.Addr, &regs)
		if err != nil {
			return eff, err
		}
		if eff.Kind != model.FallThrough {
			return eff, nil
		}
	}
	return model.Effect{Kind: model.FallThrough, Next: s.End()}, nil
}

// FetchInsn fetches the instruction at pc for a litmus thread: the fetch
// model's choice among the versions c may see, the concurrent-modification
// rule judged as for a task. ok is false when the fetch is unpredictable
// (recorded for the cmodx property).
func (c *CPU) FetchInsn(t *explore.Thread, pc uint64) (b []byte, ok bool) {
	m := c.m
	f := c.fetch(t, pc)
	if len(f.alts) > 1 && !m.ISA.ConcurrentOK(f.alts) {
		if m.Unpredictable == nil {
			m.Unpredictable = &UnpredictableRecord{CPU: c.ID, Addr: pc, Cands: f.alts, Step: m.step(), Writer: m.Writer}
		}
		return nil, false
	}
	if t.Tracing() {
		c.noteFetch(t, pc, f, m.ISA.Disasm(f.b, pc, m.L.Sym), "")
	}
	return f.b, true
}

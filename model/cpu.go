package model

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// line is a cached N-byte line of the stale fetch model.
type line struct {
	addr uint64
	fill int32 // last step at which data was read from (or checked against) memory
	data [64]byte
}

// CPU is one emulated processor. CPU 0 runs the patch writer.
type CPU struct {
	ID int
	m  *Machine
	// IF is the interrupt flag: IPIs are taken only at boundaries with IF
	// set. The int3 gate and NMIs clear it.
	IF      bool
	inNMI   bool
	NMILeft int
	// seen is the last IPI generation this CPU has read at a boundary.
	seen int32

	lines []line
	stack []uint64

	fb [MaxInsnLen]FetchedByte
	fn int

	// A host CPU (Machine.Host) runs a thread whose code between site
	// executions is not instructions; busy is set while it executes a
	// site, and busyObj covers busy, seen and the cached lines, which its
	// interrupt thread also changes.
	host    bool
	busy    bool
	busyObj explore.Obj

	// A NOHZ_FULL CPU (NohzExecutor) in user mode gets no sync IPI: the
	// sync sets deferred instead (both under the CPU's IPI slot).
	nohz, user, deferred bool

	// Where the CPU's code is, kept here rather than in Go locals so the
	// state digest (digest.go) can see it: the executor's round and
	// entry, the prelude instructions left, the instruction pointer of
	// each active call (an NMI's call nests in the interrupted one), the
	// NMI's entry and saved IF, and the trap being handled.
	round, entry, preludeLeft int
	frames                    []uint64
	nmiEntry                  int
	nmiSavedIF                bool
	trapRegs                  *Regs
	trapSavedIF               bool
	preludeLine               uint64 // the line the pending prelude fill reads

	// The stateful search's declarations (DeclareCPU): the symmetry
	// class of the CPU's threads, declared if its state is.
	declared bool
	symClass string
}

// Machine returns the CPU's machine.
func (c *CPU) Machine() *Machine { return c.m }

// Serialize drops the CPU's cached lines: sync_core, IRET, CPUID.
func (c *CPU) Serialize() { c.lines = c.lines[:0] }

// Regs is the interrupted context an int3 handler sees and changes.
type Regs struct {
	// IP is the saved instruction pointer: the address after the int3.
	IP     uint64
	cpu    *CPU
	pushed bool
	pushV  uint64
	popped bool
	// Emulated says a handler emulated an instruction into these regs
	// (Emulate sets it): what the handler returns, kept here so the
	// state digest sees it while the handler is still running.
	Emulated bool
}

// CPU is the CPU that trapped.
func (r *Regs) CPU() *CPU { return r.cpu }

// Push mirrors int3_emulate_push: it writes v on the interrupted stack.
func (r *Regs) Push(v uint64) {
	r.cpu.stack = append(r.cpu.stack, v)
	r.pushed, r.pushV = true, v
}

// Pop mirrors the pop of int3_emulate_ret.
func (r *Regs) Pop() uint64 {
	s := r.cpu.stack
	v := s[len(s)-1]
	r.cpu.stack = s[:len(s)-1]
	r.popped = true
	return v
}

// effect is what the handler did, as an Effect.
func (r *Regs) effect() Effect {
	switch {
	case r.popped:
		return Effect{Kind: Return}
	case r.pushed:
		return Effect{Kind: Call, Next: r.IP, Pushed: r.pushV}
	}
	return Effect{Kind: Jump, Next: r.IP}
}

// retSentinel marks the bottom of a call made by the CPU's own loop.
const retSentinel = ^uint64(0)

// Executor returns the body of an executor CPU: before each call of
// the patched code it runs `prelude` instructions of other code
// (Prelude), then calls every site entry, `executions` times; then, if
// it may still take an NMI, it takes a last instruction boundary (the
// caller's next instruction), and it leaves an idle daemon that answers
// sync IPIs (a boundary that could only take IPIs adds nothing to that).
func (m *Machine) Executor(c *CPU, executions, prelude int) func(t *explore.Thread) {
	return func(t *explore.Thread) {
		for c.round = 0; c.round < executions; c.round++ {
			c.Prelude(t, prelude)
			for c.entry = 0; c.entry < len(m.L.Entries); c.entry++ {
				if !c.call(t, m.L.Entries[c.entry]) {
					return
				}
			}
		}
		if c.NMILeft > 0 {
			// The caller's next instruction, where an NMI may still
			// arrive; without one, the idle loop takes the IPIs.
			c.boundary(t)
		}
		m.spawnIdle(c)
	}
}

// UnrelatedInt3 returns the body of a CPU that hits an unrelated int3 (a
// kprobe elsewhere in the kernel) up to `hits` times: each hit calls the
// kprobe'd function, whose first byte traps into the same int3 handler
// path the patch sites use; the text-patching handler must answer "not
// mine" without touching freed state, and kprobe_int3_handler then
// claims it. Every instruction it runs is an instruction boundary (it
// takes sync IPIs like any CPU), so a hit can land anywhere in the
// writer's protocol; between hits it runs other code (one boundary).
// Afterwards it idles, answering sync IPIs. The layout must have a
// kprobe (NewLayout with kprobe set).
func (m *Machine) UnrelatedInt3(c *CPU, hits int) func(t *explore.Thread) {
	if m.L.Kprobe == 0 {
		panic("model: UnrelatedInt3 on a layout without a kprobe")
	}
	return func(t *explore.Thread) {
		for c.round = 0; c.round < hits; c.round++ {
			if !c.call(t, m.L.Kprobe) {
				return
			}
		}
		m.spawnIdle(c)
	}
}

// Prelude runs n instructions of other kernel code on an executor CPU
// before it calls the patched code: the CPU was somewhere else, and
// every one of those instructions is an instruction boundary (pending
// sync IPIs are taken, an NMI may arrive, see boundary). Under stale:N
// each instruction also fills one of the CPU's lines that hold site
// bytes with memory's then-current bytes (the CPU ran code sharing the
// line, or the site itself long before, or prefetched it): which line
// is a choice when the sites span more than one. docs/x86.md says why
// n = NMIs + site lines covers every longer prelude.
func (c *CPU) Prelude(t *explore.Thread, n int) {
	m := c.m
	for c.preludeLeft = n; c.preludeLeft > 0; c.preludeLeft-- {
		c.boundary(t)
		if m.L.Fetch.Kind != Stale || len(m.L.SiteLines) == 0 {
			continue
		}
		c.preludeLine = m.L.SiteLines[0]
		if k := len(m.L.SiteLines); k > 1 {
			c.preludeLine = m.L.SiteLines[t.Choose("prelude: line to fill", k)]
		}
		la := c.preludeLine
		t.Op("prelude: fill a line", m.ReadFP(la, m.L.Fetch.N))
		c.fillLine(la, m.step())
		c.preludeLine = 0
		if t.Tracing() {
			t.Notef("cpu%d: other code fills line %#x", c.ID, la)
		}
	}
}

// fillLine reads the stale-model line at la from memory into the CPU's
// cache (allocating a slot only the first time the CPU caches it).
func (c *CPU) fillLine(la uint64, now int32) *line {
	m := c.m
	l := c.cached(la)
	if l == nil {
		c.lines = append(c.lines, line{addr: la})
		l = &c.lines[len(c.lines)-1]
	}
	copy(l.data[:], m.mem[la-m.L.Base:la-m.L.Base+uint64(m.L.Fetch.N)])
	l.fill = now
	return l
}

// idle is an idle CPU (hlt with interrupts enabled): it runs do_sync_core
// for every IPI it gets. Waking, running do_sync_core and acknowledging
// are one operation: an idle CPU does nothing else in between that
// another CPU could observe.
func (c *CPU) idle(t *explore.Thread) {
	m := c.m
	id := explore.Obj(c.ID)
	for {
		t.AwaitMulti("idle: IPI: sync_core, ack", func() bool { return m.ipiGen[c.ID] > c.seen },
			explore.R(m.ipiObj+id), explore.W(m.ackObj+id))
		c.seen = m.ipiGen[c.ID]
		c.Serialize()
		m.ackGen[c.ID] = c.seen
		m.IPIsTook++
		if t.Tracing() {
			t.Notef("cpu%d: IPI: sync_core", c.ID)
		}
	}
}

// ack is do_sync_core in the IPI: serialize, then acknowledge.
func (c *CPU) ack(t *explore.Thread) {
	m := c.m
	t.Op("IPI: sync_core, ack", explore.W(m.ackObj+explore.Obj(c.ID)))
	c.Serialize()
	m.ackGen[c.ID] = c.seen
	m.IPIsTook++
	if t.Tracing() {
		t.Notef("cpu%d: IPI: sync_core", c.ID)
	}
}

// boundary is an instruction boundary. With interrupts enabled every
// pending sync IPI is taken: the interrupt runs each queued do_sync_core
// (flush_smp_call_function_queue) and acknowledges them, an operation of
// its own; IRET re-enables interrupts and leaves the CPU at the same
// boundary, where an IPI sent meanwhile is taken next. When none is
// pending, an NMI may arrive, and the instruction follows.
func (c *CPU) boundary(t *explore.Thread) {
	m := c.m
	for {
		canNMI := c.NMILeft > 0 && !c.inNMI
		if !c.IF && !canNMI {
			return
		}
		t.Op("boundary", explore.R(m.ipiObj+explore.Obj(c.ID)))
		if c.IF && m.ipiGen[c.ID] > c.seen {
			c.seen = m.ipiGen[c.ID]
			c.ack(t)
			continue
		}
		c.NMIPoint(t)
		return
	}
}

// NMIPoint is a point where an NMI may arrive on the CPU (within its
// bound): the NMI handler calls the patched code. Call it inside an
// operation; the NMI's own operations follow it.
func (c *CPU) NMIPoint(t *explore.Thread) bool {
	if c.NMILeft <= 0 || c.inNMI {
		return true
	}
	if t.Choose("nmi", 2) == 0 {
		return true
	}
	c.NMILeft--
	if t.Tracing() {
		t.Notef("cpu%d: NMI", c.ID)
	}
	c.inNMI = true
	saved := c.IF
	c.IF = false
	if h := c.m.NMIEnter; h != nil {
		h(t, c)
	}
	c.nmiSavedIF = saved
	ok := true
	for c.nmiEntry = 0; c.nmiEntry < len(c.m.L.Entries); c.nmiEntry++ {
		if ok = c.call(t, c.m.L.Entries[c.nmiEntry]); !ok {
			break
		}
	}
	if !ok {
		// The CPU died in the NMI (a torn decode or an unclaimed int3
		// that a scenario chose not to judge): it never returns to the
		// code it interrupted.
		t.Exit()
	}
	if h := c.m.NMIExit; h != nil {
		h(t, c)
	}
	c.Serialize() // IRET from the NMI
	c.IF = saved
	c.inNMI = false
	c.nmiEntry, c.nmiSavedIF = 0, false
	return ok
}

// call calls the function at entry and runs it until it returns. It
// returns false when the CPU died (a torn instruction, an unclaimed
// int3).
func (c *CPU) call(t *explore.Thread, entry uint64) bool {
	m := c.m
	base := len(c.stack)
	c.stack = append(c.stack, retSentinel)
	ip := entry
	c.frames = append(c.frames, ip)
	defer func() { c.frames = c.frames[:len(c.frames)-1] }()
	for {
		c.frames[len(c.frames)-1] = ip
		if !m.L.In(ip) {
			// Another function runs and returns (a call target), or the
			// function tail-jumped away.
			v := c.stack[len(c.stack)-1]
			c.stack = c.stack[:len(c.stack)-1]
			if v == retSentinel {
				break
			}
			ip = v
			continue
		}
		eff, cls, ok := c.step(t, ip)
		if !ok {
			c.stack = c.stack[:base]
			return false
		}
		if cls == ClassOther && eff.Kind == Trap {
			// An int3 outside the sites that a handler claimed (the
			// kprobe): continue where it said.
			ip = eff.Next
			continue
		}
		switch eff.Kind {
		case FallThrough, Jump:
			ip = eff.Next
		case Call:
			if cls != ClassInt3 { // the handler pushed for an emulated CALL
				c.stack = append(c.stack, eff.Pushed)
			}
			ip = eff.Next
		case Return:
			// A real RET pops here (RET sites are not modelled, so the
			// handler never emulates one).
			v := c.stack[len(c.stack)-1]
			c.stack = c.stack[:len(c.stack)-1]
			if v == retSentinel {
				c.stack = c.stack[:base]
				return true
			}
			ip = v
		}
	}
	c.stack = c.stack[:base]
	return true
}

// step executes the instruction at ip: an instruction boundary, the fetch
// under the fetch model and the instruction's effect (the int3 handler's
// for an int3). A site execution is recorded for the properties. For an
// int3 outside the sites that a handler claimed, it returns a Trap effect
// whose Next is where the handler resumes. ok is false when the CPU died.
func (c *CPU) step(t *explore.Thread, ip uint64) (eff Effect, cls Class, ok bool) {
	m := c.m
	if !c.host {
		c.boundary(t)
	}
	// The fetched bytes are dead once the instruction is done: drop them
	// so the state digest does not tell apart states that differ only in
	// the last instruction's bytes.
	defer func() { c.fn = 0 }()
	site := m.L.SiteAt(ip)
	cls, d := c.fetch(t, ip, site)
	if cls == ClassTorn {
		c.recordTorn(t, ip, site, d)
		return Effect{}, cls, false
	}
	var ex SiteExec
	if site >= 0 {
		ex = SiteExec{CPU: c.ID, Site: site, NMI: c.inNMI, Begin: c.fb[0].Step, Fill: c.fb[0].Fill, Decoded: cls}
		for i := 0; i < c.fn && i < d.Len; i++ {
			ex.Fill = min(ex.Fill, c.fb[i].Fill)
		}
	}
	t.Op("execute", explore.Local)
	switch cls {
	case ClassInt3:
		if eff, ok = c.trap(t, ip, site); !ok {
			return Effect{}, cls, false
		}
	case ClassOld:
		eff = m.L.Sites[site].OldEffect
	case ClassNew:
		eff = m.L.Sites[site].NewEffect
	default:
		var err error
		if eff, err = EffectOf(d, ip); err != nil {
			panic(fmt.Sprintf("model: cpu%d at %#x: %v", c.ID, ip, err))
		}
		if eff.Kind == Trap {
			claimed, ok := c.trap(t, ip, -1)
			if !ok {
				return Effect{}, cls, false
			}
			return Effect{Kind: Trap, Next: claimed.Next}, cls, true
		}
	}
	if site >= 0 {
		s := &m.L.Sites[site]
		ex.End = m.step()
		ex.Effect = eff
		switch {
		case eff.Same(s.NewEffect):
			ex.Outcome = OutNew
		case eff.Same(s.OldEffect):
			ex.Outcome = OutOld
		default:
			ex.Outcome = OutOther
			if m.BadEmu == nil {
				m.BadEmu = &EmulationRecord{CPU: c.ID, Site: site, Got: eff, Step: ex.End, Writer: m.Writer}
			}
		}
		m.Execs = append(m.Execs, ex)
	}
	return eff, cls, true
}

// Host makes c a host CPU: the CPU of a thread whose code between site
// executions is not modelled as instructions (a livepatch task calling a
// function whose fentry site is being rewritten). Every point of that
// code is an instruction boundary with interrupts enabled, so a thread of
// its own, "cpuN irq", takes sync IPIs whenever the CPU is not inside
// ExecuteSite. Call it while building the execution. Host CPUs take no
// NMIs.
func (m *Machine) Host(c *CPU) {
	c.host = true
	c.NMILeft = 0
	c.busyObj = m.S.Object(fmt.Sprintf("cpu%d busy", c.ID))
	m.S.Daemon(fmt.Sprintf("cpu%d irq", c.ID), c.hostIRQ)
}

// hostIRQ takes a host CPU's sync IPIs between its site executions:
// do_sync_core and the acknowledgement, in the step that sees the IPI.
func (c *CPU) hostIRQ(t *explore.Thread) {
	m := c.m
	id := explore.Obj(c.ID)
	for {
		t.AwaitMulti("IPI: sync_core, ack", func() bool { return m.ipiGen[c.ID] > c.seen && !c.busy },
			explore.R(m.ipiObj+id), explore.W(m.ackObj+id), explore.W(c.busyObj))
		c.seen = m.ipiGen[c.ID]
		c.Serialize()
		m.ackGen[c.ID] = c.seen
		m.IPIsTook++
		if t.Tracing() {
			t.Notef("cpu%d: IPI: sync_core", c.ID)
		}
	}
}

// ExecuteSite runs the one instruction at a site's address on a host CPU
// (see Host): it enters the site (no IPI can be taken until it leaves),
// fetches under the fetch model and executes, recorded like every site
// execution. The CPU's stack is left as it was (a CALL's push, real or
// emulated by the int3 handler, is part of the returned effect). ok is
// false when the CPU died.
func (c *CPU) ExecuteSite(t *explore.Thread, ip uint64) (Effect, bool) {
	if !c.host {
		panic("model: ExecuteSite on a CPU that is not a host CPU")
	}
	t.Op("enter the site", explore.W(c.busyObj))
	c.busy = true
	eff, cls, ok := c.step(t, ip)
	if !ok {
		return eff, false
	}
	if cls == ClassInt3 && eff.Kind == Call {
		c.stack = c.stack[:len(c.stack)-1] // the handler's int3_emulate_push
	}
	t.Op("leave the site", explore.W(c.busyObj))
	c.busy = false
	return eff, true
}

// trap enters the int3 handler through an interrupt gate (IF cleared)
// and returns with IRET (serializing). It returns the handler's effect,
// or false when nobody claimed the int3 ("Oops: int3").
func (c *CPU) trap(t *explore.Thread, addr uint64, site int) (Effect, bool) {
	m := c.m
	saved := c.IF
	c.IF = false
	c.trapSavedIF = saved
	if t.Tracing() {
		t.Notef("cpu%d: int3 at %#x", c.ID, addr)
	}
	regs := Regs{IP: addr + 1, cpu: c}
	c.trapRegs = &regs
	defer func() { c.trapRegs = nil }()
	handled := m.Int3 != nil && m.Int3(t, c, &regs)
	if !handled {
		if addr == m.L.Kprobe && addr != 0 {
			// kprobe_int3_handler: the probe claims it and emulates the
			// probed 1-byte nop.
			regs.IP = addr + 1
			handled = true
		} else {
			if m.Stray == nil {
				m.Stray = &TrapRecord{CPU: c.ID, NMI: c.inNMI, Addr: addr, Step: m.step(), Writer: m.Writer}
			}
			return Effect{}, false
		}
	}
	c.Serialize() // IRET
	c.IF = saved
	if site < 0 {
		return Effect{Kind: Jump, Next: regs.IP}, true
	}
	return regs.effect(), true
}

// fetch reads the instruction at ip under the fetch model and classifies
// it. The fetched bytes are left in c.fb[:c.fn].
func (c *CPU) fetch(t *explore.Thread, ip uint64, site int) (Class, Insn) {
	m := c.m
	f := m.L.Fetch
	c.fn = 0
	for {
		a := ip + uint64(c.fn)
		start := c.fn
		switch f.Kind {
		case Bytewise:
			t.Op("fetch", m.ReadFP(a, 1))
			now := m.step()
			c.fb[c.fn] = FetchedByte{Addr: a, Value: m.Mem(a), Step: now, Fill: now}
			c.fn++
		case Block:
			blk := alignDown(a, f.N)
			fp := m.ReadFP(blk, f.N)
			if site < 0 && m.L.constInsn(ip) {
				// The bytes this instruction is made of never change, and
				// the rest of the block is discarded: the read commutes
				// with every store.
				fp = explore.Local
			}
			t.Op("fetch", fp)
			now := m.step()
			for x := a; x < blk+uint64(f.N) && c.fn < MaxInsnLen; x++ {
				c.fb[c.fn] = FetchedByte{Addr: x, Value: m.Mem(x), Step: now, Fill: now}
				c.fn++
			}
		case Stale:
			la := alignDown(a, f.N)
			t.Op("fetch", m.ReadFP(la, f.N))
			now := m.step()
			l := c.cached(la)
			mem := m.mem[la-m.L.Base : la-m.L.Base+uint64(f.N)]
			stale := false
			switch {
			case l == nil:
				l = c.fillLine(la, now)
			case bytes.Equal(l.data[:f.N], mem):
				l.fill = now
			default:
				if t.Choose("stale line", 2) == 0 {
					stale = true
				} else {
					l = c.fillLine(la, now)
				}
			}
			for x := a; x < la+uint64(f.N) && c.fn < MaxInsnLen; x++ {
				c.fb[c.fn] = FetchedByte{Addr: x, Value: l.data[x-la], Step: now, Fill: l.fill, Stale: stale}
				c.fn++
			}
		}
		if t.Tracing() {
			c.noteFetchStep(t, start)
		}
		cls, d := c.classify(ip, site)
		if d.Status != NeedMore || c.fn >= MaxInsnLen {
			if d.Status == NeedMore {
				cls = ClassTorn
			}
			if site >= 0 && t.Tracing() {
				c.noteFetch(t, cls, d)
			}
			return cls, d
		}
	}
}

// noteFetchStep narrates one fetch step for rendered traces: the address
// range and the bytes it read (from fb[start:fn]), whether the CPU is in
// an NMI, and for a stale line the step whose fill the bytes came from.
func (c *CPU) noteFetchStep(t *explore.Thread, start int) {
	if start >= c.fn {
		return
	}
	var b strings.Builder
	first, last := c.fb[start], c.fb[c.fn-1]
	if c.inNMI {
		b.WriteString("[NMI] ")
	}
	fmt.Fprintf(&b, "read %#x", first.Addr)
	if n := last.Addr + 1 - first.Addr; n > 1 {
		fmt.Fprintf(&b, " +%d", n)
	}
	b.WriteByte(':')
	for _, fb := range c.fb[start:c.fn] {
		fmt.Fprintf(&b, " %02x", fb.Value)
	}
	if first.Stale {
		fmt.Fprintf(&b, " (stale line filled at step %d)", first.Fill)
	} else if first.Fill != first.Step {
		fmt.Fprintf(&b, " (cached line filled at step %d)", first.Fill)
	}
	t.Note(b.String())
}

// noteFetch narrates a completed fetch at a site for rendered traces:
// each byte the decode used with the step that fetched it (and, for a
// stale line, the step the line was read), and the GNU decoding.
func (c *CPU) noteFetch(t *explore.Thread, cls Class, d Insn) {
	var b strings.Builder
	fmt.Fprintf(&b, "cpu%d fetched", c.ID)
	n := c.fn
	if d.Status == Complete && d.Len < n {
		n = d.Len
	}
	for i := 0; i < n; i++ {
		x := c.fb[i]
		fmt.Fprintf(&b, " %02x@%d", x.Value, x.Step)
		if x.Stale {
			fmt.Fprintf(&b, "(line of step %d)", x.Fill)
		}
	}
	text := d.Text
	if d.Status == NeedMore {
		text = "an unfinished instruction"
	}
	fmt.Fprintf(&b, ": %s (%s)", text, cls)
	t.Note(b.String())
}

func (c *CPU) cached(addr uint64) *line {
	for i := range c.lines {
		if c.lines[i].addr == addr {
			return &c.lines[i]
		}
	}
	return nil
}

// window copies the fetched bytes.
func (c *CPU) window(buf []byte) []byte {
	for i := 0; i < c.fn; i++ {
		buf = append(buf, c.fb[i].Value)
	}
	return buf
}

// classify decodes the fetched bytes: old, new and int3 are recognised
// by their bytes (a prefix of either means more bytes are needed),
// anything else goes through x86asm.
func (c *CPU) classify(ip uint64, site int) (Class, Insn) {
	var buf [MaxInsnLen]byte
	w := c.window(buf[:0])
	if site >= 0 {
		s := &c.m.L.Sites[site]
		if w[0] == INT3 {
			return ClassInt3, Insn{Status: Complete, Len: 1, Text: "int3"}
		}
		n := len(s.Old)
		more := false
		for _, cand := range [2]struct {
			b   []byte
			cls Class
			d   *Insn
		}{{s.Old, ClassOld, &s.OldInsn}, {s.New, ClassNew, &s.NewInsn}} {
			if len(w) >= n && bytes.Equal(w[:n], cand.b) {
				return cand.cls, *cand.d
			}
			if len(w) < n && bytes.Equal(w, cand.b[:len(w)]) {
				more = true
			}
		}
		if more {
			return ClassTorn, Insn{Status: NeedMore}
		}
		d := c.m.L.Decoder.Decode(w, ip)
		return ClassTorn, d
	}
	if c.m.L.SiteCovering(ip) >= 0 {
		return ClassTorn, c.m.L.Decoder.Decode(w, ip)
	}
	d := c.m.L.Decoder.Decode(w, ip)
	if d.Status == Invalid {
		return ClassTorn, d
	}
	return ClassOther, d
}

func (c *CPU) recordTorn(t *explore.Thread, ip uint64, site int, d Insn) {
	m := c.m
	if m.Torn != nil {
		return
	}
	n := c.fn
	if d.Status != NeedMore && d.Len < n {
		n = d.Len
	}
	r := &DecodeRecord{CPU: c.ID, NMI: c.inNMI, Addr: ip, Site: site, Insn: d, Step: m.step(), Writer: m.Writer, Fetch: m.L.Fetch}
	r.Bytes = append(r.Bytes, c.fb[:n]...)
	m.Torn = r
	if t.Tracing() {
		t.Notef("cpu%d: torn decode at %#x: %s", c.ID, ip, d.Text)
	}
}

package model

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// State digests for the engine's stateful search (explore.Stateful). A
// digest must capture everything that decides what the machine does next
// and what the x86 properties will say, and nothing that only names the
// path taken, or no state ever recurs. Raw step numbers are such names:
// the properties only compare them, so the digest keeps the comparisons
// that can still matter instead (see siteSummary and fillRelation):
//
//   - final-text flags a site fetch that began after the writer returned:
//     for the fetch in progress, whether its first byte came after;
//   - atomic-switch needs, per site, every old execution's fill ≤ every
//     new execution's end and the writer's return (hi). A violation
//     already made stays made (violated); a later one needs a fill
//     after hi, which every future fill is once hi is known and which a
//     fill held now (a cached line, the fetch buffer) is or is not.
//
// The write-only counters (Syncs, IPIsTook) and the failure records are
// left out: a judged record fails the execution in the step that makes it,
// so no stored state has one, and an ignored one changes nothing after.

// DeclareState declares the machine's shared state to the engine (Digest
// plus extra, the installed protocol's) and keeps perCPU, the protocol's
// per-CPU state, for CPUDigest. switchJudged says whether atomic-switch
// is judged: if a scenario ignores it, the digest leaves out what only
// that property needs (the per-site summary and the fills' relations to
// it), which merges many states.
func (m *Machine) DeclareState(extra func(d *explore.Digest), perCPU func(cpu int, d *explore.Digest), switchJudged bool) {
	m.perCPU = perCPU
	m.switchJudged = switchJudged
	m.S.State(func(d *explore.Digest) {
		m.Digest(d)
		if extra != nil {
			extra(d)
		}
	})
}

// DeclareCPU declares the state of the thread t that runs CPU c (its
// CPUDigest) and, if class is not empty, puts t in that symmetry class;
// the idle loop c leaves behind joins class + " idle".
func (m *Machine) DeclareCPU(t *explore.Thread, c *CPU, class string) {
	c.declared, c.symClass = true, class
	m.declareCPUThread(t, c, class)
}

func (m *Machine) declareCPUThread(t *explore.Thread, c *CPU, class string) {
	t.State(func(d *explore.Digest) { m.CPUDigest(c, d) })
	if class != "" {
		m.S.Symmetric(class, t)
	}
}

// spawnIdle leaves CPU c in its idle loop (a daemon answering sync IPIs),
// declared like the CPU's first thread.
func (m *Machine) spawnIdle(c *CPU) {
	t := m.S.Daemon(fmt.Sprintf("cpu%d idle", c.ID), c.idle)
	if c.declared {
		class := ""
		if c.symClass != "" {
			class = c.symClass + " idle"
		}
		m.declareCPUThread(t, c, class)
	}
}

// Digest adds the machine's shared state to d: patchable text, the
// writer's progress, the per-site atomic-switch
// summary, and CPU 0's state (the writer's CPU, which no executor shares).
// Per-CPU state of the other CPUs is in CPUDigest, so that identical
// executors can be declared symmetric.
func (m *Machine) Digest(d *explore.Digest) {
	d.Bytes(m.mem[m.L.WinLo-m.L.Base : m.L.WinHi-m.L.Base])
	d.Bool(m.Writer.Started)
	d.Bool(m.Writer.Done)
	d.String(m.Writer.Step)
	d.Bool(m.Int3 != nil)
	for _, s := range m.switchStates() {
		d.Bool(s.hiKnown)
		d.Bool(s.violated)
	}
	m.CPUDigest(m.CPUs[0], d)
}

// CPUDigest adds one CPU's state to d: its own fields, where its code is,
// and its slots of the machine's per-CPU state (IPI generations, online,
// halted). Step numbers become their relation to what the properties
// compare them with.
func (m *Machine) CPUDigest(c *CPU, d *explore.Digest) {
	id := c.ID
	d.Word(uint64(m.ipiGen[id]))
	d.Word(uint64(m.ackGen[id]))
	d.Word(uint64(c.seen))
	d.Bool(m.offline[id])
	d.Bool(m.Halted[id] != "")
	d.Bool(c.IF)
	d.Bool(c.inNMI)
	d.Int(c.NMILeft)
	d.Bool(c.busy)
	d.Bool(c.user)
	d.Bool(c.deferred)
	d.Int(c.round)
	d.Int(c.entry)
	d.Int(c.preludeLeft)
	d.Word(c.preludeLine)
	d.Int(c.nmiEntry)
	d.Bool(c.nmiSavedIF)
	d.Int(len(c.frames))
	for _, ip := range c.frames {
		d.Word(ip)
	}
	d.Int(len(c.stack))
	for _, v := range c.stack {
		d.Word(v)
	}
	// Lines in address order: the order they were first cached in does
	// not matter (cached looks them up by address).
	d.Int(len(c.lines))
	prev, first := uint64(0), true
	for range c.lines {
		var l *line
		for i := range c.lines {
			x := &c.lines[i]
			if (first || x.addr > prev) && (l == nil || x.addr < l.addr) {
				l = x
			}
		}
		prev, first = l.addr, false
		d.Word(l.addr)
		d.Bytes(l.data[:m.L.Fetch.N])
		m.addFill(d, l.fill)
	}
	d.Int(c.fn)
	for i := 0; i < c.fn; i++ {
		b := &c.fb[i]
		d.Word(b.Addr)
		d.Word(uint64(b.Value))
		d.Bool(b.Stale)
	}
	if c.fn > 0 {
		// The execution's Begin is the first byte's step; its Fill is
		// the least fill among the bytes the decode uses (a prefix whose
		// length the bytes decide). Per site, the prefixes whose least
		// fill lies after hi are the first j: j says it all.
		d.Bool(m.Writer.Done && c.fb[0].Step > m.Writer.DoneAt)
		for _, s := range m.switchStates() {
			j, least := 0, c.fb[0].Fill
			for i := 0; s.hiKnown && i < c.fn; i++ {
				least = min(least, c.fb[i].Fill)
				if least <= s.hi {
					break
				}
				j++
			}
			d.Int(j)
		}
	}
	if m.perCPU != nil {
		m.perCPU(id, d)
	}
	if r := c.trapRegs; r != nil {
		d.Word(1)
		d.Word(r.IP)
		d.Bool(r.pushed)
		d.Word(r.pushV)
		d.Bool(r.popped)
		d.Bool(r.Emulated)
		d.Bool(c.trapSavedIF)
	} else {
		d.Word(0)
	}
}

// siteState is what atomic-switch can still learn about one site.
type siteState struct {
	hiKnown  bool  // a new execution has ended, or the writer returned
	hi       int32 // the earliest of those steps
	violated bool  // an old execution's fill already lies after hi, or an execution had neither effect
}

// siteSummary computes site i's siteState from the site executions so
// far, as switchViolation (props) judges them.
func (m *Machine) siteSummary(i int) siteState {
	var s siteState
	if m.Writer.Done {
		s.hiKnown, s.hi = true, m.Writer.DoneAt
	}
	lo := int32(0)
	for k := range m.Execs {
		e := &m.Execs[k]
		if e.Site != i {
			continue
		}
		switch e.Outcome {
		case OutOld:
			lo = max(lo, e.Fill)
		case OutNew:
			if !s.hiKnown || e.End < s.hi {
				s.hiKnown, s.hi = true, e.End
			}
		default:
			s.violated = true
		}
	}
	if s.hiKnown && lo > s.hi {
		s.violated = true
	}
	return s
}

// switchStates is siteStates when atomic-switch is judged, else nothing.
func (m *Machine) switchStates() []siteState {
	if !m.switchJudged {
		return nil
	}
	return m.siteStates()
}

// addFill adds a held fill step reduced to what atomic-switch can ask of
// it: for each site whose hi is known, whether the fill lies after it.
func (m *Machine) addFill(d *explore.Digest, fill int32) {
	for _, s := range m.switchStates() {
		d.Bool(s.hiKnown && fill > s.hi)
	}
}

// siteStates returns every site's siteState, recomputed only when a site
// execution was recorded or the writer returned since the last call.
func (m *Machine) siteStates() []siteState {
	key := len(m.Execs)<<1 | boolInt(m.Writer.Done)
	if m.sites == nil || m.sitesKey != key {
		m.sites = m.sites[:0]
		for i := range m.L.Sites {
			m.sites = append(m.sites, m.siteSummary(i))
		}
		m.sitesKey = key
	}
	return m.sites
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

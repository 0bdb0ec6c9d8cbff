package model

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// Class is the classification of a decoded instruction at a patch site.
type Class uint8

const (
	ClassOther Class = iota // not at a site (a landing pad, the kprobe)
	ClassOld                // the site's old instruction
	ClassNew                // the site's new instruction
	ClassInt3               // an int3 at the site's first byte
	ClassTorn               // anything else
)

func (c Class) String() string {
	return [...]string{"other", "old", "new", "int3", "torn"}[c]
}

// Outcome is what a site execution amounted to, judged by its effect.
type Outcome uint8

const (
	OutPending Outcome = iota
	OutOld             // the effect of the old instruction
	OutNew             // the effect of the new instruction
	OutOther           // neither (a wrong emulation)
)

func (o Outcome) String() string { return [...]string{"pending", "old", "new", "other"}[o] }

// SiteExec is one execution of a patch site's instruction by a CPU: the
// operations of the atomic-switch history.
type SiteExec struct {
	CPU, Site int
	NMI       bool  // executed by an NMI handler
	Fill      int32 // step at which the bytes it executed were last read from memory
	Begin     int32 // step of its first fetch
	End       int32 // step at which its effect completed
	Decoded   Class
	Outcome   Outcome
	Effect    Effect
}

// FetchedByte is one byte of a fetch window: its value, the step that
// fetched it and the step its line was read from memory (they differ for
// a stale line).
type FetchedByte struct {
	Addr  uint64
	Value byte
	Step  int32
	Fill  int32
	Stale bool
}

// DecodeRecord is a decode the properties flag (a torn one).
type DecodeRecord struct {
	CPU    int
	NMI    bool
	Addr   uint64
	Site   int
	Bytes  []FetchedByte
	Insn   Insn
	Step   int32
	Writer WriterState // the writer at that moment
	Fetch  FetchModel
}

// TrapRecord is an int3 that nobody claimed.
type TrapRecord struct {
	CPU    int
	NMI    bool
	Addr   uint64
	Step   int32
	Writer WriterState
}

// EmulationRecord is an int3 whose handler's effect matched neither the
// old nor the new instruction.
type EmulationRecord struct {
	CPU    int
	Site   int
	Got    Effect
	Step   int32
	Writer WriterState
}

// HandlerFault is a read of protocol state the handler must not make (a
// cleared descriptor, an out-of-bounds entry), reported by the protocol.
type HandlerFault struct {
	CPU      int
	InWriter bool // the writer itself corrupted the protocol's state
	Step     int32
	What     string
	Writer   WriterState
}

// WriterState is where the patch writer is: its last named step.
type WriterState struct {
	Step    string
	At      int32 // step index of Step, -1 before the first
	Started bool
	Done    bool
	DoneAt  int32
}

func (w WriterState) String() string {
	switch {
	case w.Done:
		return fmt.Sprintf("the writer had returned (step %d)", w.DoneAt)
	case w.At < 0:
		return "the writer had not started"
	}
	return fmt.Sprintf("the writer's last step was %q (step %d)", w.Step, w.At)
}

// Int3Handler is the kernel's int3 entry for text patching, installed by
// the protocol: it returns true when it handled the trap ("mine"),
// having changed regs to emulate an instruction.
type Int3Handler func(t *explore.Thread, c *CPU, regs *Regs) bool

// Machine is the world of one execution: text memory, CPUs, IPIs and the
// record of what happened.
type Machine struct {
	S    *explore.System
	L    *Layout
	mem  []byte
	CPUs []*CPU

	textObj explore.Obj // object of L.WinLo
	// ipiObj+i holds the generation of the last sync IPI sent to CPU i
	// (ipiGen[i]); ackObj+i the last one CPU i acknowledged (ackGen[i]).
	ipiObj, ackObj explore.Obj
	ipiGen, ackGen []int32

	// Int3 is the int3 handler; nil means none is installed yet.
	Int3 Int3Handler
	// NMIEnter and NMIExit, if set, run in an NMI before and after it
	// calls the patched code (the 2008 ftrace_nmi_enter/exit); they may
	// take operations of their own.
	NMIEnter, NMIExit func(t *explore.Thread, c *CPU)

	Writer WriterState

	// Records for the properties.
	Execs    []SiteExec
	Torn     *DecodeRecord
	Stray    *TrapRecord
	BadEmu   *EmulationRecord
	Fault    *HandlerFault
	Syncs    int // sync_core IPI rounds completed
	IPIsTook int

	// offline[i] is CPU i cleared from cpu_online_mask: on_each_cpu no
	// longer targets it. Halted[i], if set, says why CPU i never takes
	// an IPI again (for a stuck verdict's message).
	offline []bool
	Halted  []string

	// sites caches the atomic-switch summary of each site for the state
	// digest (digest.go), valid while sitesKey matches.
	sites    []siteState
	sitesKey int
	// perCPU adds the installed protocol's per-CPU state to a CPU's
	// digest, switchJudged says atomic-switch is judged (DeclareState).
	perCPU       func(cpu int, d *explore.Digest)
	switchJudged bool
}

// Config sizes a machine.
type Config struct {
	CPUs int   // including the writer's CPU 0
	NMIs []int // NMI bound per CPU (missing: 0)
}

// NewMachine builds the machine of one execution on s.
func NewMachine(s *explore.System, l *Layout, cfg Config) *Machine {
	m := &Machine{S: s, L: l, mem: make([]byte, len(l.Image))}
	copy(m.mem, l.Image)
	if n := int(l.WinHi - l.WinLo); n > 0 {
		m.textObj = s.Objects("text", n)
	}
	m.ipiObj = s.Objects("ipi", cfg.CPUs)
	m.ackObj = s.Objects("ipi-ack", cfg.CPUs)
	m.ipiGen = make([]int32, cfg.CPUs)
	m.ackGen = make([]int32, cfg.CPUs)
	m.offline = make([]bool, cfg.CPUs)
	m.Halted = make([]string, cfg.CPUs)
	m.Writer.At, m.Writer.DoneAt = -1, -1
	for i := 0; i < cfg.CPUs; i++ {
		c := &CPU{ID: i, m: m, IF: true}
		if i < len(cfg.NMIs) {
			c.NMILeft = cfg.NMIs[i]
		}
		m.CPUs = append(m.CPUs, c)
	}
	return m
}

// Mem reads a text byte (for code already inside an operation covering it,
// and for checks).
func (m *Machine) Mem(addr uint64) byte { return m.mem[addr-m.L.Base] }

// Bytes reads n text bytes.
func (m *Machine) Bytes(addr uint64, n int) []byte {
	out := make([]byte, n)
	copy(out, m.mem[addr-m.L.Base:])
	return out
}

// Store writes text bytes; the calling operation must have announced
// WriteFP(addr, len(b)).
func (m *Machine) Store(addr uint64, b []byte) {
	copy(m.mem[addr-m.L.Base:], b)
}

// ReadFP is the footprint of reading [addr, addr+n) of text.
func (m *Machine) ReadFP(addr uint64, n int) explore.Footprint {
	if addr >= m.L.WinHi || addr+uint64(n) <= m.L.WinLo {
		return explore.Local
	}
	lo, hi := max(addr, m.L.WinLo), min(addr+uint64(n), m.L.WinHi)
	return explore.RRange(m.textObj+explore.Obj(lo-m.L.WinLo), int(hi-lo))
}

// WriteFP is the footprint of writing [addr, addr+n) of text (inside the
// sites).
func (m *Machine) WriteFP(addr uint64, n int) explore.Footprint {
	if addr < m.L.WinLo || addr+uint64(n) > m.L.WinHi {
		panic(fmt.Sprintf("model: write of %#x+%d outside the patchable window", addr, n))
	}
	return explore.WRange(m.textObj+explore.Obj(addr-m.L.WinLo), n)
}

// ReturnFP is the footprint of the writer's return: it conflicts with every
// fetch of patchable text, so that "fetched after the writer returned"
// (final-text) is an order DPOR keeps apart from "before".
func (m *Machine) ReturnFP() explore.Footprint {
	return explore.WRange(m.textObj, int(m.L.WinHi-m.L.WinLo))
}

// step is the index of the operation being executed.
func (m *Machine) step() int32 { return int32(m.S.Step() - 1) }

// SetWriterStep records the writer's named step; call it inside the
// step's operation.
func (m *Machine) SetWriterStep(t *explore.Thread, name string) {
	m.Writer.Step, m.Writer.At, m.Writer.Started = name, m.step(), true
	if t.Tracing() {
		t.Note("writer: " + name)
	}
}

// WriterDone records that the writer returned; call it inside its last
// operation.
func (m *Machine) WriterDone() {
	m.Writer.Done, m.Writer.DoneAt = true, m.step()
}

// ReportHandlerFault records a handler fault reported by the protocol.
func (m *Machine) ReportHandlerFault(c *CPU, what string) {
	if m.Fault == nil {
		m.Fault = &HandlerFault{CPU: c.ID, Step: m.step(), What: what, Writer: m.Writer}
	}
}

// ReportWriterFault records that the writer itself corrupted the state
// the handler reads (an out-of-bounds store into the vector, say).
func (m *Machine) ReportWriterFault(what string) {
	if m.Fault == nil {
		m.Fault = &HandlerFault{CPU: 0, InWriter: true, Step: m.step(), What: what, Writer: m.Writer}
	}
}

// SyncEachCPU mirrors smp_text_poke_sync_each_cpu(): on_each_cpu(
// do_sync_core, NULL, wait=1). In one operation ("<name>: send IPIs") it
// queues the IPI to every other online CPU and runs sync_core locally;
// each remote CPU runs do_sync_core and acknowledges at its next
// instruction boundary with interrupts enabled (an operation of its own);
// the writer then waits for every acknowledgement ("<name>: wait for
// acks"). after, if set, runs at the end of each of the writer's
// operations (its NMI points).
func (m *Machine) SyncEachCPU(t *explore.Thread, self *CPU, name string, after func()) {
	n := len(m.CPUs)
	t.Op(name+": send IPIs", explore.WRange(m.ipiObj, n))
	m.SetWriterStep(t, name)
	for i := range m.ipiGen {
		switch c := m.CPUs[i]; {
		case i == self.ID || m.offline[i]:
		case c.nohz && c.user:
			c.deferred = true // a NOHZ_FULL CPU in user mode: deferred to its next entry
		default:
			m.ipiGen[i]++
		}
	}
	self.Serialize() // the local do_sync_core
	if after != nil {
		after()
	}
	t.Await(name+": wait for acks", explore.RRange(m.ackObj, n), func() bool {
		for i := range m.ackGen {
			if m.behind(self, i) {
				return false
			}
		}
		return true
	})
	m.Syncs++
	if after != nil {
		after()
	}
}

// Unacked lists the online CPUs other than self that have not
// acknowledged the last sync IPI sent to them, for messages (the
// writer's wait uses behind, which does not allocate).
func (m *Machine) Unacked(self *CPU) []int {
	var out []int
	for i := range m.ackGen {
		if m.behind(self, i) {
			out = append(out, i)
		}
	}
	return out
}

// behind reports whether CPU i is an online CPU other than self that has
// not acknowledged the last sync IPI sent to it.
func (m *Machine) behind(self *CPU, i int) bool {
	return i != self.ID && !m.offline[i] && m.ackGen[i] < m.ipiGen[i]
}

// OpIPIs is an operation of CPU c that also changes whether c is
// targeted by sync IPIs or acknowledges them (set_cpu_online): its
// footprint adds c's IPI and acknowledgement slots to fps.
func (m *Machine) OpIPIs(t *explore.Thread, c *CPU, label string, fps ...explore.Footprint) {
	id := explore.Obj(c.ID)
	t.OpMulti(label, append(fps, explore.W(m.ipiObj+id), explore.W(m.ackObj+id))...)
}

// SetOffline mirrors set_cpu_online(cpu, false): on_each_cpu stops
// targeting the CPU. Call it inside an OpIPIs operation of c.
func (m *Machine) SetOffline(c *CPU) { m.offline[c.ID] = true }

// Halt stops c for good with interrupts disabled (halt in an NMI, say):
// it never takes an IPI again. why explains it in stuck verdicts.
func (m *Machine) Halt(c *CPU, why string) {
	c.IF = false
	m.Halted[c.ID] = why
}

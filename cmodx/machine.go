package cmodx

import (
	"fmt"
	"math"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// never is the epoch at which a snapshot not yet lost will be lost.
const never = math.MaxInt32

// ISA is what the machine needs to know of an instruction set.
type ISA interface {
	// Name is "arm64" or "riscv".
	Name() string
	// InsnLen is the length of the instruction whose first parcel is b[:2].
	InsnLen(b []byte) int
	// Disasm renders one instruction as objdump prints it (GNU syntax,
	// absolute branch targets, sym naming known addresses).
	Disasm(b []byte, addr uint64, sym func(uint64) string) string
	// Exec is the instruction's control-flow effect at pc; it may read and
	// write regs (AUIPC, JALR). An instruction the machine cannot run (an
	// undefined encoding, a jump through a register no instruction of
	// this run set) returns an error saying why.
	Exec(b []byte, pc uint64, regs *Regs) (model.Effect, error)
	// ConcurrentOK reports whether a fetch that may return any of vals
	// (two or more distinct encodings) executes one of them. arm64: only
	// if all are in the CMODX set; RISC-V: always (an aligned fetch unit
	// is read atomically).
	ConcurrentOK(vals [][]byte) bool
	// SyncOnException: exception entry and return are context
	// synchronisation events (arm64), or not (RISC-V).
	SyncOnException() bool
	// Coherent: instruction fetch reads data memory directly (RISC-V
	// Ziccif), or through the point of unification that DC CVAU cleans to
	// (arm64 without IDC).
	Coherent() bool
}

// Regs are the registers a run of a function has set.
type Regs struct {
	Val [32]uint64
	Set uint32
}

// Put sets register r (x0 stays zero).
func (r *Regs) Put(n int, v uint64) {
	if n == 0 {
		return
	}
	r.Val[n], r.Set = v, r.Set|1<<n
}

// Get reads register r; ok is false when no instruction of the run set it.
func (r *Regs) Get(n int) (uint64, bool) {
	if n == 0 {
		return 0, true
	}
	return r.Val[n], r.Set&(1<<n) != 0
}

// snapshot is one value of a fetch unit.
type snapshot struct {
	val   [4]byte
	avail int32   // epoch at which it became visible
	lost  []int32 // per CPU: epoch at which that CPU's instruction side lost it
}

// unit is the history of one fetch unit.
type unit struct {
	snaps []snapshot
	// pou is the index of the first snapshot that a refill may still read
	// (arm64: every snapshot since the last DC CVAU of the unit).
	pou int
}

// Slot is one instruction of a patch site.
type Slot struct {
	Addr     uint64
	Old, New []byte
}

// Site is a patch site: one or more instructions the writer rewrites.
type Site struct {
	Name  string
	Addr  uint64
	Slots []Slot
	// OldEffect and NewEffect are what running the whole site does with
	// the old and with the new text (computed by NewMachine).
	OldEffect, NewEffect model.Effect
}

// End is the address after the site.
func (s *Site) End() uint64 {
	l := s.Slots[len(s.Slots)-1]
	return l.Addr + uint64(len(l.Old))
}

// Layout is the text of a scenario.
type Layout struct {
	Base  uint64
	Image []byte
	// Unit is the fetch unit: 4 (an aligned word is fetched atomically) or
	// 2 (RISC-V parcels without Ziccif).
	Unit  int
	Sites []Site
	// Syms names addresses for disassembly and says which call targets
	// exist outside the image (a call to one returns at once).
	Syms map[uint64]string
	// Entries are the functions a task calls, in order (default: Base).
	Entries []uint64
}

// Calls returns the functions a task calls.
func (l *Layout) Calls() []uint64 {
	if len(l.Entries) == 0 {
		return []uint64{l.Base}
	}
	return l.Entries
}

// In reports whether addr is inside the image.
func (l *Layout) In(addr uint64) bool {
	return addr >= l.Base && addr < l.Base+uint64(len(l.Image))
}

// Sym names an address ("" if it has no name).
func (l *Layout) Sym(addr uint64) string { return l.Syms[addr] }

// SiteSlot finds the site and slot of an instruction address (-1, -1 if
// none).
func (l *Layout) SiteSlot(addr uint64) (int, int) {
	for i := range l.Sites {
		for j, sl := range l.Sites[i].Slots {
			if sl.Addr == addr {
				return i, j
			}
		}
	}
	return -1, -1
}

// Machine is the world of one execution.
type Machine struct {
	S     *explore.System
	ISA   ISA
	L     *Layout
	mem   []byte
	units []unit
	// imem is the one explore object of instruction memory: text stores,
	// DC, IC, fetches, ISB and fence.i all name it, so that the epochs
	// they compare are ordered alike in every equivalent interleaving.
	imem  explore.Obj
	epoch int32
	CPUs  []*CPU

	ipiObj, ackObj explore.Obj
	ipiGen, ackGen []int32
	ipiKind        []IPIKind
	ipiSentAt      []int32 // step of the latest IPI send to each CPU
	lastStore      int32   // step of the latest text store, -1 before the first

	stop *StopMachine

	Writer model.WriterState

	// Records for the properties (sticky: made once, never retracted).
	Execs         []SlotExec
	Unpredictable *UnpredictableRecord
	Torn          *TornRecord
	Wild          *WildRecord
	StaleSync     *StaleSyncRecord
}

// Config sizes a machine.
type Config struct {
	CPUs int // including the writer's CPU 0
}

// NewMachine builds the machine of one execution.
func NewMachine(s *explore.System, isa ISA, l *Layout, cfg Config) *Machine {
	m := &Machine{S: s, ISA: isa, L: l, mem: append([]byte(nil), l.Image...), lastStore: -1}
	m.imem = s.Object("imem")
	n := cfg.CPUs
	m.units = make([]unit, len(l.Image)/l.Unit)
	for i := range m.units {
		sn := snapshot{lost: make([]int32, n)}
		copy(sn.val[:], l.Image[i*l.Unit:(i+1)*l.Unit])
		for c := range sn.lost {
			sn.lost[c] = never
		}
		m.units[i].snaps = []snapshot{sn}
	}
	m.ipiObj = s.Objects("ipi", n)
	m.ackObj = s.Objects("ipi-ack", n)
	m.ipiGen, m.ackGen = make([]int32, n), make([]int32, n)
	m.ipiKind, m.ipiSentAt = make([]IPIKind, n), make([]int32, n)
	m.Writer.At, m.Writer.DoneAt = -1, -1
	for i := 0; i < n; i++ {
		m.CPUs = append(m.CPUs, &CPU{ID: i, m: m, IRQs: true, syncedAt: -1})
	}
	return m
}

// step is the index of the operation being executed.
func (m *Machine) step() int32 { return int32(m.S.Step() - 1) }

// Mem reads text bytes as data (the writer's view, and checks).
func (m *Machine) Mem(addr uint64, n int) []byte {
	off := addr - m.L.Base
	return append([]byte(nil), m.mem[off:off+uint64(n)]...)
}

// Store writes text bytes in one single-copy-atomic store (the caller
// keeps it naturally aligned): one operation, a new snapshot of every
// unit it touches. For RISC-V (coherent fetch) only the new snapshot can
// be refilled from memory; for arm64 the older ones stay at the point of
// unification until DC CVAU.
func (m *Machine) Store(t *explore.Thread, addr uint64, b []byte) {
	t.Op(fmt.Sprintf("store %s at %#x", model.Hex(b), addr), explore.W(m.imem))
	m.storeNow(t, addr, b)
}

func (m *Machine) storeNow(t *explore.Thread, addr uint64, b []byte) {
	if !m.L.In(addr) || !m.L.In(addr+uint64(len(b))-1) {
		panic(fmt.Sprintf("cmodx: store of %#x+%d outside the text", addr, len(b)))
	}
	off := addr - m.L.Base
	copy(m.mem[off:], b)
	m.epoch++
	m.lastStore = m.step()
	u := int(m.L.Unit)
	for i := int(off) / u; i <= (int(off)+len(b)-1)/u; i++ {
		un := &m.units[i]
		sn := snapshot{avail: m.epoch, lost: make([]int32, len(m.CPUs))}
		copy(sn.val[:], m.mem[i*u:(i+1)*u])
		for c := range sn.lost {
			sn.lost[c] = never
		}
		un.snaps = append(un.snaps, sn)
		if m.ISA.Coherent() {
			un.pou = len(un.snaps) - 1
		}
	}
	if t.Tracing() {
		t.Notef("text %#x := %s (%s)", addr, model.Hex(b), m.disasmAll(b, addr))
	}
}

// CopyToKernelNofault mirrors copy_to_kernel_nofault(): the copy is made
// of the largest naturally aligned stores (8, 4, 2, then 1 bytes) the
// destination allows, each single-copy atomic and an operation of its own.
func (m *Machine) CopyToKernelNofault(t *explore.Thread, addr uint64, b []byte) {
	for len(b) > 0 {
		n := 1
		for _, sz := range []int{8, 4, 2} {
			if addr%uint64(sz) == 0 && len(b) >= sz {
				n = sz
				break
			}
		}
		m.Store(t, addr, b[:n])
		addr, b = addr+uint64(n), b[n:]
	}
}

// units covering [addr, addr+n).
func (m *Machine) unitRange(addr uint64, n int) (lo, hi int) {
	off := int(addr - m.L.Base)
	return off / m.L.Unit, (off + n - 1) / m.L.Unit
}

// DCCVAU is "dc cvau" over [addr, addr+n) completed by the following
// "dsb ish": the data reaches the point of unification, so refills of the
// instruction caches can no longer return older snapshots.
func (m *Machine) DCCVAU(t *explore.Thread, addr uint64, n int) {
	t.Op(fmt.Sprintf("dc cvau %#x; dsb ish", addr), explore.W(m.imem))
	m.epoch++
	lo, hi := m.unitRange(addr, n)
	for i := lo; i <= hi; i++ {
		m.units[i].pou = len(m.units[i].snaps) - 1
	}
}

// ICIVAU is "ic ivau" over [addr, addr+n) completed by the following
// "dsb ish": every CPU's instruction cache drops the snapshots that the
// point of unification no longer holds. A CPU may still execute one it
// prefetched before; its next context synchronisation ends that.
func (m *Machine) ICIVAU(t *explore.Thread, addr uint64, n int) {
	t.Op(fmt.Sprintf("ic ivau %#x; dsb ish", addr), explore.W(m.imem))
	m.epoch++
	lo, hi := m.unitRange(addr, n)
	for i := lo; i <= hi; i++ {
		un := &m.units[i]
		for k := 0; k < un.pou; k++ {
			for c := range un.snaps[k].lost {
				un.snaps[k].lost[c] = min(un.snaps[k].lost[c], m.epoch)
			}
		}
	}
}

// CachesCleanInvalPoU mirrors caches_clean_inval_pou() (arm64
// __flush_icache_range): dc cvau; dsb ish; ic ivau; dsb ish; isb — the
// isb synchronises only the calling CPU.
func (m *Machine) CachesCleanInvalPoU(t *explore.Thread, c *CPU, addr uint64, n int) {
	m.DCCVAU(t, addr, n)
	m.ICIVAU(t, addr, n)
	c.ISB(t)
}

// disasmAll renders consecutive instructions.
func (m *Machine) disasmAll(b []byte, addr uint64) string {
	var parts []string
	for len(b) >= 2 {
		n := m.ISA.InsnLen(b)
		if n > len(b) {
			parts = append(parts, "(part of an instruction)")
			break
		}
		parts = append(parts, m.ISA.Disasm(b[:n], addr, m.L.Sym))
		b, addr = b[n:], addr+uint64(n)
	}
	return strings.Join(parts, "; ")
}

// Disasm renders the instructions in b at addr, as objdump does.
func (m *Machine) Disasm(b []byte, addr uint64) string { return m.disasmAll(b, addr) }

// SetWriterStep records the writer's named step; call it inside the
// step's operation.
func (m *Machine) SetWriterStep(t *explore.Thread, name string) {
	m.Writer.Step, m.Writer.At, m.Writer.Started = name, m.step(), true
	if t.Tracing() {
		t.Note("writer: " + name)
	}
}

// WriterDone records that the writer returned: an operation of its own
// that conflicts with every fetch, so "fetched after the writer returned"
// is an order the search keeps apart from "before".
func (m *Machine) WriterDone(t *explore.Thread, name string) {
	t.Op(name, explore.W(m.imem))
	m.SetWriterStep(t, name)
	m.Writer.Done, m.Writer.DoneAt = true, m.step()
}

// FinishLayout checks a layout and computes its sites' old and new
// effects: every slot instruction must decode, the site must be aligned to
// the ISA's instructions, and a site must end in its slots' own bytes.
func FinishLayout(isa ISA, l *Layout) error {
	if l.Unit != 2 && l.Unit != 4 {
		return fmt.Errorf("fetch unit %d; want 2 or 4", l.Unit)
	}
	if len(l.Image)%l.Unit != 0 || l.Base%uint64(l.Unit) != 0 {
		return fmt.Errorf("the image is not a whole number of %d-byte fetch units", l.Unit)
	}
	for i := range l.Sites {
		s := &l.Sites[i]
		for _, sl := range s.Slots {
			if len(sl.Old) != len(sl.New) {
				return fmt.Errorf("site %s: slot at %#x: old is %d bytes, new %d", s.Name, sl.Addr, len(sl.Old), len(sl.New))
			}
			if !l.In(sl.Addr) || !l.In(sl.Addr+uint64(len(sl.Old))-1) {
				return fmt.Errorf("site %s: slot at %#x is outside the text", s.Name, sl.Addr)
			}
			if isa.InsnLen(sl.Old) != len(sl.Old) || isa.InsnLen(sl.New) != len(sl.New) {
				return fmt.Errorf("site %s: slot at %#x: old and new must each be one instruction", s.Name, sl.Addr)
			}
		}
		var err error
		if s.OldEffect, err = SiteEffect(isa, s, false); err != nil {
			return fmt.Errorf("site %s: the old text: %v", s.Name, err)
		}
		if s.NewEffect, err = SiteEffect(isa, s, true); err != nil {
			return fmt.Errorf("site %s: the new text: %v", s.Name, err)
		}
	}
	return nil
}

// LoadText reads text as data (LDR of an instruction word): one
// operation; data reads see memory.
func (m *Machine) LoadText(t *explore.Thread, addr uint64, n int) []byte {
	t.Op(fmt.Sprintf("load %#x", addr), explore.R(m.imem))
	return m.Mem(addr, n)
}

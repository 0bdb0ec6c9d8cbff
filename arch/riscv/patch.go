package riscv

import (
	"fmt"
	"sort"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
)

// Addresses of the scenarios' text.
const (
	Base         = 0xffffffff80010000
	FtraceCaller = 0xffffffff80020000
)

// Site kinds.
const (
	SiteFtracePair = "ftrace-pair" // nop; nop ↔ auipc t0; jalr t0 (before 2025)
	SiteFtrace2025 = "ftrace-2025" // auipc t0 (fixed); nop ↔ jalr t0
	SiteJumpLabel  = "jump-label"  // nop ↔ j l_yes
)

// SiteKinds lists the site kinds.
var SiteKinds = []string{SiteFtracePair, SiteFtrace2025, SiteJumpLabel}

// FunctionLayout builds a function with one patch site at f (aligned) or
// f+2 (misaligned: a c.nop first, as compressed code without the 4-byte
// alignment of patchable entries puts it). unit is the fetch unit: 4
// (Ziccif) or 2 (parcels). disable: the site goes from its enabled form
// back to nops.
func FunctionLayout(kind string, misaligned bool, unit int, disable bool) (*cmodx.Layout, error) {
	l := &cmodx.Layout{Base: Base, Unit: unit, Syms: map[uint64]string{Base: "f", FtraceCaller: "ftrace_caller"}}
	at := uint64(Base)
	if misaligned {
		l.Image = append(l.Image, Half(CNOP)...)
		at += 2
	}
	var slots []cmodx.Slot
	switch kind {
	case SiteFtracePair:
		a, j := CallT0(at, FtraceCaller)
		slots = []cmodx.Slot{{Addr: at, Old: Word(NOP), New: Word(a)}, {Addr: at + 4, Old: Word(NOP), New: Word(j)}}
	case SiteFtrace2025:
		a, j := CallT0(at, FtraceCaller)
		slots = []cmodx.Slot{{Addr: at, Old: Word(a), New: Word(a)}, {Addr: at + 4, Old: Word(NOP), New: Word(j)}}
	case SiteJumpLabel:
		slots = []cmodx.Slot{{Addr: at, Old: Word(NOP), New: Word(JumpTo(at, at+8))}}
		l.Syms[at+8] = "f_l_yes"
	default:
		return nil, fmt.Errorf("unknown site kind %q (want one of %v)", kind, SiteKinds)
	}
	if disable {
		for i := range slots {
			slots[i].Old, slots[i].New = slots[i].New, slots[i].Old
		}
	}
	for _, s := range slots {
		l.Image = append(l.Image, s.Old...)
	}
	l.Image = append(l.Image, Word(RET)...)
	if kind == SiteJumpLabel {
		l.Image = append(l.Image, Word(RET)...)
	}
	for len(l.Image)%4 != 0 {
		l.Image = append(l.Image, Half(CNOP)...)
	}
	l.Sites = []cmodx.Site{{Name: kind, Addr: at, Slots: slots}}
	if err := cmodx.FinishLayout(ISA{}, l); err != nil {
		return nil, err
	}
	return l, nil
}

// RemoteFence is how flush_icache_all() reaches the other harts.
type RemoteFence string

const (
	// RfenceIPI: on_each_cpu(ipi_remote_fence_i), a maskable IPI (the
	// kernel's choice with AIA/IMSIC, riscv_use_sbi_for_rfence() false).
	RfenceIPI RemoteFence = "ipi"
	// RfenceSBI: sbi_remote_fence_i(), taken in M-mode whatever the
	// S-mode interrupt state.
	RfenceSBI RemoteFence = "sbi"
)

// Protocol is a RISC-V patching protocol, as a value of the table.
type Protocol struct {
	Name        string
	Mirrors     string
	StopMachine bool
	// Site is the site kind the protocol patches by default.
	Site  string
	write func(w *writer, t *explore.Thread)
}

// Protocols is the table of protocols.
var Protocols = []Protocol{
	{Name: "ftrace-stop-machine", Site: SiteFtracePair, Mirrors: "arch_ftrace_update_code() before 2025 (after c97bf629963e): stop_machine(__ftrace_modify_code); the last hart to arrive runs ftrace_modify_all_code(), each ftrace_make_call() writing the whole auipc+jalr pair with patch_insn_write(), then releases the others, which run local_flush_icache_all()", StopMachine: true, write: (*writer).ftraceStopMachine},
	{Name: "ftrace-pair-nosync", Site: SiteFtracePair, Mirrors: "the pre-2025 pair written live: ftrace_modify_all_code() with ftrace_make_call() writing auipc+jalr by patch_insn_write() (one 8-byte store when aligned), then flush_icache_all(), without stop_machine — the pair is two instructions and a hart fetches them one at a time", write: (*writer).ftracePairNosync},
	{Name: "ftrace-2025", Site: SiteFtrace2025, Mirrors: "the 2025 scheme (\"riscv: ftrace: prepare ftrace for atomic code patching\", b2137c3b6d7a, and the removal of stop_machine): the auipc is written once at boot; ftrace_make_call()/ftrace_make_nop() write only the jalr/nop word with patch_insn_write(); arch_ftrace_update_code() ends with flush_icache_all()", write: (*writer).ftrace2025},
	{Name: "patch-text-2023", Site: SiteJumpLabel, Mirrors: "patch_text() before c97bf629963e (2024): stop_machine(patch_text_cb); the last hart to arrive calls patch_text_nosync(), whose flush_icache_range() → flush_icache_all() makes the other harts fence.i, by IPI or SBI, while they spin with interrupts disabled", StopMachine: true, write: (*writer).patchTextOld},
	{Name: "patch-text", Site: SiteJumpLabel, Mirrors: "patch_text() since c97bf629963e \"riscv: Fix text patching when IPI are used\" (Alexandre Ghiti, 2024): the last hart writes with patch_insn_write() and releases the others; every hart then runs local_flush_icache_all()", StopMachine: true, write: (*writer).patchText},
}

// ProtocolNames lists the protocols, sorted.
func ProtocolNames() []string {
	var out []string
	for _, p := range Protocols {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// FindProtocol looks a protocol up by name.
func FindProtocol(name string) (*Protocol, error) {
	for i := range Protocols {
		if Protocols[i].Name == name {
			return &Protocols[i], nil
		}
	}
	return nil, fmt.Errorf("unknown riscv protocol %q (want one of %v)", name, ProtocolNames())
}

// Step is a named synchronisation step a scenario can disable.
type Step = cmodx.Step

// Steps are the named steps.
var Steps = []Step{
	{Name: "remote-fence", Meaning: "flush_icache_all()'s remote part: sbi_remote_fence_i() or on_each_cpu(ipi_remote_fence_i)"},
	{Name: "callback-fence", Meaning: "the local_flush_icache_all() each hart runs at the end of a stop_machine callback (since c97bf629963e)"},
}

// ParseSteps checks a list of step names.
func ParseSteps(names []string) (map[string]bool, error) { return cmodx.ParseSteps(Steps, names) }

type writer struct {
	m        *cmodx.Machine
	c        *cmodx.CPU
	rfence   RemoteFence
	cpuCount *explore.Var[int]
	disabled map[string]bool
}

// Writer returns the body of the thread that runs p on hart 0 of m,
// without the named steps in disabled.
func Writer(p *Protocol, m *cmodx.Machine, rf RemoteFence, disabled map[string]bool) func(t *explore.Thread) {
	w := &writer{m: m, c: m.CPUs[0], rfence: rf, disabled: disabled}
	if p.StopMachine {
		w.cpuCount = explore.NewVar(m.S, "cpu_count", 0)
	}
	return func(t *explore.Thread) {
		p.write(w, t)
		m.WriterDone(t, "return")
	}
}

// changed are the slots whose text changes.
func (w *writer) changed() []cmodx.Slot {
	var out []cmodx.Slot
	for _, s := range w.m.L.Sites {
		for _, sl := range s.Slots {
			if string(sl.Old) != string(sl.New) {
				out = append(out, sl)
			}
		}
	}
	return out
}

// patchInsnWrite mirrors patch_insn_write(): copy_to_kernel_nofault()
// through the FIX_TEXT_POKE0 alias under text_mutex (held by the caller),
// no cache maintenance.
func (w *writer) patchInsnWrite(t *explore.Thread, addr uint64, b []byte) {
	w.m.CopyToKernelNofault(t, addr, b)
	w.m.SetWriterStep(t, "patch_insn_write")
}

// flushIcacheAll mirrors flush_icache_all() on hart c:
// local_flush_icache_all(), then sbi_remote_fence_i() or
// on_each_cpu(ipi_remote_fence_i).
func (w *writer) flushIcacheAll(t *explore.Thread, c *cmodx.CPU) {
	c.FenceI(t)
	if len(w.m.CPUs) < 2 || w.disabled["remote-fence"] {
		return
	}
	kind := cmodx.IPIFenceI
	if w.rfence == RfenceSBI {
		kind = cmodx.SBIFenceI
	}
	w.m.SendIPIs(t, c, kind, "flush_icache_all")
}

// pair writes each changed site whole: ftrace_make_call() wrote the
// auipc+jalr pair with one patch_insn_write() of MCOUNT_INSN_SIZE (8)
// bytes.
func (w *writer) pairs(t *explore.Thread) {
	for _, s := range w.m.L.Sites {
		var b []byte
		for _, sl := range s.Slots {
			b = append(b, sl.New...)
		}
		w.patchInsnWrite(t, s.Addr, b)
	}
}

// stopMachineLastArrives is the callback shape of __ftrace_modify_code()
// and patch_text_cb() since c97bf629963e: the last hart to arrive patches
// and releases the others with an extra increment; every hart ends with
// local_flush_icache_all().
func (w *writer) stopMachineLastArrives(t *explore.Thread, name string, patch func(t *explore.Thread)) {
	n := len(w.m.CPUs)
	w.m.StopMachineCall(t, w.c, name, func(t *explore.Thread, c *cmodx.CPU) {
		if w.cpuCount.Update(t, fmt.Sprintf("hart%d: atomic_inc_return(&cpu_count)", c.ID), func(v int) int { return v + 1 }) == n {
			patch(t)
			w.cpuCount.Update(t, fmt.Sprintf("hart%d: atomic_inc_return_release(&cpu_count)", c.ID), func(v int) int { return v + 1 })
		} else {
			c.SpinUntil(t, fmt.Sprintf("hart%d: while (cpu_count <= num_online_cpus()) cpu_relax()", c.ID), explore.R(w.cpuCount.Obj()),
				func() bool { return w.cpuCount.Peek() > n })
		}
		// Leaving the callback is the synchronisation point the
		// protocol relies on, with or without its fence.i.
		if w.disabled["callback-fence"] {
			c.SyncPoint(t, fmt.Sprintf("hart%d: leave the callback (no fence.i)", c.ID))
		} else {
			c.FenceI(t)
			c.MarkWriterSync()
		}
	})
}

func (w *writer) ftracePairNosync(t *explore.Thread) {
	w.pairs(t)
	w.flushIcacheAll(t, w.c)
}

func (w *writer) ftraceStopMachine(t *explore.Thread) {
	w.stopMachineLastArrives(t, "stop_machine(__ftrace_modify_code)", w.pairs)
}

func (w *writer) patchText(t *explore.Thread) {
	w.stopMachineLastArrives(t, "patch_text", func(t *explore.Thread) {
		for _, sl := range w.changed() {
			w.patchInsnWrite(t, sl.Addr, sl.New)
		}
	})
}

// patchTextOld is patch_text_cb() before c97bf629963e: the last hart to
// arrive calls patch_text_nosync() (patch_insn_write() then
// flush_icache_range() → flush_icache_all()); the others spin until
// released. With IPI remote fences the master waits for harts that spin
// with interrupts disabled.
func (w *writer) patchTextOld(t *explore.Thread) {
	n := len(w.m.CPUs)
	w.m.StopMachineCall(t, w.c, "patch_text", func(t *explore.Thread, c *cmodx.CPU) {
		if w.cpuCount.Update(t, fmt.Sprintf("hart%d: atomic_inc_return(&cpu_count)", c.ID), func(v int) int { return v + 1 }) == n {
			for _, sl := range w.changed() {
				w.patchInsnWrite(t, sl.Addr, sl.New)
				w.flushIcacheAll(t, c)
			}
			w.cpuCount.Update(t, fmt.Sprintf("hart%d: atomic_inc(&cpu_count)", c.ID), func(v int) int { return v + 1 })
			return
		}
		c.SpinUntil(t, fmt.Sprintf("hart%d: while (cpu_count <= num_online_cpus()) cpu_relax()", c.ID), explore.R(w.cpuCount.Obj()),
			func() bool { return w.cpuCount.Peek() > n })
	})
}

// ftrace2025 mirrors ftrace_modify_all_code() with the 2025
// ftrace_make_call(): only the jalr/nop word is written (one aligned
// 4-byte store when the site is aligned), then arch_ftrace_update_code()'s
// flush_icache_all().
func (w *writer) ftrace2025(t *explore.Thread) {
	for _, sl := range w.changed() {
		w.patchInsnWrite(t, sl.Addr, sl.New)
	}
	w.flushIcacheAll(t, w.c)
}

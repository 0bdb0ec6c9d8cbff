package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

const (
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
)

// stopMachine holds the CPUs parked in stop_machine and whether the
// writer released them (the body). It has no int3 handler: no int3 is
// ever written.
type stopMachine struct {
	*Poker
	globals
	parked   int
	released bool
}

func newStopMachine(k *Poker, _ int) Instance {
	return &stopMachine{Poker: k, globals: newGlobals(k)}
}

// TakeCPU is the body of a CPU parked by stop_machine (multi_cpu_stop): it
// checks in, an NMI may arrive (its handler runs the patched code), and it
// waits for the writer to release it, then serializes (the sync_core of
// text_poke_smp's stop function).
func (s *stopMachine) TakeCPU(c *model.CPU) func(t *explore.Thread) {
	return func(t *explore.Thread) {
		t.Op("multi_cpu_stop: parked", explore.W(s.body))
		s.parked++
		t.Op("parked: an NMI may arrive", explore.Local)
		if !c.NMIPoint(t) {
			return
		}
		t.Await("multi_cpu_stop: wait for the writer", explore.R(s.body), func() bool { return s.released })
		c.Serialize()
	}
}

// Writer mirrors text_poke_smp (2.6.3x–3.11) under stop_machine: wait
// until every other CPU is parked, copy the new bytes with text_poke (a
// memcpy), release.
func (s *stopMachine) Writer(t *explore.Thread) {
	s.stopMachine(t, func(e Entry) { s.Memcpy(t, "text_poke", e.Addr, e.Text) })
}

// stopMachine waits until every other CPU is parked, writes each entry
// with write, and releases the CPUs.
func (s *stopMachine) stopMachine(t *explore.Thread, write func(Entry)) {
	n := len(s.Machine().CPUs) - 1
	t.Await("stop_machine: wait until every other CPU is parked", explore.R(s.body), func() bool { return s.parked == n })
	s.Machine().SetWriterStep(t, "stop_machine")
	for _, e := range s.Entries() {
		write(e)
	}
	s.Step(t, "stop_machine: release the parked CPUs", explore.W(s.body), func() { s.released = true })
}

// ftraceNMI is stop_machine with ftrace's NMI scheme of 2.6.28: its
// nmi_running and MOD_CODE_WRITE_FLAG are the head.
type ftraceNMI struct {
	stopMachine
	nmiRunning int
	modFlag    bool
}

func newFtraceNMI(k *Poker, _ int) Instance {
	return &ftraceNMI{stopMachine: stopMachine{Poker: k, globals: newGlobals(k)}}
}

// Writer mirrors __ftrace_modify_code under stop_machine with
// do_ftrace_mod_code of 2.6.28: publish mod_code_ip/newcode,
// wait_for_nmi_and_set_mod_flag, ftrace_mod_code, clear_mod_flag,
// wait_for_nmi.
func (f *ftraceNMI) Writer(t *explore.Thread) {
	f.stopMachine.stopMachine(t, func(e Entry) {
		t.Await("wait_for_nmi_and_set_mod_flag: cmpxchg(nmi_running, 0, MOD_CODE_WRITE_FLAG)", explore.W(f.head), func() bool { return f.nmiRunning == 0 })
		f.Machine().SetWriterStep(t, "set MOD_CODE_WRITE_FLAG")
		f.modFlag = true
		f.Memcpy(t, "ftrace_mod_code", e.Addr, e.Text)
		f.Step(t, "clear_mod_flag", explore.W(f.head), func() { f.modFlag = false })
		t.Await("wait_for_nmi: nmi_running == 0", explore.R(f.head), func() bool { return f.nmiRunning == 0 })
	})
}

// NMIEnter mirrors ftrace_nmi_enter of 2.6.28: if
// atomic_inc_return(&nmi_running) has MOD_CODE_WRITE_FLAG, the NMI runs
// ftrace_mod_code itself (probe_kernel_write of the same new bytes)
// before any other code.
func (f *ftraceNMI) NMIEnter(t *explore.Thread, c *model.CPU) {
	m := f.Machine()
	t.Op("ftrace_nmi_enter: atomic_inc_return(&nmi_running)", explore.W(f.head))
	f.nmiRunning++
	if !f.modFlag {
		return
	}
	for _, e := range f.Entries() {
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

// NMIExit mirrors ftrace_nmi_exit: atomic_dec(&nmi_running).
func (f *ftraceNMI) NMIExit(t *explore.Thread, c *model.CPU) {
	t.Op("ftrace_nmi_exit: atomic_dec(&nmi_running)", explore.W(f.head))
	f.nmiRunning--
}

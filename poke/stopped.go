package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Text patching after the other CPUs were stopped (a crash or reboot
// path that then updates a static call or key on the surviving CPU).
// smp_text_poke_sync_each_cpu is on_each_cpu(..., wait=1) over
// cpu_online_mask: a CPU that is stopped with interrupts disabled but
// left in that mask never acknowledges, and the writer waits forever.
const (
	// CrashNMIStop stops the other CPUs as the crash path does
	// (nmi_shootdown_cpus → crash_nmi_callback): each decrements
	// waiting_for_crash_ipi and halts inside the NMI, interrupts
	// disabled, still in cpu_online_mask; then the survivor runs
	// smp_text_poke_batch_finish.
	CrashNMIStop Variant = "crash-nmi-shootdown"
	// StopOtherCPUs stops them as stop_other_cpus does: each runs
	// stop_this_cpu, which disables interrupts and clears itself from
	// cpu_online_mask (set_cpu_online(cpu, false)) before halting, and
	// the survivor waits until num_online_cpus() is 1; on_each_cpu then
	// targets nobody else.
	StopOtherCPUs Variant = "stop_other_cpus"
)

// stopped is the current protocol with the batch queued, plus the stop
// protocol's shared state: whether the survivor asked the others to stop
// and how many have.
type stopped struct {
	*TextPokeArray
	offline   bool // stop_this_cpu (StopOtherCPUs), not crash_nmi_callback
	obj       explore.Obj
	requested bool
	stopped   int
}

func newStopped(k *Poker, capacity int, offline bool) *stopped {
	s := &stopped{TextPokeArray: newTextPokeArray(k, capacity).(*TextPokeArray), offline: offline}
	s.obj = k.Machine().S.Object("stop: waiting_for_crash_ipi / online CPUs")
	return s
}

func newCrashNMIStop(k *Poker, capacity int) Instance  { return newStopped(k, capacity, false) }
func newStopOtherCPUs(k *Poker, capacity int) Instance { return newStopped(k, capacity, true) }

// TakeCPU returns the body of a CPU the survivor stops: it waits for the stop
// request (the NMI or the REBOOT vector) and then, in one step, runs
// crash_nmi_callback or stop_this_cpu and halts for good.
func (s *stopped) TakeCPU(c *model.CPU) func(t *explore.Thread) {
	return func(t *explore.Thread) {
		m := s.Machine()
		t.Await("wait for the stop request", explore.R(s.obj), func() bool { return s.requested })
		if !s.offline {
			t.Op("crash_nmi_callback: atomic_dec(&waiting_for_crash_ipi); halt", explore.W(s.obj))
			m.Halt(c, "stopped by crash_nmi_callback: halted in the NMI with interrupts disabled, still in cpu_online_mask")
		} else {
			m.OpIPIs(t, c, "stop_this_cpu: local_irq_disable; set_cpu_online(cpu, false); halt", explore.W(s.obj))
			m.SetOffline(c)
			m.Halt(c, "stopped by stop_this_cpu: offline")
		}
		s.stopped++
		if t.Tracing() {
			t.Notef("cpu%d: %s", c.ID, m.Halted[c.ID])
		}
	}
}

// Writer mirrors the survivor: nmi_shootdown_cpus (wait until
// waiting_for_crash_ipi is 0) or stop_other_cpus (wait until
// num_online_cpus() == 1), then smp_text_poke_batch_finish over the
// queued sites.
func (s *stopped) Writer(t *explore.Thread) {
	m := s.Machine()
	n := len(m.CPUs) - 1
	name := "nmi_shootdown_cpus: NMI to the other CPUs"
	if s.offline {
		name = "stop_other_cpus: REBOOT vector to the other CPUs"
	}
	t.Op(name, explore.W(s.obj))
	m.SetWriterStep(t, name)
	s.requested = true
	t.Await("wait until every other CPU has stopped", explore.R(s.obj), func() bool { return s.stopped == n })
	s.BatchFinish(t)
}

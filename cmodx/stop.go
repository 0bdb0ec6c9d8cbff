package cmodx

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// StopMachine is one stop_machine() call: every CPU's stopper thread runs
// multi_cpu_stop(), whose states advance when every CPU has acknowledged
// the current one, and calls fn in MULTI_STOP_RUN with interrupts
// disabled.
type StopMachine struct {
	// reqObj holds requested (written once, read at every boundary); obj
	// the state counters.
	reqObj    explore.Obj
	obj       explore.Obj
	requested bool
	// arrived counts CPUs that acknowledged MULTI_STOP_DISABLE_IRQ (the
	// last one moves the state to MULTI_STOP_RUN); finished those that
	// acknowledged MULTI_STOP_RUN (the last one moves it to
	// MULTI_STOP_EXIT).
	arrived, finished int
	fn                func(t *explore.Thread, c *CPU)
	name              string
}

// NewStopMachine allocates the stop_machine state of an execution; call
// it while building, before any CPU runs, so that every boundary watches
// it.
func (m *Machine) NewStopMachine() {
	m.stop = &StopMachine{reqObj: m.S.Object("stop_machine requested"), obj: m.S.Object("multi_stop state")}
}

// StopMachineCall mirrors stop_machine_cpuslocked(fn, cpu_online_mask):
// it queues the stopper work on every CPU (a task preempted at the right
// point, or idle, runs it) and runs the caller's own stopper; it returns
// when every CPU has left multi_cpu_stop.
func (m *Machine) StopMachineCall(t *explore.Thread, self *CPU, name string, fn func(t *explore.Thread, c *CPU)) {
	if m.stop == nil {
		panic("cmodx: StopMachineCall without NewStopMachine")
	}
	t.Op(name+": queue the stopper on every CPU", explore.W(m.stop.reqObj))
	m.SetWriterStep(t, name)
	m.stop.requested, m.stop.fn, m.stop.name = true, fn, name
	self.stopper(t)
}

// stopper mirrors multi_cpu_stop() on c: disable interrupts and
// acknowledge, wait for MULTI_STOP_RUN, run the callback, acknowledge,
// wait for MULTI_STOP_EXIT, restore interrupts.
func (c *CPU) stopper(t *explore.Thread) {
	m := c.m
	st := m.stop
	n := len(m.CPUs)
	t.Op(fmt.Sprintf("cpu%d: multi_cpu_stop: disable irqs, ack", c.ID), explore.W(st.obj))
	c.stopDone = true
	saved := c.IRQs
	c.IRQs = false
	st.arrived++
	if t.Tracing() {
		t.Notef("cpu%d: in the stopper (%d of %d CPUs)", c.ID, st.arrived, n)
	}
	c.SpinUntil(t, fmt.Sprintf("cpu%d: multi_cpu_stop: wait for MULTI_STOP_RUN", c.ID), explore.R(st.obj), func() bool { return st.arrived == n })
	st.fn(t, c)
	t.Op(fmt.Sprintf("cpu%d: multi_cpu_stop: ack MULTI_STOP_RUN", c.ID), explore.W(st.obj))
	st.finished++
	c.SpinUntil(t, fmt.Sprintf("cpu%d: multi_cpu_stop: wait for MULTI_STOP_EXIT", c.ID), explore.R(st.obj), func() bool { return st.finished == n })
	c.IRQs = saved
	if m.ISA.SyncOnException() {
		// Returning to the preempted task goes through an exception
		// return on arm64 (the stopper preempted it from an interrupt).
		t.Op(fmt.Sprintf("cpu%d: leave the stopper (exception return)", c.ID), explore.R(m.imem))
		c.contextSync()
	}
}

package catalog

import (
	"fmt"
	"slices"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
	"github.com/klpcheck/klpcheck/poke"
	"github.com/klpcheck/klpcheck/props"
)

// statefulX86 says whether an x86 configuration declares its state for
// the stateful strategy, and if not, why: the current protocol (or a
// naive writer) with standard executors, which are then symmetric. The
// other CPU kinds (NOHZ_FULL, the kprobe's CPU, parked and stopped CPUs)
// and the historical generations keep state in Go locals no digest
// covers yet.
func (c *x86Config) statefulX86() error {
	if err := poke.StatefulCheck(c.patch.Variant); err != nil {
		return err
	}
	switch {
	case c.nohz:
		return fmt.Errorf("NOHZ_FULL executors declare no state digest for the stateful strategy")
	}
	return nil
}

// declareState declares the execution's state to the engine when the
// configuration supports it: the machine and the batch (shared), CPU 0
// with the writer, whose own state is its path, each executor CPU, all in
// one symmetry class (they run the same code with the same parameters,
// and the x86 properties never ask which CPU did what), and the kprobe's
// CPU on its own.
func (c *x86Config) declareState(m *model.Machine, k *poke.Poker, writer *explore.Thread, executors []*explore.Thread, kprobe *explore.Thread) {
	sd := k.StateDigester()
	if c.statefulX86() != nil || sd == nil {
		return
	}
	m.DeclareState(sd.Digest, sd.CPUDigest, !slices.Contains(c.ignore, props.AtomicSwitch))
	writer.StateFromPath()
	for i, t := range executors {
		m.DeclareCPU(t, m.CPUs[i+1], "executor CPUs")
	}
	if kprobe != nil {
		m.DeclareCPU(kprobe, m.CPUs[len(m.CPUs)-1], "") // not an executor: a class of its own
	}
}

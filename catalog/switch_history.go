package catalog

import (
	"github.com/anishathalye/porcupine"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
	"github.com/klpcheck/klpcheck/props"
)

// History replays sched on an x86 scenario and returns atomic-switch's
// porcupine history: every site execution against the writer's atomic
// old→new switch (traces.Historian).
func (x86Kind) History(s Scenario, sched explore.Schedule, opts explore.ReplayOptions) (string, porcupine.Model, []porcupine.Operation, error) {
	return switchHistory(BuildX86Observed, s, sched, opts)
}

// History is x86Kind.History on the x86 machine of a fentry scenario.
func (fentryKind) History(s Scenario, sched explore.Schedule, opts explore.ReplayOptions) (string, porcupine.Model, []porcupine.Operation, error) {
	return switchHistory(BuildFentryObserved, s, sched, opts)
}

func switchHistory(build func(Scenario) (explore.Program, func() *model.Machine, error), s Scenario, sched explore.Schedule, opts explore.ReplayOptions) (string, porcupine.Model, []porcupine.Operation, error) {
	prog, last, err := build(s)
	if err != nil {
		return "", porcupine.Model{}, nil, err
	}
	// The machine is observed whether or not the replay matches; a
	// mismatch is reported by the caller's own replay.
	explore.Replay(prog, sched, opts)
	m := last()
	if m == nil {
		return "", porcupine.Model{}, nil, nil
	}
	return props.AtomicSwitch, props.AtomicSwitchModel(), props.AtomicSwitchHistory(m), nil
}

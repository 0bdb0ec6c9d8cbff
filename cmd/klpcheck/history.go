package main

import (
	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/props"
	"github.com/klpcheck/klpcheck/traces"
)

// historyFor returns the porcupine history the HTML page shows for a
// trace: the kind's own (traces.Historian) if it has one; else, for x86
// (and the x86 machine of a fentry scenario),
// the atomic-switch history of the replayed machine — when atomic-switch
// is the failed property, or always with --history (the site executions
// against the writer's switch are worth seeing whatever failed). This
// wiring lives here, not in traces, because traces must not know x86.
func historyFor(tr *traces.Trace, always bool) (*traces.History, error) {
	if h, err := traces.HistoryOf(tr); h != nil || err != nil {
		return h, err
	}
	if (tr.Scenario.Kind != "x86" && tr.Scenario.Kind != "fentry") || !(always || tr.Property == props.AtomicSwitch) {
		return nil, nil
	}
	build := catalog.BuildX86Observed
	if tr.Scenario.Kind == "fentry" {
		build = catalog.BuildFentryObserved
	}
	prog, last, err := build(tr.Scenario)
	if err != nil {
		return nil, err
	}
	sched, err := tr.Decisions()
	if err != nil {
		return nil, err
	}
	// The machine is observed whether or not the replay matches; a
	// mismatch is reported by the caller's own replay.
	explore.Replay(prog, sched, explore.ReplayOptions{MaxSteps: tr.Bounds.MaxSteps})
	m := last()
	if m == nil {
		return nil, nil
	}
	ops := props.AtomicSwitchHistory(m)
	if len(ops) == 0 {
		return nil, nil
	}
	return &traces.History{Model: props.AtomicSwitchModel(), Operations: ops}, nil
}

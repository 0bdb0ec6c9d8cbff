package traces

import (
	"errors"
	"fmt"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

// Mismatch is a replay that did not reproduce the recorded failure: the
// schedule diverged from the program, or the execution ended differently.
type Mismatch struct {
	// Diverged is the engine's account when the schedule stopped fitting
	// the program (a thread it names is blocked or finished, a choice out
	// of range, decisions left over).
	Diverged *explore.DivergenceError
	// Got is the failure the replay produced (nil: none).
	Got *explore.Failure
	// Outcome is how the replayed execution ended.
	Outcome string
	Want    *Trace
}

func (m *Mismatch) Error() string {
	want := fmt.Sprintf("%s %s %s", m.Want.Verdict, m.Want.Property, StepName(m.Want.Step))
	switch {
	case m.Diverged != nil:
		return fmt.Sprintf("replay diverged at decision %d (after %d steps): %s; the trace expected %s",
			m.Diverged.Node, m.Diverged.Step, m.Diverged.Reason, want)
	case m.Got == nil:
		return fmt.Sprintf("replay did not fail: the execution ended %s after the whole schedule; the trace expected %s", m.Outcome, want)
	case m.Got.Property != m.Want.Property:
		return fmt.Sprintf("replay failed differently: %s %s (%s); the trace expected %s", m.Got.Property, StepName(m.Got.Step), m.Got.Message, want)
	}
	return fmt.Sprintf("replay failed %s %s instead of %s", m.Got.Property, StepName(m.Got.Step), StepName(m.Want.Step))
}

// Replayed is a successful replay.
type Replayed struct {
	Record *explore.Record
	// MessageChanged is set when the property failed at the same step
	// with another message (a model's wording changed).
	MessageChanged bool
}

// Program builds the trace's scenario.
func (t *Trace) Program() (explore.Program, error) {
	if v := KindVersion(t.Scenario.Kind); v != t.KindVersion {
		return nil, fmt.Errorf("kind_version: the trace was recorded against version %d of the %s model, this klpcheck has version %d",
			t.KindVersion, t.Scenario.Kind, v)
	}
	if t.ModelVersion != ModelVersion {
		return nil, fmt.Errorf("model_version: the trace was recorded against model version %d, this klpcheck has version %d", t.ModelVersion, ModelVersion)
	}
	return catalog.Build(t.Scenario)
}

// Replay re-executes the trace's schedule with tracing on and checks that
// the same property fails at the same step. It returns a *Mismatch when it
// does not, and another error when the trace cannot be run at all.
func Replay(t *Trace) (*Replayed, error) {
	prog, err := t.Program()
	if err != nil {
		return nil, err
	}
	return ReplayWith(t, prog)
}

// ReplayWith is Replay on prog, a build of the trace's scenario made by
// the caller (one that keeps an event log, say).
func ReplayWith(t *Trace, prog explore.Program) (*Replayed, error) {
	sched, err := t.Decisions()
	if err != nil {
		return nil, err
	}
	rec, err := explore.Replay(prog, sched, explore.ReplayOptions{MaxSteps: t.Bounds.MaxSteps, Trace: true})
	var div *explore.DivergenceError
	if errors.As(err, &div) {
		return &Replayed{Record: rec}, &Mismatch{Diverged: div, Got: rec.Failure, Outcome: rec.Outcome, Want: t}
	}
	if err != nil {
		return nil, err
	}
	if rec.Failure == nil || rec.Failure.Property != t.Property || rec.Failure.Step != t.Step {
		return &Replayed{Record: rec}, &Mismatch{Got: rec.Failure, Outcome: rec.Outcome, Want: t}
	}
	return &Replayed{Record: rec, MessageChanged: rec.Failure.Message != t.Message}, nil
}

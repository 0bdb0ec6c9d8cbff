// Package traces is klpcheck's counterexample format and what is done
// with one: record, write atomically, read back strictly, replay, shrink
// and render (a text timeline with one column per thread, and a
// self-contained HTML page).
//
// A trace holds everything needed to replay it with no other input: the
// full scenario, the strategy and bounds it was found under, the schedule
// (the list of decisions), the failed property, its message and the step at
// which it failed, and the version of the models it was recorded against.
//
// traces knows scenarios (catalog) and schedules (explore), and nothing of
// x86 or livepatch: a kind can opt into minimisation of its parameters
// (Shrinker; without one, ParamShrinker decrements conventional count
// parameters such as "cpus" and "nmis"), version checks of its own
// (Versioned) and porcupine histories for the HTML page (Historian) by
// implementing the small interfaces declared here, whose signatures use
// no traces type so that catalog can implement them without an import
// cycle. It must not know about flags or the terminal.
package traces

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

// Format is the value of every trace's "format" field.
const Format = "klpcheck-trace"

// FormatVersion is the version of the trace file layout this package
// writes and reads.
const FormatVersion = 1

// ModelVersion is the version of the models' semantics as a whole: the
// threads, operations and choice points a scenario builds. Bump it when a
// change to any model makes old schedules replay different code (a step
// added, removed or reordered, a choice point added); traces recorded
// before then are refused with a clear message rather than replayed
// against code they were not found in. A kind can version itself
// separately by implementing Versioned.
const ModelVersion = 2 // 2: the livepatch task-list walk holds tasklist_lock; x86 fetch notes

// defaultMaxSteps is the engine's step bound when a trace's bounds give
// none (explore.Options.MaxSteps' default).
const defaultMaxSteps = 10000

// maxDecisionsPerStep bounds the decisions of a schedule per scheduling
// step: one for the step, the rest for choice points (an NMI, a stale
// line), of which a step makes few.
const maxDecisionsPerStep = 8

// Versioned is implemented by a catalog.Kind that versions its model on
// its own: the trace records the kind's version and Replay refuses a trace
// of another version.
type Versioned interface {
	ModelVersion() int
}

// Trace is a counterexample: a scenario, how it was explored, and the
// schedule that makes a property fail.
type Trace struct {
	Format       string `json:"format"`
	Version      int    `json:"version"`
	ModelVersion int    `json:"model_version"`
	// KindVersion is the scenario kind's own model version (0 when the
	// kind does not implement Versioned).
	KindVersion int              `json:"kind_version,omitempty"`
	Scenario    catalog.Scenario `json:"scenario"`
	// Strategy and Bounds are the effective exploration settings (flags
	// applied over the scenario's own bounds).
	Strategy string         `json:"strategy"`
	Bounds   catalog.Bounds `json:"bounds"`
	// Verdict is "violation" or "stuck".
	Verdict  string `json:"verdict"`
	Property string `json:"property"`
	Message  string `json:"message"`
	// Thread is the name of the thread that failed, "" for a check of the
	// whole system.
	Thread string `json:"thread,omitempty"`
	// Step is the number of scheduling steps executed when the failure
	// was detected (the failing step is Step-1; 0: during setup).
	Step int `json:"step"`
	// FailedAtStep is the failing step's number as the timeline, replay
	// and show print it: Step-1 (absent when the failure came during
	// setup, and in traces written before it was added). It is derived,
	// for the reader of the file; Decode checks it against Step.
	FailedAtStep *int `json:"failed_at_step,omitempty"`
	// Length and Preemptions describe the schedule: its scheduling steps
	// and preemptive context switches.
	Length      int `json:"length"`
	Preemptions int `json:"preemptions"`
	// Schedule is the dotted list of decisions (thread ids at scheduling
	// points, values at choice points), e.g. "0.0.1.1".
	Schedule string `json:"schedule"`
	// Executions is how many executions the search ran before finding it.
	Executions int64 `json:"executions,omitempty"`
	// Minimized is set on a trace written by Minimize.
	Minimized *Minimized `json:"minimized,omitempty"`
}

// Minimized records what minimisation started from.
type Minimized struct {
	FromLength      int    `json:"from_length"`
	FromPreemptions int    `json:"from_preemptions"`
	FromDecisions   int    `json:"from_decisions"`
	FromScenario    string `json:"from_scenario,omitempty"` // set when the scenario itself was shrunk
	Replays         int    `json:"replays"`
	// Passes are the candidates each pass of this minimisation (not
	// those before it) tried and accepted.
	Passes []PassCount `json:"passes,omitempty"`
}

// New makes the trace of an exploration's counterexample. opts are the
// options the scenario was explored with; res must be a violation or stuck
// result.
func New(s catalog.Scenario, opts explore.Options, res *explore.Result) (*Trace, error) {
	if res == nil || res.Failure == nil {
		return nil, errors.New("traces: the result has no counterexample")
	}
	t := &Trace{
		Format:       Format,
		Version:      FormatVersion,
		ModelVersion: ModelVersion,
		KindVersion:  KindVersion(s.Kind),
		Scenario:     s,
		Strategy:     string(res.Strategy),
		Bounds: catalog.Bounds{Strategy: string(res.Strategy), MaxSteps: opts.MaxSteps, MaxExecutions: opts.MaxExecutions,
			MaxPreemptions: opts.MaxPreemptions, Seed: opts.Seed},
		Verdict:     string(res.Verdict),
		Property:    res.Failure.Property,
		Message:     res.Failure.Message,
		Step:        res.Failure.Step,
		Length:      res.Length,
		Preemptions: res.Preemptions,
		Schedule:    res.Schedule.String(),
		Executions:  res.Stats.Executions,
	}
	t.setFailedAt()
	if t.Strategy == "" {
		t.Strategy = string(explore.DPOR)
		t.Bounds.Strategy = t.Strategy
	}
	if res.Failure.Thread >= 0 {
		// Name the thread: replay the schedule once (cheap) to learn it.
		if prog, err := catalog.Build(s); err == nil {
			if rec, err := explore.Replay(prog, res.Schedule, explore.ReplayOptions{MaxSteps: opts.MaxSteps}); err == nil && res.Failure.Thread < len(rec.Threads) {
				t.Thread = rec.Threads[res.Failure.Thread]
			}
		}
	}
	return t, nil
}

// setFailedAt derives FailedAtStep from Step.
func (t *Trace) setFailedAt() {
	t.FailedAtStep = nil
	if t.Step > 0 {
		n := t.Step - 1
		t.FailedAtStep = &n
	}
}

// KindVersion is kind's own model version: its ModelVersion if it
// implements Versioned, else 0 (also for an unknown kind).
func KindVersion(kind string) int {
	k, err := catalog.KindOf(kind)
	if err != nil {
		return 0
	}
	if v, ok := k.(Versioned); ok {
		return v.ModelVersion()
	}
	return 0
}

// Decisions parses the schedule.
func (t *Trace) Decisions() (explore.Schedule, error) {
	return explore.ParseSchedule(t.Schedule)
}

// Encode renders the trace as indented JSON.
func (t *Trace) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DecodeError is a problem with a trace file.
type DecodeError struct {
	File      string
	Line, Col int // 0 when not located
	Msg       string
}

func (e *DecodeError) Error() string {
	loc := e.File
	if loc == "" {
		loc = "trace"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", loc, e.Line, e.Col)
	}
	return loc + ": " + e.Msg
}

// Decode reads a trace strictly: unknown fields, a wrong format or
// version, a model version other than this build's, and missing or
// malformed fields are errors. file names the source in messages.
func Decode(file string, data []byte) (*Trace, error) {
	fail := func(off int, format string, args ...any) error {
		e := &DecodeError{File: file, Msg: fmt.Sprintf(format, args...)}
		if off >= 0 {
			e.Line, e.Col = catalog.LineCol(data, off)
		}
		return e
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(-1, "empty file: want a klpcheck trace (JSON)")
	}
	// First the envelope, loosely, so that a trace of another version is
	// refused for its version and not for a field it does not know.
	var env struct {
		Format       *string `json:"format"`
		Version      *int    `json:"version"`
		ModelVersion *int    `json:"model_version"`
		KindVersion  int     `json:"kind_version"`
		Scenario     struct {
			Kind string `json:"kind"`
		} `json:"scenario"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, jsonError(fail, data, err)
	}
	switch {
	case env.Format == nil:
		return nil, fail(-1, `not a klpcheck trace: no "format" field`)
	case *env.Format != Format:
		return nil, fail(-1, "not a klpcheck trace: format is %q, want %q", *env.Format, Format)
	case env.Version == nil:
		return nil, fail(-1, `version: missing`)
	case *env.Version != FormatVersion:
		return nil, fail(-1, "version: trace format version %d, but this klpcheck reads version %d", *env.Version, FormatVersion)
	case env.ModelVersion == nil:
		return nil, fail(-1, `model_version: missing`)
	case *env.ModelVersion != ModelVersion:
		return nil, fail(-1, "model_version: the trace was recorded against model version %d, this klpcheck has version %d: "+
			"its schedule would replay different code; re-run `klpcheck check` on its scenario for a fresh counterexample",
			*env.ModelVersion, ModelVersion)
	}
	if kv := KindVersion(env.Scenario.Kind); kv != env.KindVersion {
		return nil, fail(-1, "kind_version: the trace was recorded against version %d of the %s model, this klpcheck has version %d: "+
			"re-run `klpcheck check` on its scenario for a fresh counterexample", env.KindVersion, env.Scenario.Kind, kv)
	}
	var t Trace
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, jsonError(fail, data, err)
	}
	if dec.More() {
		return nil, fail(int(dec.InputOffset()), "unexpected data after the trace")
	}
	if err := t.validate(); err != nil {
		return nil, fail(-1, "%v", err)
	}
	return &t, nil
}

func jsonError(fail func(int, string, ...any) error, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		if int(se.Offset) >= len(bytes.TrimRight(data, " \t\r\n")) {
			return fail(int(se.Offset), "unexpected end of file (truncated trace?)")
		}
		return fail(max(int(se.Offset)-1, 0), "invalid JSON: %s", strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		return fail(int(te.Offset), "%s: want %s, not a JSON %s", te.Field, te.Type, te.Value)
	case err.Error() == "unexpected EOF":
		return fail(len(data), "unexpected end of file (truncated trace?)")
	}
	return fail(-1, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// validate checks the fields a replay needs.
func (t *Trace) validate() error {
	switch {
	case t.Scenario.Name == "":
		return errors.New("scenario.name: missing")
	case t.Scenario.Kind == "":
		return errors.New("scenario.kind: missing")
	case t.Property == "":
		return errors.New("property: missing")
	case t.Verdict != string(explore.Violation) && t.Verdict != string(explore.Stuck):
		return fmt.Errorf("verdict: %q, want \"violation\" or \"stuck\"", t.Verdict)
	case t.Step < 0 || t.Length < 0 || t.Preemptions < 0 || t.Executions < 0:
		return errors.New("step, length, preemptions and executions must not be negative")
	case t.Bounds.MaxSteps < 0 || t.Bounds.MaxExecutions < 0 || t.Bounds.MaxPreemptions < 0:
		return errors.New("bounds: must not be negative")
	case t.FailedAtStep != nil && *t.FailedAtStep != t.Step-1:
		return fmt.Errorf("failed_at_step: %d, but step is %d (failed_at_step is step-1)", *t.FailedAtStep, t.Step)
	}
	if _, err := explore.ParseStrategy(t.Strategy); err != nil {
		return fmt.Errorf("strategy: %v", err)
	}
	// A schedule longer than its run can be is refused before it is
	// parsed (a corrupt or hostile file must not cost gigabytes).
	steps := t.Bounds.MaxSteps
	if steps == 0 {
		steps = defaultMaxSteps
	}
	if t.Length > steps {
		return fmt.Errorf("length: %d steps, more than the step bound of %d", t.Length, steps)
	}
	if n := strings.Count(t.Schedule, ".") + 1; n > maxDecisionsPerStep*steps {
		return fmt.Errorf("schedule: %d decisions, more than a run of at most %d steps can make (%d per step)", n, steps, maxDecisionsPerStep)
	}
	if _, err := t.Decisions(); err != nil {
		return err
	}
	if _, err := catalog.KindOf(t.Scenario.Kind); err != nil {
		return fmt.Errorf("scenario.kind: %v", err)
	}
	return nil
}

// MaxFileSize bounds the size of a trace file Read accepts: far above
// any trace klpcheck writes (a schedule of 10000 steps is tens of
// kilobytes), far below what would hurt to read.
const MaxFileSize = 32 << 20

// Read reads and decodes a trace file.
func Read(path string) (*Trace, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > MaxFileSize {
		return nil, &DecodeError{File: path, Msg: fmt.Sprintf("%d bytes: larger than any trace (at most %d MiB); not read", st.Size(), MaxFileSize>>20)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &DecodeError{File: path, Msg: err.Error()}
	}
	return Decode(path, data)
}

// Write writes the trace atomically: to a temporary file in the same
// directory, synced, then renamed over path, so a reader never sees half a
// trace.
func Write(path string, t *Trace) error {
	data, err := t.Encode()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// FileName is a file name for a scenario's trace: the scenario name with
// path separators and odd characters replaced, plus ".trace.json".
func FileName(scenario string) string {
	var b strings.Builder
	for _, r := range scenario {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + ".trace.json"
}

// Package catalog is what the command line, the trace tooling and the
// tests share: scenarios — named, parameterised configurations of a model
// (the engine's examples, x86 text patching, livepatch, ftrace's fentry
// site under livepatch, arm64 and RISC-V) — the kinds that validate a
// scenario's parameters and build it into an explore.Program, and the
// scenario-file loader (file.go), whose errors name file:line:column.
//
// It sits above model, poke, klp, cmodx, arch and props (it wires them
// together) and below traces and cmd/klpcheck. It must not know about
// flags or rendering: the CLI loads files and calls Build.
package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
	"github.com/klpcheck/klpcheck/props"
)

// Scenario is one checkable configuration: an entry of the built-in
// catalog, of a scenario file, and the "scenario" of a trace.
type Scenario struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // "engine", "x86", "livepatch", "fentry"
	Description string `json:"description,omitempty"`
	// Params are the kind's parameters, decoded strictly by the kind
	// (unknown fields rejected).
	Params json.RawMessage `json:"params,omitempty"`
	// Explore holds the scenario's own bounds; flags override them.
	Explore *Bounds `json:"explore,omitempty"`
	// Table, Row and Column place the scenario in a verdict table.
	Table  string `json:"table,omitempty"`
	Row    string `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	// Expect documents the verdict the catalog's authors expect ("safe",
	// "violation:torn-decode", "stuck:transition-completes"; see
	// CheckExpect). It is never used to compute a verdict: the command
	// line's exit status and the tests compare it with the computed one.
	Expect string `json:"expect,omitempty"`
	// ExpectLog, for a kind with an event log (see Logged), is the log of
	// the scenario's default execution — the admin script first, then the
	// lowest runnable thread, as the kernel's livepatch selftests run —
	// line by line, exact and in order, like the selftests' check_result.
	ExpectLog []string `json:"expect_log,omitempty"`
}

// Bounds are the exploration bounds a scenario carries.
type Bounds struct {
	Strategy       string `json:"strategy,omitempty"`
	MaxSteps       int    `json:"max_steps,omitempty"`
	MaxExecutions  int64  `json:"max_executions,omitempty"`
	MaxPreemptions int    `json:"max_preemptions,omitempty"`
	Seed           uint64 `json:"seed,omitempty"`
}

// Options returns explore options for the bounds (zero fields keep the
// engine's defaults).
func (b *Bounds) Options() (explore.Options, error) {
	var o explore.Options
	if b == nil {
		return o, nil
	}
	if b.Strategy != "" {
		s, err := explore.ParseStrategy(b.Strategy)
		if err != nil {
			return o, err
		}
		o.Strategy = s
	}
	o.MaxSteps, o.MaxExecutions, o.MaxPreemptions, o.Seed = b.MaxSteps, b.MaxExecutions, b.MaxPreemptions, b.Seed
	return o, nil
}

// Property is an entry of the property catalog.
type Property struct {
	ID      string `json:"id"`
	Meaning string `json:"meaning"`
}

// Kind validates and builds the scenarios of one model.
type Kind interface {
	// Name is the scenario's "kind" value.
	Name() string
	// Build validates the scenario's parameters and returns the program
	// to explore. A validation error names the offending field (as a JSON
	// path below "params") and is the user's fault, never a panic.
	Build(s Scenario) (explore.Program, error)
	// Builtin is the kind's built-in catalog, in table order.
	Builtin() []Scenario
	// Properties lists the properties the kind's scenarios check.
	Properties() []Property
}

// Kinds returns every kind, in catalog order.
func Kinds() []Kind { return []Kind{Engine(), X86(), Livepatch(), Fentry(), Arm64(), Riscv()} }

// KindOf finds a kind by name.
func KindOf(name string) (Kind, error) {
	var names []string
	for _, k := range Kinds() {
		if k.Name() == name {
			return k, nil
		}
		names = append(names, k.Name())
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown scenario kind %q (want one of %v)", name, names)
}

// CheckExpect validates an expectation for a scenario of the kind: "" (none),
// "safe", or "violation:<property>" / "stuck:<property>" naming one of the
// kind's properties. A misspelt expectation would otherwise never match
// and fail every run, or — worse — be read as "no expectation".
func CheckExpect(kind, expect string) error {
	if expect == "" || expect == string(explore.Safe) {
		return nil
	}
	k, err := KindOf(kind)
	if err != nil {
		return err
	}
	verdict, prop, ok := strings.Cut(expect, ":")
	if !ok || (verdict != string(explore.Violation) && verdict != string(explore.Stuck)) {
		return fmt.Errorf("%q is not an expectation: want \"safe\", \"violation:<property>\" or \"stuck:<property>\"", expect)
	}
	var ids []string
	for _, p := range k.Properties() {
		if p.ID == prop {
			return nil
		}
		if !slices.Contains(ids, p.ID) {
			ids = append(ids, p.ID)
		}
	}
	return fmt.Errorf("%q: %q is not a property of kind %s (want one of %s)", expect, prop, kind, strings.Join(ids, ", "))
}

// Logged builds a scenario so that its executions keep an event log:
// prog is the program, log returns the log of the execution run last (nil
// before one ran). The event log is the kernel's dmesg wording plus the
// admin script's commands ("% insmod …"), as the livepatch selftests'
// check_result compares it. Kinds without an event log are refused.
func Logged(s Scenario) (prog explore.Program, log func() []string, err error) {
	build, ok := eventLogs[s.Kind]
	if !ok {
		var kinds []string
		for k := range eventLogs {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return nil, nil, fmt.Errorf("scenario %q: kind %s keeps no event log (kinds with one: %s)", s.Name, s.Kind, strings.Join(kinds, ", "))
	}
	return build(s)
}

// eventLogs are the kinds whose executions keep an event log, with the
// builder that captures it.
var eventLogs = map[string]func(Scenario) (explore.Program, func() []string, error){
	"livepatch": func(s Scenario) (explore.Program, func() []string, error) {
		if _, err := Build(s); err != nil { // the kind's own validation and messages
			return nil, nil, err
		}
		var p LivepatchParams
		if err := DecodeParams(s, &p); err != nil {
			return nil, nil, err
		}
		var last *klp.Kernel
		prog, err := klp.Program(&p, props.NewLivepatchMonitor, func(k *klp.Kernel) { last = k })
		if err != nil {
			return nil, nil, fmt.Errorf("scenario %q: %w", s.Name, err)
		}
		return prog, func() []string {
			if last == nil {
				return nil
			}
			return last.Log()
		}, nil
	},
}

// DefaultLog runs the scenario's default execution — the admin script
// first, then always the lowest runnable thread, the order in which the
// kernel's selftests see a quiet machine — and returns its event log and
// record. The step bound is the scenario's max_steps, else 100000 (a
// selftest script runs long).
func DefaultLog(s Scenario) ([]string, *explore.Record, error) {
	prog, log, err := Logged(s)
	if err != nil {
		return nil, nil, err
	}
	steps := 100000
	if s.Explore != nil && s.Explore.MaxSteps > 0 {
		steps = s.Explore.MaxSteps
	}
	rec, err := explore.Replay(prog, nil, explore.ReplayOptions{Extend: true, MaxSteps: steps})
	if err != nil {
		return nil, nil, fmt.Errorf("scenario %q: the default execution: %w", s.Name, err)
	}
	return log(), rec, nil
}

// LogDiff compares an event log with the expected one, exactly and in
// order, and describes the first difference ("" when they are equal).
func LogDiff(got, want []string) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("line %d: missing %q (the log has %d lines)", i+1, want[i], len(got))
		case i >= len(want):
			return fmt.Sprintf("line %d: unexpected %q (%d lines expected)", i+1, got[i], len(want))
		case got[i] != want[i]:
			return fmt.Sprintf("line %d: got %q, want %q", i+1, got[i], want[i])
		}
	}
	return ""
}

// HasEventLog reports whether the kind's executions keep an event log.
func HasEventLog(kind string) bool {
	_, ok := eventLogs[kind]
	return ok
}

// Build builds a scenario with its kind.
func Build(s Scenario) (explore.Program, error) {
	k, err := KindOf(s.Kind)
	if err != nil {
		return nil, err
	}
	return k.Build(s)
}

// Prepare builds a scenario and returns it with the explore options of its
// own bounds: what every runner of a scenario needs first.
func Prepare(s Scenario) (explore.Program, explore.Options, error) {
	prog, err := Build(s)
	if err != nil {
		return nil, explore.Options{}, err
	}
	opts, err := s.Explore.Options()
	if err != nil {
		return nil, explore.Options{}, fmt.Errorf("scenario %q: explore: %w", s.Name, err)
	}
	return prog, opts, nil
}

// Builtin is the whole built-in catalog.
func Builtin() []Scenario {
	var out []Scenario
	for _, k := range Kinds() {
		out = append(out, k.Builtin()...)
	}
	return out
}

// Find looks a built-in scenario up by name.
func Find(name string) (Scenario, bool) {
	for _, s := range Builtin() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// DecodeParams decodes a scenario's params strictly into v.
func DecodeParams(s Scenario, v any) error {
	if len(s.Params) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(s.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("scenario %q: params: %w", s.Name, err)
	}
	return nil
}

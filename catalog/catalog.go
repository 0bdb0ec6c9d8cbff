// Package catalog is what the command line, the trace tooling and the
// tests share: scenarios — named, parameterised configurations of a model
// (the engine's examples, x86 text patching, livepatch) — and the kinds
// that validate a scenario's parameters and build it into an
// explore.Program.
//
// It sits above model, poke, klp and props (it wires them together) and
// below traces and cmd/klpcheck. It must not know about files, flags or
// rendering: the scenario-file loader and the CLI call Build.
package catalog

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/klpcheck/klpcheck/explore"
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
	// "violation:torn-decode", "stuck:transition-completes"). It is never
	// used to compute a verdict; tests compare it with the computed one.
	Expect string `json:"expect,omitempty"`
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

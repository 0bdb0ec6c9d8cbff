package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
	"github.com/klpcheck/klpcheck/props"
)

// LivepatchParams are the parameters of a livepatch scenario: the world
// (functions, target modules, livepatch modules, tasks, CPUs), the admin
// script and the algorithm variant. See klp.Config for every field.
type LivepatchParams = klp.Config

type livepatchKind struct{}

// Livepatch is the kind of livepatch scenarios: the livepatch core of
// kernel/livepatch on tasks, driven by an admin script.
func Livepatch() Kind { return livepatchKind{} }

func (livepatchKind) Name() string { return "livepatch" }

func (livepatchKind) Properties() []Property {
	var out []Property
	for _, id := range props.Livepatch {
		out = append(out, Property{id, props.Meaning(id)})
	}
	out = append(out, Property{"script", "the admin script's own expectations hold (expect lines) and it never waits forever"},
		Property{"program", "task programs are well formed (ret with a frame, user with an empty stack)"})
	return out
}

func (livepatchKind) Build(s Scenario) (explore.Program, error) {
	var p LivepatchParams
	if len(s.Params) == 0 {
		return nil, fmt.Errorf("scenario %q: params: a livepatch scenario needs params (functions, patches, tasks, script)", s.Name)
	}
	if err := DecodeParams(s, &p); err != nil {
		return nil, err
	}
	prog, err := klp.Program(&p, props.NewLivepatchMonitor, nil)
	if err != nil {
		return nil, fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	return prog, nil
}

func (livepatchKind) Builtin() []Scenario { return livepatchBuiltin() }

// lpScenario makes a built-in livepatch scenario explored exhaustively
// with DPOR.
func lpScenario(name, desc string, cfg klp.Config, row, column, expect string) Scenario {
	params, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return Scenario{Name: "livepatch/" + name, Kind: "livepatch", Description: desc, Params: params,
		Explore: &Bounds{Strategy: "dpor", MaxSteps: 3000},
		Table:   "livepatch", Row: row, Column: column, Expect: expect}
}

// lpBounded makes a scenario too large for exhaustive DPOR within the
// catalog's time budget: it is explored exhaustively up to a preemption
// bound (all interleavings with at most that many preemptive context
// switches; switches at blocking points are free), which the verdict's
// bounds state.
func lpBounded(name, desc string, cfg klp.Config, row, column, expect string, preemptions int) Scenario {
	s := lpScenario(name, desc, cfg, row, column, expect)
	s.Explore = &Bounds{Strategy: "bounded", MaxPreemptions: preemptions, MaxSteps: 3000}
	return s
}

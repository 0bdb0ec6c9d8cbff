package catalog

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// Placeholder until the livepatch model lands (issue 4): it has no scenarios and
// builds nothing.
type livepatchKind struct{}

// Livepatch is the kind of livepatch scenarios.
func Livepatch() Kind { return livepatchKind{} }

func (livepatchKind) Name() string           { return "livepatch" }
func (livepatchKind) Builtin() []Scenario    { return nil }
func (livepatchKind) Properties() []Property { return nil }
func (livepatchKind) Build(s Scenario) (explore.Program, error) {
	return nil, fmt.Errorf("scenario %q: the livepatch model is not built yet", s.Name)
}

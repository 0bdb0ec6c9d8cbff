package catalog

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// Placeholder until the x86 model lands (issue 3): it has no scenarios and
// builds nothing.
type x86Kind struct{}

// X86 is the kind of x86 text-patching scenarios.
func X86() Kind { return x86Kind{} }

func (x86Kind) Name() string           { return "x86" }
func (x86Kind) Builtin() []Scenario    { return nil }
func (x86Kind) Properties() []Property { return nil }
func (x86Kind) Build(s Scenario) (explore.Program, error) {
	return nil, fmt.Errorf("scenario %q: the x86 model is not built yet", s.Name)
}

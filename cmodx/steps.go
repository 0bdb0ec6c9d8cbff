package cmodx

import (
	"fmt"
	"strings"
)

// Step is a named step of a patching protocol that a scenario may disable
// ("what if the kernel left this out?").
type Step struct{ Name, Meaning string }

// ParseSteps checks a list of step names against a protocol's steps and
// returns them as a set.
func ParseSteps(steps []Step, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		ok := false
		for _, s := range steps {
			ok = ok || s.Name == n
		}
		if !ok {
			known := make([]string, len(steps))
			for i, s := range steps {
				known[i] = s.Name
			}
			return nil, fmt.Errorf("unknown step %q (want one of %s)", n, strings.Join(known, ", "))
		}
		out[n] = true
	}
	return out, nil
}

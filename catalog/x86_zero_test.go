package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

// A 0 written in an x86 scenario is refused, not replaced by the default
// that an absent field gets (issue 12, item 4).
func TestX86ZeroIsNotADefault(t *testing.T) {
	base := map[string]any{"fetch": "bytewise", "placement": "inside-line", "old": "0f 1f 44 00 00", "new": "e8 e7 57 07 00"}
	build := func(extra map[string]any) error {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		raw, _ := json.Marshal(p)
		_, err := Build(Scenario{Name: "z", Kind: "x86", Params: raw})
		return err
	}
	if err := build(nil); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, f := range []string{"cpus", "executions", "capacity"} {
		err := build(map[string]any{f: 0})
		if err == nil || !strings.Contains(err.Error(), "params."+f) {
			t.Errorf("%s: 0 gave %v, want an error naming params.%s", f, err, f)
		}
	}
}

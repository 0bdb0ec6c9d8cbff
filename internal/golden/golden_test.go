package golden

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	if d := Diff("a\nb\n", "a\nb\n"); d != "" {
		t.Fatalf("equal texts differ: %q", d)
	}
	d := Diff("a\nb\nc\n", "a\nB\nc\nd\n")
	for _, want := range []string{"first difference at line 2", "  a\n", "- b\n", "+ B\n", "+ d\n", "(4 lines expected, 5 produced)"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}

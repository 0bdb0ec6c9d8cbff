// Package golden is the one golden-file harness of klpcheck's tests: a
// test renders what the code produces, and Check compares it with a file
// under the package's testdata/ — or rewrites the file when the tests run
// with -rewrite, the one flag for every golden file:
//
//	go test ./klp ./traces ./cmd/klpcheck -rewrite
//
// A difference is reported at its first differing line, with the lines
// around it, so a changed transcript reads like a datadriven test's
// failure. (The generated blocks of README.md and docs/cli.md have their
// own flag, -update-docs in cmd/klpcheck, because the expensive ones run
// the whole catalog.)
//
// golden must not know what the files hold.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/ from what the code produces")

// Rewriting reports whether the tests run with -rewrite.
func Rewriting() bool { return *rewrite }

// Check compares got with the golden file path, or writes got there under
// -rewrite.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *rewrite {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -rewrite to create it)", err)
	}
	if d := Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from what the code produces (check the change, then rerun with -rewrite):\n%s", path, d)
	}
}

// Diff describes the first difference between want and got — its line
// number and up to three lines of context on each side, "-" for want and
// "+" for got — or returns "" when they are equal.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d:\n", i+1)
	for _, l := range w[max(0, i-3):i] {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	for _, l := range w[i:min(len(w), i+4)] {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	for _, l := range g[i:min(len(g), i+4)] {
		fmt.Fprintf(&b, "+ %s\n", l)
	}
	if len(w) != len(g) {
		fmt.Fprintf(&b, "(%d lines expected, %d produced)\n", len(w), len(g))
	}
	return b.String()
}

package klp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/internal/golden"
)

func readGolden(t *testing.T, path string) (header string, cases []Selftest) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, cases = parseSelftestFile(string(data))
	return header, cases
}

// runSelftestScript runs a script on the selftest world in the engine's default
// schedule (admin first, then the lowest runnable thread) and returns the
// event log and the execution's failure, if any.
func runSelftestScript(t *testing.T, script []string) ([]string, *explore.Failure) {
	cfg := SelftestConfig()
	cfg.Script = script
	var k *Kernel
	prog, err := Program(&cfg, nil, func(kk *Kernel) { k = kk })
	if err != nil {
		t.Fatal(err)
	}
	rec, err := explore.Replay(prog, nil, explore.ReplayOptions{Extend: true, MaxSteps: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return k.Log(), rec.Failure
}

// TestSelftests replays the kernel's livepatch selftests (§7 of the
// livepatch fact sheet): for each admin script the model's event log must
// equal the transcribed dmesg lines, in order. Each file is a datadriven
// transcript (=== case, the script, ---, the expected log); -rewrite
// writes the model's logs back into it.
func TestSelftests(t *testing.T) {
	files, _ := filepath.Glob("testdata/test-*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	cases := 0
	for _, path := range files {
		header, selftests := readGolden(t, path)
		var out strings.Builder
		out.WriteString(header)
		for _, c := range selftests {
			got, fail := runSelftestScript(t, c.Script)
			if fail != nil {
				t.Errorf("%s/%s: execution failed: %s: %s", filepath.Base(path), c.Name, fail.Property, fail.Message)
			}
			out.WriteString("\n=== " + c.Name + "\n" + strings.Join(c.Script, "\n") + "\n---\n")
			for _, l := range got {
				out.WriteString(l + "\n")
			}
			cases++
		}
		golden.Check(t, path, []byte(out.String()))
	}
	// The transcripts hold the kernel's selftests: a parser that found
	// none would check nothing.
	if cases < 30 {
		t.Errorf("%d selftest cases in %d files; want the kernel's (at least 30)", cases, len(files))
	}
}

package klp

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

var update = flag.Bool("update", false, "rewrite the expected logs in testdata/ from the model")

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
// equal the transcribed dmesg lines, in order.
func TestSelftests(t *testing.T) {
	files, _ := filepath.Glob("testdata/test-*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range files {
		header, cases := readGolden(t, path)
		var out strings.Builder
		out.WriteString(header)
		for _, c := range cases {
			t.Run(filepath.Base(path)+"/"+c.Name, func(t *testing.T) {
				got, fail := runSelftestScript(t, c.Script)
				if fail != nil {
					t.Errorf("execution failed: %s: %s", fail.Property, fail.Message)
				}
				if *update {
					c.Expected = got
					return
				}
				if strings.Join(got, "\n") != strings.Join(c.Expected, "\n") {
					t.Errorf("log differs from the selftest's expectation\n--- got\n%s\n--- want\n%s", strings.Join(got, "\n"), strings.Join(c.Expected, "\n"))
				}
			})
			out.WriteString("\n=== " + c.Name + "\n" + strings.Join(c.Script, "\n") + "\n---\n")
			for _, l := range c.Expected {
				out.WriteString(l + "\n")
			}
		}
		if *update {
			if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shardScenarios are small scenarios of two kinds, one safe and one
// failing, with the split depth they are sharded at.
var shardScenarios = []struct {
	name  string
	depth string
}{
	{"x86/no-sync1/bytewise/inside-line", "6"},
	{"livepatch/s2-caller-split", "6"},
}

// decodeCheck reads check's or merge's --json output with the wall-clock
// figures zeroed.
func decodeCheck(t *testing.T, out string) checkResult {
	t.Helper()
	var doc struct {
		Results []checkResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
		t.Fatalf("not one result (%v):\n%s", err, out)
	}
	r := doc.Results[0]
	r.Stats.Elapsed, r.Stats.ExecPerSec = 0, 0
	return r
}

// TestShardMerge: check --shard i/n for every i, then merge, prints the
// result of the unsharded check --split-depth D, for n = 2 and 4.
func TestShardMerge(t *testing.T) {
	for _, sc := range shardScenarios {
		code, out, errOut := klp(t, "check", "--json", "-q", "--split-depth", sc.depth, "--run", sc.name)
		if code != exitOK {
			t.Fatalf("%s: check exit %d: %s", sc.name, code, errOut)
		}
		want := decodeCheck(t, out)
		for _, n := range []int{2, 4} {
			dir := t.TempDir()
			var files []string
			for i := 0; i < n; i++ {
				f := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
				if code, _, errOut := klp(t, "check", "-q", "--shard", fmt.Sprintf("%d/%d", i, n), "--split-depth", sc.depth, "--run", sc.name, "--out", f); code != exitOK {
					t.Fatalf("%s shard %d/%d: exit %d: %s", sc.name, i, n, code, errOut)
				}
				files = append([]string{f}, files...) // any order
			}
			code, out, errOut := klp(t, append([]string{"merge", "--json"}, files...)...)
			if code != exitOK {
				t.Fatalf("%s n=%d: merge exit %d: %s", sc.name, n, code, errOut)
			}
			if got := decodeCheck(t, out); !reflect.DeepEqual(got, want) {
				t.Errorf("%s n=%d: merged\n%+v\nunsharded\n%+v", sc.name, n, got, want)
			}
			if want.Schedule == "" {
				continue
			}
			// The merged counterexample is written as a trace that
			// replays (exit 1: the violation reproduces).
			traceDir := filepath.Join(dir, "traces")
			code, out, errOut = klp(t, append([]string{"merge", "--json", "--traces", traceDir}, files...)...)
			got := decodeCheck(t, out)
			if code != exitOK || got.Trace == "" {
				t.Fatalf("%s n=%d: merge --traces exit %d, trace %q: %s", sc.name, n, code, got.Trace, errOut)
			}
			if code, out, _ := klp(t, "replay", got.Trace); code != exitFail || !strings.Contains(out, "reproduced") {
				t.Errorf("%s n=%d: replay of the merged trace: exit %d\n%s", sc.name, n, code, out)
			}
		}
		t.Logf("%s: %s %s, %d executions: merged n=2,4 agree", sc.name, want.Verdict, want.Property, want.Stats.Executions)
	}
}

// TestMergeRefusesShards: missing, duplicated and mismatched shards, and
// a shard of another model version, are refused with exit 2 and a message
// naming the problem.
func TestMergeRefusesShards(t *testing.T) {
	dir := t.TempDir()
	shard := func(name, spec, depth, scenario string) string {
		f := filepath.Join(dir, name)
		if code, _, errOut := klp(t, "check", "-q", "--shard", spec, "--split-depth", depth, "--run", scenario, "--out", f); code != exitOK {
			t.Fatalf("shard %s: exit %d: %s", spec, code, errOut)
		}
		return f
	}
	const sc = "engine/lost-update"
	a0, a1 := shard("a0", "0/2", "3", sc), shard("a1", "1/2", "3", sc)
	d1 := shard("d1", "1/2", "4", sc)
	o1 := shard("o1", "1/2", "3", "engine/peterson")
	data, err := os.ReadFile(a1)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old")
	os.WriteFile(old, []byte(strings.Replace(string(data), `"model_version": `, `"model_version": 1`, 1)), 0o644)
	cut := filepath.Join(dir, "cut")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", []string{a0}, "missing shards [1] of 2"},
		{"duplicate", []string{a0, a1, a1}, "shard 1/2 given twice"},
		{"other depth", []string{a0, d1}, "split at depth 3"},
		{"other scenario", []string{a0, o1}, "is a shard of scenario"},
		{"model version", []string{a0, old}, "model version"},
		{"cut short", []string{a0, cut}, "not a shard file"},
	} {
		code, _, errOut := klp(t, append([]string{"merge"}, c.files...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", c.name, code, errOut, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "2/2", "--split-depth", "3", "--run", sc, "--out", "x"}, "want 0 ≤ i < n"},
		{[]string{"--shard", "0/2", "--run", sc, "--out", "x"}, "--shard needs --split-depth and --out"},
		{[]string{"--shard", "0/2", "--split-depth", "3", "--out", "x", "engine"}, "--shard explores one scenario"},
		{[]string{"--shard", "0/2", "--split-depth", "3", "--strategy", "bounded", "--run", sc, "--out", "x"}, "cannot be sharded"},
	} {
		code, _, errOut := klp(t, append([]string{"check", "-q"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("check %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestLocalScript runs deploy/local.sh — n shard processes and a merge —
// for n = 2 and 4 and compares its output with the unsharded check's.
func TestLocalScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "klpcheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sc := shardScenarios[0]
	code, out, errOut := klp(t, "check", "--json", "-q", "--split-depth", sc.depth, "--run", sc.name)
	if code != exitOK {
		t.Fatalf("check exit %d: %s", code, errOut)
	}
	want := decodeCheck(t, out)
	for _, n := range []string{"2", "4"} {
		cmd := exec.Command("sh", "../../deploy/local.sh", n, sc.depth, sc.name, filepath.Join(dir, "n"+n))
		cmd.Env = append(os.Environ(), "KLPCHECK="+bin, "MERGE_FLAGS=--json")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("local.sh %s: %v\n%s", n, err, out)
		}
		if got := decodeCheck(t, string(out)); !reflect.DeepEqual(got, want) {
			t.Errorf("local.sh n=%s: merged\n%+v\nunsharded\n%+v", n, got, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/traces"
)

// klp runs the command in-process and returns its exit code and output.
func klp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func expect(t *testing.T, args []string, wantCode int, wantOut, wantErr []string) (string, string) {
	t.Helper()
	code, out, errs := klp(t, args...)
	if code != wantCode {
		t.Fatalf("klpcheck %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out, errs)
	}
	for _, w := range wantOut {
		if !strings.Contains(out, w) {
			t.Fatalf("klpcheck %s: stdout lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	for _, w := range wantErr {
		if !strings.Contains(errs, w) {
			t.Fatalf("klpcheck %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, errs)
		}
	}
	return out, errs
}

func TestCheckBuiltin(t *testing.T) {
	out, errs := expect(t, []string{"check", "--kind", "engine"}, 0, []string{
		"== engine: 9 scenarios",
		"lost-update      violation lost-update 4/1",
		"peterson         safe",
		"counterexamples (steps/preemptions):",
	}, nil)
	if errs != "" {
		t.Fatalf("stderr is not a terminal, yet: %q", errs)
	}
	if strings.Contains(out, "(!)") {
		t.Fatalf("a verdict differs from the catalog's expectation:\n%s", out)
	}
}

// The whole built-in catalog runs (with a tiny execution budget: its
// verdicts are the kinds' tests' business) and prints a table per table.
func TestCheckWholeCatalog(t *testing.T) {
	code, out, errs := klp(t, "check", "--max-executions", "30")
	if code == exitUsage || errs != "" {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	seen := map[string]bool{}
	for _, s := range catalog.Builtin() {
		if !seen[s.Table] {
			seen[s.Table] = true
			if !strings.Contains(out, "== "+s.Table+":") && !strings.Contains(out, "== "+s.Table+"\n") {
				t.Fatalf("no table %q in:\n%s", s.Table, out)
			}
		}
	}
}

func TestCheckFilters(t *testing.T) {
	expect(t, []string{"check", "--run", "*/peterson"}, 0, []string{"peterson  safe", "1 scenarios: 1 safe"}, nil)
	expect(t, []string{"check", "--run", "peterson"}, 0, []string{"2 scenarios: 1 safe, 1 violation"}, nil)
	expect(t, []string{"check", "--property", "deadlock", "--kind", "engine"}, 0, []string{"lock-inversion"}, nil)
	out, _ := expect(t, []string{"check", "--property", "deadlock", "--max-executions", "20", "--allow-incomplete"}, 0, nil, nil)
	if strings.Contains(out, "lost-update  ") {
		t.Fatalf("--property deadlock kept a lost-update scenario:\n%s", out)
	}
	expect(t, []string{"check", "--variant", "writers-*", "--fetch", "dpor", "--table", "engine"}, 0, []string{"writers-4"}, nil)
	expect(t, []string{"check", "--run", "nothing-matches"}, 2, nil, []string{"no scenario matches"})
	expect(t, []string{"check", "--run", "engine/lost-update", "--strategy", "bounded", "--max-preemptions", "1"}, 0, []string{"violation lost-update 4/1"}, nil)
	expect(t, []string{"check", "--run", "engine/lost-update", "--strategy", "random", "--seed", "3", "--max-executions", "50"}, 0, []string{"violation lost-update"}, nil)
	expect(t, []string{"check", "--run", "*/peterson", "--strategy", "random", "--max-executions", "5"}, 1, []string{"incomplete (sampled)", "sampling cannot prove safety"}, nil)
}

// Results do not depend on the number of workers.
func TestCheckWorkersDeterministic(t *testing.T) {
	strip := func(out string) string {
		var v struct{ Results []map[string]any }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		for _, r := range v.Results {
			delete(r, "stats")
		}
		b, _ := json.Marshal(v.Results)
		return string(b)
	}
	_, one, _ := klp(t, "check", "--json", "--kind", "engine", "--workers", "1")
	_, four, _ := klp(t, "check", "--json", "--kind", "engine", "--workers", "4")
	if strip(one) != strip(four) {
		t.Fatalf("--workers 1 and 4 differ:\n%s\n%s", strip(one), strip(four))
	}
}

func TestCheckJSON(t *testing.T) {
	out, _ := expect(t, []string{"check", "--json", "--run", "engine/lost-update"}, 0, nil, nil)
	var v struct {
		Results []checkResult
		Summary summary
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	r := v.Results[0]
	if r.Verdict != "violation" || r.Property != "lost-update" || r.Length != 4 || r.Schedule == "" || v.Summary.Verdicts["violation"] != 1 {
		t.Fatalf("got %+v", v)
	}
}

// The whole counterexample workflow: check writes traces, replay
// reproduces them, minimize shrinks them, show renders them.
func TestTraceWorkflow(t *testing.T) {
	dir := t.TempDir()
	expect(t, []string{"check", "--kind", "engine", "--traces", dir}, 0, []string{"trace: " + filepath.Join(dir, "engine_lost-update.trace.json")}, nil)
	for _, name := range []string{"engine_lost-update", "engine_peterson-broken", "engine_lock-inversion"} {
		path := filepath.Join(dir, name+".trace.json")
		expect(t, []string{"replay", path}, 1, []string{"reproduced: violation"}, nil)
		out, _ := expect(t, []string{"replay", "--json", "-v", path}, 1, nil, nil)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || v["result"] != "reproduced" || v["timeline"] == nil {
			t.Fatalf("replay --json: %v %s", err, out)
		}
		min := filepath.Join(dir, name+".min.json")
		expect(t, []string{"minimize", "-o", min, path}, 0, []string{"minimised", "wrote " + min}, nil)
		expect(t, []string{"replay", min}, 1, []string{"reproduced"}, nil)
		expect(t, []string{"show", min}, 0, []string{"step  │", "VIOLATION", "minimised from"}, nil)
		html := filepath.Join(dir, name+".html")
		expect(t, []string{"show", "--html", html, path}, 0, []string{"wrote " + html}, nil)
		page, err := os.ReadFile(html)
		if err != nil || !bytes.Contains(page, []byte(`id="timeline"`)) {
			t.Fatalf("html: %v", err)
		}
		expect(t, []string{"show", "--json", path}, 0, []string{`"timeline"`, `"rows"`}, nil)
	}
	// The default output name of minimize.
	path := filepath.Join(dir, "engine_lost-update.trace.json")
	expect(t, []string{"minimize", "--json", path}, 0, []string{`"trace": "` + strings.TrimSuffix(path, ".json") + `.min.json"`}, nil)
}

func TestReplayFixed(t *testing.T) {
	dir := t.TempDir()
	expect(t, []string{"check", "--run", "engine/lost-update", "--traces", dir}, 0, nil, nil)
	path := filepath.Join(dir, "engine_lost-update.trace.json")
	data, _ := os.ReadFile(path)
	// A schedule that runs both increments one after the other: holds.
	var v map[string]any
	json.Unmarshal(data, &v)
	v["schedule"] = "0.0.1.1"
	fixed, _ := json.Marshal(v)
	os.WriteFile(path, fixed, 0o644)
	expect(t, []string{"replay", path}, 0, []string{"fixed: the schedule runs to its end", "every property holds; the trace expected violation lost-update at step 3"}, nil)
	expect(t, []string{"replay", "--json", path}, 0, []string{`"result": "fixed"`}, nil)
	// A schedule that no longer fits the program: its own status, not
	// that of a corrupt file.
	v["schedule"] = "1.1.1.1.1"
	bad, _ := json.Marshal(v)
	os.WriteFile(path, bad, 0o644)
	expect(t, []string{"replay", path}, exitDiverged, []string{"no longer applies: replay diverged at decision 2", "finished", "The code changed under this counterexample; run 'klpcheck check' on engine/lost-update"}, nil)
	expect(t, []string{"replay", "--json", path}, exitDiverged, []string{`"result": "diverged"`}, nil)
}

// The fixed code, as a kernel developer meets it: a trace of the buggy
// variant replayed against the fixed one (here: the trace's scenario
// edited to keep sync1) no longer applies, and says so with exit 3.
func TestReplayAgainstTheFix(t *testing.T) {
	const name = "x86/no-sync1/bytewise/inside-line"
	dir := t.TempDir()
	expect(t, []string{"check", "--run", name, "--traces", dir}, 0, []string{"violation torn-decode"}, nil)
	path := filepath.Join(dir, traces.FileName(name))
	out, _ := expect(t, []string{"replay", path}, 1, []string{"reproduced: violation torn-decode at step "}, nil)
	var step int
	fmt.Sscanf(out[strings.Index(out, "at step ")+len("at step "):], "%d", &step)
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(fmt.Sprintf(`"failed_at_step": %d`, step))) {
		t.Fatalf("the trace does not carry the step replay prints:\n%s", data)
	}
	fixed := strings.Replace(string(data), `"disable": [
        "sync1"
      ],`, "", 1)
	if fixed == string(data) {
		t.Fatalf("no sync1 to re-enable in:\n%s", data)
	}
	os.WriteFile(path, []byte(fixed), 0o644)
	code, out, errs := klp(t, "replay", path)
	if code != exitDiverged && code != exitOK {
		t.Fatalf("replay against the fix: exit %d, want %d (no longer applies) or 0 (fixed)\n%s%s", code, exitDiverged, out, errs)
	}
}

// Malformed, truncated and wrong-version inputs give exit 2 and a message
// naming the problem, never a panic.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	expect(t, []string{"check", "--run", "engine/lost-update", "--traces", dir}, 0, nil, nil)
	good, _ := os.ReadFile(filepath.Join(dir, "engine_lost-update.trace.json"))
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	traceCases := []struct{ name, content, want string }{
		{"truncated.json", string(good[:len(good)/3]), "unexpected end of file (truncated trace?)"},
		{"garbage.json", "not json", "invalid JSON"},
		{"version.json", strings.Replace(string(good), `"version": 1`, `"version": 7`, 1), "trace format version 7"},
		{"model.json", strings.Replace(string(good), fmt.Sprintf(`"model_version": %d`, traces.ModelVersion), `"model_version": 0`, 1), "recorded against model version 0"},
		{"unknown.json", strings.Replace(string(good), `"format"`, `"extra": true, "format"`, 1), `unknown field "extra"`},
	}
	for _, tc := range traceCases {
		p := write(tc.name, tc.content)
		for _, cmd := range []string{"replay", "show", "minimize"} {
			expect(t, []string{cmd, p}, 2, nil, []string{tc.name, tc.want})
		}
	}
	expect(t, []string{"replay", filepath.Join(dir, "missing.json")}, 2, nil, []string{"missing.json"})

	scenCases := []struct{ content, want string }{
		{"{\n \"name\": \"a\",\n \"kind\": \"engine\",\n \"params\": {\"program\": \"writers\", \"n\": 40}\n}", "s.json:4:35: params.n: 40 is out of range 1..16"},
		{"{\n \"name\": \"a\", \"kind\": \"engine\", \"paramz\": {}}", `s.json:2:33: paramz: unknown field "paramz"`},
		{"[{\"name\": \"a\"", "s.json:1:14: unexpected end of file (truncated JSON?)"},
		{`{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"strategy": "dfs"}}`, `s.json:1:80: explore.strategy: unknown strategy "dfs"`},
	}
	for _, tc := range scenCases {
		p := write("s.json", tc.content)
		expect(t, []string{"check", p}, 2, nil, []string{filepath.Join(dir, tc.want)})
	}

	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"check", "--no-such-flag"},
		{"check", "--strategy", "fast"},
		{"check", "--workers", "0"},
		{"check", "--seed", "-3"},
		{"check", "--property", "nope"},
		{"check", "--kind", "vax"},
		{"replay"},
		{"replay", "a", "b"},
		{"show", "--width", "2", "x"},
		{"list", "everything"},
	} {
		if code, _, errs := klp(t, args...); code != 2 || errs == "" {
			t.Errorf("klpcheck %v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

func TestScenarioFiles(t *testing.T) {
	matches, _ := filepath.Glob("../../examples/*.json")
	if len(matches) == 0 {
		t.Fatal("no examples")
	}
	for _, m := range matches {
		code, out, errs := klp(t, append([]string{"check", "--max-executions", "20000", "--allow-incomplete"}, m)...)
		if code != 0 {
			t.Fatalf("%s: exit %d, want 0 (every verdict as the file expects): %s%s", m, code, out, errs)
		}
		if strings.Contains(out, "(!)") {
			t.Fatalf("%s: a verdict differs from the file's expectation:\n%s", m, out)
		}
	}
}

func TestList(t *testing.T) {
	expect(t, []string{"list"}, 0, []string{"KIND", "engine/lost-update", "PROPERTY", "mutual-exclusion", "STRATEGY", "dpor", "FETCH MODELS"}, nil)
	expect(t, []string{"list", "format"}, 0, []string{"unknown fields are rejected", "'klpcheck list kinds' names"}, nil)
	// list kinds names each kind's parameters and its doc.
	expect(t, []string{"list", "kinds"}, 0, []string{"docs/x86.md", "cpus, disable", "program"}, nil)
	// A property checked by a kind that lists it twice is shown once.
	out, _ := expect(t, []string{"list", "properties"}, 0, nil, nil)
	if strings.Contains(out, "fentry,fentry") {
		t.Fatalf("a kind listed twice:\n%s", out)
	}
	out, _ = expect(t, []string{"list", "--json", "properties", "scenarios"}, 0, nil, nil)
	var v struct {
		Properties []listedProperty
		Scenarios  []listedScenario
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Properties) == 0 || len(v.Scenarios) == 0 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
}

func TestHelp(t *testing.T) {
	expect(t, []string{"--help"}, 0, []string{"Commands:", "Examples:"}, nil)
	for _, cmd := range []string{"check", "replay", "minimize", "show", "list"} {
		expect(t, []string{cmd, "--help"}, 0, []string{"Usage: klpcheck " + cmd, "Examples:", "-json"}, nil)
		expect(t, []string{"help", cmd}, 0, []string{"Usage: klpcheck " + cmd}, nil)
	}
}

// For x86 traces, --history adds porcupine's view of the atomic-switch
// history to the HTML page.
func TestShowHistoryX86(t *testing.T) {
	const name = "x86/no-sync1/bytewise/inside-line"
	if _, ok := catalog.Find(name); !ok {
		t.Skip("no x86 scenario " + name)
	}
	dir := t.TempDir()
	expect(t, []string{"check", "--run", name, "--traces", dir}, 0, []string{"violation torn-decode"}, nil)
	path := filepath.Join(dir, "x86_no-sync1_bytewise_inside-line.trace.json")
	html := filepath.Join(dir, "x.html")
	expect(t, []string{"show", "--history", "--html", html, path}, 0, []string{"wrote"}, nil)
	page, _ := os.ReadFile(html)
	for _, want := range []string{`id="timeline"`, `id="porcupine"`, "const data = ", "History, for context", "The property that failed, torn-decode, is not this history's", `id="legend"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("the page lacks %q", want)
		}
	}
	// A torn decode is not a history violation: no "porcupine: Ok"
	// heading suggests the page found nothing.
	if bytes.Contains(page, []byte("porcupine: Ok")) {
		t.Fatal(`"porcupine: Ok" on a page whose violation is not a history violation`)
	}
	// The idle context ran no step: no empty column.
	if bytes.Contains(page, []byte("<th>cpu1 idle</th>")) {
		t.Fatal("an empty column for a thread that ran no step")
	}
	// Without --history, a torn-decode trace has no history view.
	expect(t, []string{"show", "--html", html, path}, 0, nil, nil)
	page, _ = os.ReadFile(html)
	if bytes.Contains(page, []byte(`id="porcupine"`)) {
		t.Fatal("a porcupine view without --history for a non-history property")
	}
	out, _ := expect(t, []string{"show", path}, 0, []string{"torn decode"}, nil)
	_ = out
}

// A positional argument that is not a file names a kind or a table of the
// built-in catalog.
func TestCheckSections(t *testing.T) {
	expect(t, []string{"check", "engine", "--run", "*/peterson"}, 0, []string{"peterson  safe", "1 scenarios: 1 safe"}, nil)
	expect(t, []string{"check", "no-such-section"}, 2, nil, []string{"no-such-section: no such scenario file, and no built-in kind or table"})
	expect(t, []string{"check", "missing/file.json"}, 2, nil, []string{"missing/file.json"})
}

// A fentry trace shows the x86 machine's atomic-switch history too: the
// skipped fentry call is neither the old nor the new instruction, so
// porcupine finds no linearization.
func TestShowHistoryFentry(t *testing.T) {
	const name = "fentry/history/2019-fentry-skip/buggy-livepatch"
	dir := t.TempDir()
	expect(t, []string{"check", "--run", name, "--traces", dir}, 0, []string{"violation mixed-state"}, nil)
	path := filepath.Join(dir, "fentry_history_2019-fentry-skip_buggy-livepatch.trace.json")
	html := filepath.Join(dir, "f.html")
	expect(t, []string{"show", "--history", "--html", html, path}, 0, []string{"wrote"}, nil)
	page, _ := os.ReadFile(html)
	for _, want := range []string{`id="timeline"`, `id="porcupine"`, "porcupine: Illegal"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("the page lacks %q", want)
		}
	}
}

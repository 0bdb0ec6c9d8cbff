package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/traces"
)

// The figures and transcripts of README.md and docs/cli.md are generated:
// each lies between the markers
//
//	<!-- generated: NAME (…) -->  …  <!-- end NAME -->
//
// and is the output of the generator NAME below, run on this tree. The
// cheap ones (the trace format, lists, an engine counterexample's replay,
// show and minimize) are compared on every `go test`; those that need the
// whole catalog (minutes on 2 cores) only with -docs. One command rewrites
// them all:
//
//	go test ./cmd/klpcheck -run TestDocs -update-docs -timeout 60m
//
// and with -short only the cheap ones (seconds).
//
// Times vary between runs: -docs compares with every duration masked.
var (
	docsCheck  = flag.Bool("docs", false, "also compare the documents' whole-catalog figures (runs the catalog: minutes)")
	docsUpdate = flag.Bool("update-docs", false, "rewrite every generated block of README.md and docs/cli.md (runs the catalog: minutes)")
)

var docFiles = []string{"../../README.md", "../../docs/cli.md"}

// docEnv is where the generators run: a scratch directory holding the
// traces the transcripts use, and (for the expensive ones) the catalog run.
type docEnv struct {
	t   *testing.T
	dir string
	// The whole catalog's run, when it was made.
	catalogOut string
	catalogRC  int
	results    []*checkResult
}

// cmd runs a klpcheck command line in the scratch directory and returns
// its transcript: "$ klpcheck ARGS", the output, and "$ echo $?" with the
// status when it is not 0 or when status is set.
func (e *docEnv) cmd(status bool, args ...string) string {
	e.t.Helper()
	code, out, errs := klp(e.t, args...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " *'") {
			quoted[i] = "'" + a + "'"
		}
	}
	s := "$ klpcheck " + strings.Join(quoted, " ") + "\n" + out + errs
	if status || code != 0 {
		s += fmt.Sprintf("$ echo $?\n%d\n", code)
	}
	return s
}

// traceOf writes a built-in scenario's trace into traces/ (quietly).
func (e *docEnv) traceOf(name string) {
	e.t.Helper()
	if _, err := os.Stat(filepath.Join("traces", traces.FileName(name))); err == nil {
		return
	}
	if code, out, errs := klp(e.t, "check", "--run", name, "--traces", "traces"); code != exitOK {
		e.t.Fatalf("check %s: exit %d\n%s%s", name, code, out, errs)
	}
}

func fence(lang, s string) string {
	return "\n```" + lang + "\n" + strings.TrimRight(s, "\n") + "\n```\n"
}

// generators, by marker name; expensive ones need the whole catalog.
var generators = map[string]struct {
	expensive bool
	gen       func(e *docEnv) string
}{
	"cli-trace-json": {false, func(e *docEnv) string {
		data, err := os.ReadFile("out/engine_peterson-broken.trace.json")
		if err != nil {
			e.t.Fatal(err)
		}
		return fence("json", string(data))
	}},
	"cli-replay": {false, func(e *docEnv) string {
		return fence("", e.cmd(true, "replay", "out/engine_peterson-broken.trace.json"))
	}},
	"cli-show": {false, func(e *docEnv) string {
		return fence("", e.cmd(false, "show", "out/engine_peterson-broken.trace.json"))
	}},
	"cli-minimize": {false, func(e *docEnv) string {
		return fence("", e.cmd(false, "minimize", "out/engine_peterson-broken.trace.json")+
			e.cmd(false, "show", "out/engine_peterson-broken.trace.min.json"))
	}},
	"cli-show-x86": {false, func(e *docEnv) string {
		e.traceOf("x86/no-sync1/bytewise/inside-line")
		return fence("", e.cmd(false, "show", "traces/x86_no-sync1_bytewise_inside-line.trace.json"))
	}},
	"cli-show-livepatch": {false, func(e *docEnv) string {
		e.traceOf("livepatch/s3-cpu-bound-kthread-pre-6.4")
		return fence("", e.cmd(false, "show", "traces/livepatch_s3-cpu-bound-kthread-pre-6.4.trace.json"))
	}},
	"cli-replay-errors": {false, func(e *docEnv) string {
		data, err := os.ReadFile("out/engine_lost-update.trace.json")
		if err != nil {
			e.t.Fatal(err)
		}
		write := func(name, from, to string) {
			if !strings.Contains(string(data), from) {
				e.t.Fatalf("%s: no %q in the trace", name, from)
			}
			os.WriteFile(name, []byte(strings.Replace(string(data), from, to, 1)), 0o644)
		}
		write("diverged.json", `"schedule": "0.1.1.0"`, `"schedule": "1.1.1.1.1"`)
		write("fixed.json", `"schedule": "0.1.1.0"`, `"schedule": "0.0.1.1"`)
		write("old.json", fmt.Sprintf(`"model_version": %d`, traces.ModelVersion), `"model_version": 1`)
		os.WriteFile("trunc.json", data[:len(data)/2], 0o644)
		var b strings.Builder
		for _, f := range []string{"diverged.json", "fixed.json", "old.json", "trunc.json"} {
			b.WriteString(e.cmd(true, "replay", f))
		}
		return fence("", b.String())
	}},
	"cli-minimize-x86": {false, func(e *docEnv) string {
		e.traceOf("x86/naive-copy/bytewise/inside-line")
		return fence("", e.cmd(false, "minimize", "-o", "nc.json", "traces/x86_naive-copy_bytewise_inside-line.trace.json")+
			e.cmd(false, "show", "nc.json"))
	}},
	"cli-html": {false, func(e *docEnv) string {
		e.traceOf("x86/no-sync1/bytewise/inside-line")
		return fence("", e.cmd(false, "show", "--html", "pb.html", "out/engine_peterson-broken.trace.json")+
			e.cmd(false, "show", "--history", "--html", "x86.html", "traces/x86_no-sync1_bytewise_inside-line.trace.json"))
	}},
	"cli-bad-files": {false, func(e *docEnv) string {
		os.WriteFile("bad.json", []byte("{\n  \"name\": \"my/writers\",\n  \"kind\": \"engine\",\n  \"params\": {\"program\": \"writers\", \"n\": 40}\n}\n"), 0o644)
		os.WriteFile("bad2.json", []byte("{\n  \"name\": \"my/peterson\",\n  \"kind\": \"engine\",\n  \"params\": {\"program\": \"peterson\"},\n  \"explore\": {\"max_step\": 100},\n  \"expect\": \"safe\"\n}\n"), 0o644)
		os.WriteFile("bad3.json", []byte("{\n  \"name\": \"my/peterson\",\n  \"kind\": \"engine\",\n  \"params\": {\"program\": \"peterson\"},\n  \"explore\": {\"strategy\": \"bounded\", \"max_preemptions\": 0},\n  \"expect\": \"maybe\"\n}\n"), 0o644)
		return fence("", e.cmd(false, "check", "bad.json")+e.cmd(false, "check", "bad2.json")+e.cmd(false, "check", "bad3.json"))
	}},
	"cli-list-format": {false, func(e *docEnv) string { return fence("", e.cmd(false, "list", "format")) }},
	"cli-lists":       {false, func(e *docEnv) string { return fence("", e.cmd(false, "list", "kinds", "properties", "strategies")) }},
	"cli-log": {false, func(e *docEnv) string {
		return fence("", e.cmd(false, "log", "livepatch/s10-force"))
	}},

	"cli-catalog": {true, func(e *docEnv) string {
		return fence("", fmt.Sprintf("$ klpcheck check --traces traces\n%s$ echo $?\n%d\n", e.catalogOut, e.catalogRC))
	}},
	"readme-tables": {true, func(e *docEnv) string {
		var keep []string
		for _, c := range chunks(e.catalogOut) {
			if strings.HasPrefix(c, "== history") || strings.HasPrefix(c, "counterexamples (") {
				continue
			}
			keep = append(keep, c)
		}
		return fence("", strings.Join(keep, "\n\n"))
	}},
	"readme-history": {true, func(e *docEnv) string {
		for _, c := range chunks(e.catalogOut) {
			if strings.HasPrefix(c, "== history") {
				return fence("", c)
			}
		}
		e.t.Fatal("no history table in the catalog's output")
		return ""
	}},
	"readme-time": {true, func(e *docEnv) string {
		m := regexp.MustCompile(`time: wall (\S+), CPU (\S+) `).FindStringSubmatch(e.catalogOut)
		if m == nil {
			e.t.Fatal("no time line in the catalog's output")
		}
		return fmt.Sprintf("%s wall, %s CPU", m[1], m[2])
	}},
	"cli-minimize-all": {true, func(e *docEnv) string { return minimizeAll(e) }},
}

// executionsOf is a scenario's executions in the catalog run, with a
// thousands separator.
func executionsOf(e *docEnv, name string) string {
	for _, r := range e.results {
		if r.Scenario == name {
			n := fmt.Sprint(r.Stats.Executions)
			for i := len(n) - 3; i > 0; i -= 3 {
				n = n[:i] + "," + n[i:]
			}
			return n
		}
	}
	e.t.Fatalf("execs:%s: no such scenario in the catalog run", name)
	return ""
}

// chunks splits text output at blank lines.
func chunks(s string) []string {
	var out []string
	for _, c := range strings.Split(strings.TrimSpace(s), "\n\n") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// minimizeAll minimises every counterexample of the catalog run (schedule
// only, the default budget) and describes how much they shrank.
func minimizeAll(e *docEnv) string {
	files, _ := filepath.Glob("traces/*.trace.json")
	if len(files) == 0 {
		e.t.Fatal("no traces from the catalog run")
	}
	var kept []float64
	start := time.Now()
	examples := map[string]string{}
	for _, f := range files {
		tr, err := traces.Read(f)
		if err != nil {
			e.t.Fatal(err)
		}
		m, err := traces.Minimize(tr, traces.MinimizeOptions{NoScenarioShrink: true})
		if err != nil {
			e.t.Fatalf("%s: %v", f, err)
		}
		kept = append(kept, float64(m.Length)/float64(tr.Length))
		examples[tr.Scenario.Name] = fmt.Sprintf("%d → %d", tr.Length, m.Length)
	}
	took := time.Since(start)
	sort.Float64s(kept)
	median := kept[len(kept)/2]
	var ex []string
	for _, n := range []string{"x86/naive-copy/bytewise/inside-line", "x86/no-sync3/bytewise/inside-line", "livepatch/s10-force"} {
		if v, ok := examples[n]; ok {
			ex = append(ex, n+" "+v)
		}
	}
	return fmt.Sprintf("On the built-in catalog's %d counterexamples (schedule only, default budget, %s in all) the median trace keeps %.0f%% of its steps (%s)",
		len(files), took.Round(100*time.Millisecond), 100*median, strings.Join(ex, ", "))
}

// TestDocs regenerates every generated block and compares it with the
// documents (or rewrites them with -update-docs).
func TestDocs(t *testing.T) {
	// -short skips the whole catalog even with -update-docs (rewriting
	// only the cheap blocks).
	expensive := (*docsCheck || *docsUpdate) && !testing.Short()
	var docs []string
	texts := map[string]string{}
	for _, f := range docFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(f)
		docs = append(docs, abs)
		texts[abs] = string(data)
	}
	e := &docEnv{t: t, dir: t.TempDir()}
	t.Chdir(e.dir)
	expect(t, []string{"check", "--kind", "engine", "--traces", "out"}, 0, nil, nil)
	if expensive {
		// One run, in JSON (for per-scenario figures), rendered as the
		// text command prints it.
		code, out, errs := klp(t, "check", "--json", "--traces", "traces", "-q")
		if errs != "" {
			t.Fatalf("the catalog run wrote to stderr:\n%s", errs)
		}
		var v struct {
			Results []*checkResult
			Summary summary
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		printTables(&b, v.Results, v.Summary, checkFlags{})
		e.catalogOut, e.catalogRC, e.results = b.String(), code, v.Results
		if code != exitOK {
			t.Errorf("klpcheck check exits %d on this tree, want 0:\n%s", code, e.catalogOut)
		}
	}
	seen := map[string]bool{}
	for _, doc := range docs {
		text := texts[doc]
		var b strings.Builder
		for {
			name, before, old, after, ok := nextBlock(text)
			if !ok {
				b.WriteString(text)
				break
			}
			g, known := generators[name]
			if scen, ok := strings.CutPrefix(name, "execs:"); ok {
				// A figure in prose: a scenario's executions.
				g, known = struct {
					expensive bool
					gen       func(e *docEnv) string
				}{true, func(e *docEnv) string { return executionsOf(e, scen) }}, true
			}
			if !known {
				t.Fatalf("%s: a generated block %q with no generator", doc, name)
			}
			seen[name] = true
			b.WriteString(before)
			if g.expensive && !expensive {
				b.WriteString(old)
			} else {
				got := g.gen(e)
				b.WriteString(got)
				if !*docsUpdate && mask(got) != mask(old) {
					how := "go test ./cmd/klpcheck -short -run TestDocs -update-docs   (seconds: the blocks that need no catalog run)"
					if g.expensive {
						how = "go test ./cmd/klpcheck -run TestDocs -update-docs -timeout 60m   (runs the whole catalog)"
					}
					t.Errorf("%s: the generated block %q is stale (the code's output changed); regenerate with\n  %s\ngot:\n%s\ndocument:\n%s", doc, name, how, got, old)
				}
			}
			text = after
		}
		if *docsUpdate {
			if err := os.WriteFile(doc, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range generators {
		if !seen[name] && !(testing.Short() && generators[name].expensive) {
			t.Errorf("no document has the generated block %q", name)
		}
	}
}

// nextBlock finds the next generated block: the text up to and including
// its start marker, its content, and the text from its end marker on.
func nextBlock(text string) (name, before, content, after string, ok bool) {
	const open = "<!-- generated: "
	i := 0
	for {
		k := strings.Index(text[i:], open)
		if k < 0 {
			return "", "", "", "", false
		}
		i += k
		name, _, _ = strings.Cut(text[i+len(open):], " ")
		if markerName.MatchString(name) {
			break
		}
		i += len(open) // prose that mentions the marker
	}
	rest := text[i+len(open):]
	j := strings.Index(rest, "-->")
	if j < 0 {
		return "", "", "", "", false
	}
	startEnd := i + len(open) + j + len("-->")
	endMarker := "<!-- end " + name + " -->"
	k := strings.Index(text[startEnd:], endMarker)
	if k < 0 {
		return "", "", "", "", false
	}
	return name, text[:startEnd], text[startEnd : startEnd+k], text[startEnd+k:], true
}

var markerName = regexp.MustCompile(`^[a-z][a-z0-9-]*(:[A-Za-z0-9_./:-]+)?$`)

var durations = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*\b`)
var spaces = regexp.MustCompile(`[ \t]+`)

// mask hides what varies between identical runs: durations, and the
// alignment they shift.
func mask(s string) string {
	return spaces.ReplaceAllString(durations.ReplaceAllString(s, "T"), " ")
}

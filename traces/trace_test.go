package traces

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/internal/golden"
)

// budget caps the exploration of one scenario in tests: the built-in
// catalog is large, and go test ./... must stay within minutes. A
// counterexample the budget does not reach is not tested (check with the
// same --max-executions/--time-limit would not report it either).
func budget() (int64, time.Duration) {
	if testing.Short() {
		return 5000, time.Second
	}
	return 20000, 4 * time.Second
}

// counterexample explores a scenario with its own bounds, capped by the
// budget, and returns its trace (nil when none was found).
func counterexample(t testing.TB, s catalog.Scenario) *Trace {
	t.Helper()
	tr, err := findCounterexample(s)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return tr
}

func findCounterexample(s catalog.Scenario) (*Trace, error) {
	prog, err := catalog.Build(s)
	if err != nil {
		return nil, err
	}
	opts, err := s.Explore.Options()
	if err != nil {
		return nil, err
	}
	execs, limit := budget()
	if opts.MaxExecutions <= 0 || opts.MaxExecutions > execs {
		opts.MaxExecutions = execs
	}
	opts.TimeLimit = limit
	res := explore.Explore(prog, opts)
	if res.Failure == nil {
		return nil, nil
	}
	return New(s, opts, res)
}

// parallel runs f(i) for i in [0, n) on every core.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// builtinCache holds the counterexamples of the built-in catalog, found
// once per test binary, in catalog order: of every scenario expected to
// fail or without an expectation.
var builtinCache struct {
	once   sync.Once
	traces []*Trace
	err    error
}

func builtinTraces(t testing.TB) []*Trace {
	c := &builtinCache
	c.once.Do(func() {
		// Scenarios documented safe are skipped: their verdicts are the
		// kinds' tests' business, and exploring them to the end costs
		// minutes.
		var all []catalog.Scenario
		for _, s := range catalog.Builtin() {
			if s.Expect == "" || !strings.HasPrefix(s.Expect, "safe") {
				all = append(all, s)
			}
		}
		found := make([]*Trace, len(all))
		errs := make([]error, len(all))
		parallel(len(all), func(i int) { found[i], errs[i] = findCounterexample(all[i]) })
		for i := range all {
			if errs[i] != nil && c.err == nil {
				c.err = fmt.Errorf("%s: %v", all[i].Name, errs[i])
			}
			if found[i] != nil {
				c.traces = append(c.traces, found[i])
			}
		}
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	if len(c.traces) == 0 {
		t.Fatal("the built-in catalog has no counterexample at all")
	}
	return c.traces
}

// Every counterexample of the built-in catalog survives encoding and
// decoding and replays to the same violation at the same step.
func TestBuiltinCounterexamplesReplay(t *testing.T) {
	for _, tr := range builtinTraces(t) {
		t.Run(tr.Scenario.Name, func(t *testing.T) {
			data, err := tr.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode("x.json", data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Replay(back)
			if err != nil {
				t.Fatal(err)
			}
			f := got.Record.Failure
			if f.Property != tr.Property || f.Step != tr.Step || f.Message != tr.Message || got.MessageChanged {
				t.Fatalf("replayed %s at step %d (%s), recorded %s at %d", f.Property, f.Step, f.Message, tr.Property, tr.Step)
			}
			if len(got.Record.Steps) != tr.Length || got.Record.Preemptions != tr.Preemptions {
				t.Fatalf("replay has %d steps, %d preemptions; recorded %d, %d", len(got.Record.Steps), got.Record.Preemptions, tr.Length, tr.Preemptions)
			}
		})
	}
}

// Minimisation never lengthens a trace, keeps the property failing and
// gives a trace that replays exactly: over every counterexample of the
// built-in catalog as found by its own strategy, and as found by random
// walks (which find long, preemption-heavy ones). The median shrink ratios
// are logged (go test -v -run MinimizeBuiltin).
func TestMinimizeBuiltin(t *testing.T) {
	own := builtinTraces(t)
	random := make([]*Trace, len(own))
	parallel(len(own), func(i int) {
		s := own[i].Scenario
		s.Explore = &catalog.Bounds{Strategy: "random", Seed: 1, MaxExecutions: 200, MaxSteps: own[i].Bounds.MaxSteps}
		random[i], _ = findCounterexample(s)
	})
	random = slices.DeleteFunc(random, func(t *Trace) bool { return t == nil })
	for _, set := range []struct {
		name   string
		traces []*Trace
	}{{"own strategy", own}, {"random walks", random}} {
		mins := make([]*Trace, len(set.traces))
		errs := make([]error, len(set.traces))
		parallel(len(set.traces), func(i int) {
			mins[i], errs[i] = Minimize(set.traces[i], MinimizeOptions{MaxReplays: 400, TimeLimit: 3 * time.Second, NoScenarioShrink: true})
		})
		var ratios, pre []float64
		for i, tr := range set.traces {
			min, err := mins[i], errs[i]
			if err != nil {
				t.Fatalf("%s: %v", tr.Scenario.Name, err)
			}
			if min.Length > tr.Length {
				t.Errorf("%s: minimisation lengthened the trace from %d to %d steps", tr.Scenario.Name, tr.Length, min.Length)
			}
			if min.Property != tr.Property {
				t.Errorf("%s: minimisation changed the property from %s to %s", tr.Scenario.Name, tr.Property, min.Property)
			}
			if _, err := Replay(min); err != nil {
				t.Errorf("%s: the minimised trace does not replay: %v", tr.Scenario.Name, err)
			}
			ratios = append(ratios, float64(min.Length)/float64(max(tr.Length, 1)))
			if tr.Preemptions > 0 {
				pre = append(pre, float64(min.Preemptions)/float64(tr.Preemptions))
			}
			t.Logf("%s: %-50s %3d → %3d steps, %2d → %d preemptions (%d replays)", set.name, tr.Scenario.Name, tr.Length, min.Length, tr.Preemptions, min.Preemptions, min.Minimized.Replays)
		}
		if len(ratios) > 0 {
			slices.Sort(ratios)
			slices.Sort(pre)
			t.Logf("%s: median shrink ratio (minimised/original steps) over %d counterexamples: %.2f", set.name, len(ratios), ratios[len(ratios)/2])
			if len(pre) > 0 {
				t.Logf("%s: median preemption ratio over %d counterexamples with preemptions: %.2f", set.name, len(pre), pre[len(pre)/2])
			}
		}
	}
}

// Minimising a minimised trace again changes nothing for the worse.
func TestMinimizeIdempotent(t *testing.T) {
	for _, name := range []string{"engine/lost-update", "engine/peterson-broken"} {
		s, _ := catalog.Find(name)
		tr := counterexample(t, s)
		min, err := Minimize(tr, MinimizeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		again, err := Minimize(min, MinimizeOptions{})
		if err != nil || again.Length > min.Length || again.Preemptions > min.Preemptions {
			t.Fatalf("%s: second minimisation: %v, %d > %d steps", name, err, again.Length, min.Length)
		}
	}
}

// A lengthy counterexample (found by random walks) shrinks.
func TestMinimizeShrinksRandomWalk(t *testing.T) {
	s, _ := catalog.Find("engine/peterson-broken")
	prog, _ := catalog.Build(s)
	// Pad the program with idle threads so random walks wander.
	padded := func(sys *explore.System) {
		prog(sys)
		for i := range 3 {
			v := explore.NewVar(sys, fmt.Sprintf("pad%d", i), 0)
			sys.Go(fmt.Sprintf("pad%d", i), func(t *explore.Thread) {
				for k := range 4 {
					v.Store(t, k)
				}
			})
		}
	}
	res := explore.Explore(padded, explore.Options{Strategy: explore.Random, Seed: 7, MaxExecutions: 1000})
	if res.Failure == nil {
		t.Fatal("random walks found nothing")
	}
	m := &minimizer{prog: padded, property: res.Failure.Property, budget: 3000, deadline: time.Now().Add(10 * time.Second)}
	rec, err := explore.Replay(padded, res.Schedule, explore.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]PassCount, len(passes))
	best := m.shrink(rec, counts)
	tried, accepted := 0, 0
	for _, c := range counts {
		if c.Accepted > c.Tried {
			t.Errorf("pass %+v accepted more than it tried", c)
		}
		tried, accepted = tried+c.Tried, accepted+c.Accepted
	}
	// Every candidate is replayed at least once (more when repaired).
	if accepted == 0 || tried > m.replays {
		t.Errorf("passes tried %d, accepted %d candidates in %d replays: %+v", tried, accepted, m.replays, counts)
	}
	if len(best.Steps) > len(rec.Steps) || best.Preemptions > rec.Preemptions || best.Failure == nil || best.Failure.Property != "mutual-exclusion" {
		t.Fatalf("shrink gave %d steps/%d preemptions from %d/%d", len(best.Steps), best.Preemptions, len(rec.Steps), rec.Preemptions)
	}
	if len(best.Steps) >= len(rec.Steps) && best.Preemptions >= rec.Preemptions {
		t.Fatalf("no shrink: %d steps, %d preemptions\n%s", len(best.Steps), best.Preemptions, best.Format())
	}
	t.Logf("random walk: %d steps, %d preemptions → %d steps, %d preemptions\n%s", len(rec.Steps), rec.Preemptions, len(best.Steps), best.Preemptions, best.Format())
}

type fakeShrinker struct{ candidates []catalog.Scenario }

func (f fakeShrinker) Shrink(s catalog.Scenario) []catalog.Scenario {
	if strings.HasSuffix(s.Name, "(shrunk)") {
		return nil
	}
	return f.candidates
}

// A kind's Shrinker is consulted: a candidate that no longer fails is
// skipped, one that fails the same property is adopted.
func TestMinimizeShrinker(t *testing.T) {
	s, _ := catalog.Find("engine/lost-update")
	tr := counterexample(t, s)
	safe, _ := catalog.Find("engine/peterson")
	smaller := s
	smaller.Name = s.Name + " (shrunk)"
	min, err := Minimize(tr, MinimizeOptions{Shrinker: fakeShrinker{[]catalog.Scenario{safe, smaller}}})
	if err != nil {
		t.Fatal(err)
	}
	if min.Scenario.Name != smaller.Name || min.Minimized.FromScenario != s.Name {
		t.Fatalf("got scenario %q from %q", min.Scenario.Name, min.Minimized.FromScenario)
	}
	if _, err := Replay(min); err != nil {
		t.Fatal(err)
	}
	// The description says what was shrunk, not what the original had.
	if want := "engine/lost-update shrunk by minimize: the same parameters; the original: two unsynchronised increments"; min.Scenario.Description != want {
		t.Fatalf("description %q, want %q", min.Scenario.Description, want)
	}
}

func TestShrunkDescription(t *testing.T) {
	orig := catalog.Scenario{Name: "x", Description: "2 CPUs, 1 NMI", Params: []byte(`{"cpus": 2, "nmis": 1, "fetch": "bytewise"}`)}
	small := catalog.Scenario{Name: "x [shrunk]", Params: []byte(`{"cpus": 1, "fetch": "bytewise"}`)}
	if got, want := shrunkDescription(orig, small), "x shrunk by minimize: cpus 2 → 1, nmis 1 → (default); the original: 2 CPUs, 1 NMI"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestWriteRead(t *testing.T) {
	s, _ := catalog.Find("engine/lost-update")
	tr := counterexample(t, s)
	path := filepath.Join(t.TempDir(), FileName(s.Name))
	if err := Write(path, tr); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Schedule != tr.Schedule || back.Scenario.Name != tr.Scenario.Name {
		t.Fatalf("read back %+v", back)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if FileName("x86/a b") != "x86_a_b.trace.json" {
		t.Fatal(FileName("x86/a b"))
	}
}

func validTrace(t testing.TB) []byte {
	s, _ := catalog.Find("engine/lost-update")
	data, err := counterexample(t, s).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeErrors(t *testing.T) {
	good := string(validTrace(t))
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"truncated", good[:len(good)/2], "unexpected end of file"},
		{"garbage", "{,}", "invalid JSON"},
		{"not a trace", `{"name": "x"}`, `no "format" field`},
		{"wrong format", strings.Replace(good, `"klpcheck-trace"`, `"other"`, 1), `format is "other"`},
		{"wrong version", strings.Replace(good, `"version": 1`, `"version": 99`, 1), "trace format version 99"},
		{"old model", strings.Replace(good, fmt.Sprintf(`"model_version": %d`, ModelVersion), `"model_version": 0`, 1), "recorded against model version 0"},
		{"unknown field", strings.Replace(good, `"format"`, `"colour": 1, "format"`, 1), `unknown field "colour"`},
		{"bad schedule", strings.Replace(good, `"schedule": "`, `"schedule": "x.`, 1), `schedule: decision 0 is "x"`},
		{"bad kind", strings.Replace(good, `"kind": "engine"`, `"kind": "vax"`, 1), `unknown scenario kind "vax"`},
		{"bad verdict", strings.Replace(good, `"verdict": "violation"`, `"verdict": "safe"`, 1), `verdict: "safe"`},
		{"type", strings.Replace(good, `"step": `, `"step": "x", "y": `, 1), "step: want int"},
		{"trailing", good + "{}", "after top-level value"},
		{"failed_at_step", strings.Replace(good, `"failed_at_step": `, `"failed_at_step": 1`, 1), "failed_at_step: 1"},
		{"long schedule", strings.Replace(good, `"schedule": "`, `"schedule": "`+strings.Repeat("0.", 8*10000), 1), "schedule: 80004 decisions, more than a run of at most 10000 steps can make"},
		{"long schedule, own bound", strings.Replace(good, `"bounds": {`, `"bounds": {"max_steps": 2,`, 1), "length: 4 steps, more than the step bound of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("t.json", []byte(tc.in))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "t.json") {
				t.Fatalf("got  %q\nwant %q", err, tc.want)
			}
		})
	}
}

// A schedule that no longer fits the program is reported with where and
// why it diverged.
func TestReplayDivergence(t *testing.T) {
	s, _ := catalog.Find("engine/lost-update")
	tr := counterexample(t, s)
	bad := *tr
	bad.Schedule = "0.0.0.0.0.0.0.0.0.0.0"
	_, err := Replay(&bad)
	var mm *Mismatch
	if !errors.As(err, &mm) || mm.Diverged == nil || !strings.Contains(err.Error(), "replay diverged at decision") {
		t.Fatalf("got %v", err)
	}
	// A schedule that runs to the end without failing.
	safe := *tr
	safe.Schedule = "0.0.1.1"
	if _, err := Replay(&safe); err == nil || !strings.Contains(err.Error(), "replay did not fail") {
		t.Fatalf("got %v", err)
	}
	wrongStep := *tr
	wrongStep.Step++
	if _, err := Replay(&wrongStep); err == nil || !strings.Contains(err.Error(), "instead of at step") {
		t.Fatalf("got %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(validTrace(f))
	f.Add([]byte(`{"format": "klpcheck-trace", "version": 1, "model_version": 1}`))
	f.Add([]byte(`{"format": "klpcheck-trace", "version": 2}`))
	f.Add([]byte(`{"format": "klpcheck-trace", "version": 1, "model_version": 1, "scenario": {"name": "a", "kind": "engine", "params": {"program": "lost-update"}}, "strategy": "dpor", "verdict": "violation", "property": "lost-update", "schedule": "0.1.0.1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Decode("fuzz.json", data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		// A decoded trace can be replayed without a panic (it may
		// mismatch) and rendered.
		if got, err := Replay(tr); err == nil || got != nil {
			if got != nil {
				var b bytes.Buffer
				WriteText(&b, tr, NewTimeline(got.Record), TextOptions{})
			}
		}
	})
}

// goldenScenarios are the counterexamples rendered as golden text, one
// per kind, explored with a deterministic budget (executions, no time
// limit).
var goldenScenarios = map[string]string{
	"engine":    "engine/lost-update",
	"x86":       "x86/no-sync1/bytewise/inside-line",
	"livepatch": "livepatch/s3-cpu-bound-kthread-pre-6.4",
	"fentry":    "fentry/history/2019-fentry-skip/buggy-livepatch",
	"arm64":     "arm64/jump-label-2024/1cpu",
	"riscv":     "riscv/ftrace-pair-preempt/1cpu",
}

// Golden text renderings of counterexamples (testdata/text-<kind>.txt).
func TestTextGolden(t *testing.T) {
	for _, k := range catalog.Kinds() {
		if len(k.Builtin()) == 0 {
			t.Logf("no %s scenarios in the built-in catalog yet: no golden rendering", k.Name())
			continue
		}
		name := goldenScenarios[k.Name()]
		s, ok := catalog.Find(name)
		if !ok {
			t.Fatalf("the golden scenario %q of kind %s is not in the catalog: pick another in goldenScenarios", name, k.Name())
		}
		prog, err := catalog.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		opts, _ := s.Explore.Options()
		opts.MaxExecutions = 200000
		res := explore.Explore(prog, opts)
		if res.Failure == nil {
			t.Fatalf("%s: no counterexample (%s): pick another golden scenario", name, res.Verdict)
		}
		tr, err := New(s, opts, res)
		if err != nil {
			t.Fatal(err)
		}
		tr.Executions = 0
		got, err := Replay(tr)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteText(&b, tr, NewTimeline(got.Record), TextOptions{}); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "text-"+k.Name()+".txt"), b.Bytes())
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want []string
	}{
		{"short", 10, []string{"short"}},
		{"one two three four", 9, []string{"one two", "three", "four"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"  note with many words here", 14, []string{"  note with", "    many words", "    here"}},
	} {
		if got := wrap(tc.in, tc.w); !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}

// registerHistory is a linearizability history of an atomic register with
// a new→old inversion: porcupine finds it illegal.
func registerHistory() *History {
	type in struct {
		write bool
		v     int
	}
	m := porcupine.Model{
		Init: func() any { return 0 },
		Step: func(state, input, output any) (bool, any) {
			i := input.(in)
			if i.write {
				return true, i.v
			}
			return output.(int) == state.(int), state
		},
		DescribeOperation: func(input, output any) string {
			i := input.(in)
			if i.write {
				return fmt.Sprintf("write(%d)", i.v)
			}
			return fmt.Sprintf("read() -> %d", output.(int))
		},
	}
	return &History{Model: m, Operations: []porcupine.Operation{
		{ClientId: 0, Input: in{true, 1}, Call: 0, Output: 0, Return: 100},
		{ClientId: 1, Input: in{false, 0}, Call: 10, Output: 1, Return: 20},
		{ClientId: 2, Input: in{false, 0}, Call: 30, Output: 0, Return: 40},
	}, Annotations: []porcupine.Annotation{{Tag: "writer", Start: 50, End: 50, Description: "sync_core IPI"}}}
}

type htmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []htmlNode `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *htmlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *htmlNode) find(tag, id string) *htmlNode {
	if n.XMLName.Local == tag && (id == "" || n.attr("id") == id) {
		return n
	}
	for i := range n.Nodes {
		if f := n.Nodes[i].find(tag, id); f != nil {
			return f
		}
	}
	return nil
}

func (n *htmlNode) count(tag string) int {
	c := 0
	if n.XMLName.Local == tag {
		c++
	}
	for i := range n.Nodes {
		c += n.Nodes[i].count(tag)
	}
	return c
}

func parseHTML(t *testing.T, page []byte) *htmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(page, []byte("<!DOCTYPE html>\n"))))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var root htmlNode
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return &root
}

// The HTML page holds the timeline and, for a history property,
// porcupine's data; it loads nothing from the network.
func TestHTML(t *testing.T) {
	s, _ := catalog.Find("engine/lost-update")
	tr := counterexample(t, s)
	got, err := Replay(tr)
	if err != nil {
		t.Fatal(err)
	}
	tl := NewTimeline(got.Record)
	for _, hist := range []*History{nil, registerHistory()} {
		var b bytes.Buffer
		if err := WriteHTML(&b, tr, tl, hist); err != nil {
			t.Fatal(err)
		}
		root := parseHTML(t, b.Bytes())
		table := root.find("table", "timeline")
		if table == nil {
			t.Fatal("no timeline table")
		}
		if rows := table.count("tr"); rows != tr.Length+1 {
			t.Fatalf("timeline has %d rows, want %d steps + header", rows, tr.Length)
		}
		if th := table.count("th"); th != len(tl.Threads)+1 {
			t.Fatalf("timeline has %d header cells for %d threads", th, len(tl.Threads))
		}
		frame := root.find("iframe", "porcupine")
		if hist == nil {
			if frame != nil {
				t.Fatal("a porcupine frame without a history")
			}
		} else {
			if frame == nil {
				t.Fatal("no porcupine frame")
			}
			doc := frame.attr("srcdoc")
			if !strings.Contains(doc, "const data = {") || !strings.Contains(doc, `"Description":"read() -\u003e 0"`) && !strings.Contains(doc, `read() -\u003e 0`) && !strings.Contains(doc, "read() -> 0") {
				t.Fatalf("the porcupine frame holds no history data: %.300s", doc)
			}
			if !strings.Contains(b.String(), "porcupine: Illegal") {
				t.Fatal("the page does not say the history is illegal")
			}
		}
		for _, u := range []string{"https://", "http://"} {
			for _, m := range strings.SplitAfter(b.String(), u)[1:] {
				if !strings.HasPrefix(m, "www.w3.org/") {
					t.Fatalf("external URL in the page: %s%.40s", u, m)
				}
			}
		}
	}
}

func TestParamShrinker(t *testing.T) {
	s := catalog.Scenario{Name: "e", Kind: "engine", Params: []byte(`{"program": "writers", "n": 3}`)}
	got := ParamShrinker{Fields: []CountField{{"n", 0}, {"program", 0}, {"missing", 0}}}.Shrink(s)
	if len(got) != 1 || string(got[0].Params) != `{"n":2,"program":"writers"}` || got[0].Name != "e [shrunk: n=2]" {
		t.Fatalf("got %+v", got)
	}
	again := ParamShrinker{Fields: []CountField{{"n", 0}}}.Shrink(got[0])
	if len(again) != 1 || again[0].Name != "e [shrunk: n=2, n=1]" {
		t.Fatalf("got %+v", again)
	}
	// n=0 is out of range for the engine kind: no candidate.
	if c := (ParamShrinker{Fields: []CountField{{"n", 0}}}).Shrink(again[0]); len(c) != 0 {
		t.Fatalf("an invalid candidate was offered: %+v", c)
	}
	if c := (ParamShrinker{}).Shrink(catalog.Scenario{Name: "x", Kind: "engine"}); c != nil {
		t.Fatalf("got %+v", c)
	}
	// A field at its minimum is left alone.
	if c := (ParamShrinker{Fields: []CountField{{"n", 2}}}).Shrink(got[0]); len(c) != 0 {
		t.Fatalf("shrunk below the minimum: %+v", c)
	}
}

// Random x86 scenarios explored by random walks: every counterexample
// survives encoding, replays to the same failure at the same step, and
// minimises to a trace no longer that still fails the same property.
func TestRandomScenariosReplayAndMinimize(t *testing.T) {
	if _, err := catalog.KindOf("x86"); err != nil || len(catalog.X86().Builtin()) == 0 {
		t.Skip("no x86 model")
	}
	found := 0
	rapid.Check(t, func(rt *rapid.T) {
		p := map[string]any{
			"cpus":  rapid.IntRange(1, 2).Draw(rt, "cpus"),
			"nmis":  rapid.IntRange(0, 1).Draw(rt, "nmis"),
			"fetch": rapid.SampledFrom([]string{"bytewise", "block:16", "stale:64"}).Draw(rt, "fetch"),
			"old":   "0f 1f 44 00 00",
			"new":   "e8 e7 57 07 00",
		}
		switch rapid.IntRange(0, 2).Draw(rt, "writer") {
		case 0:
			p["variant"] = "naive-copy"
		case 1:
			p["disable"] = []string{rapid.SampledFrom([]string{"sync1", "sync2", "sync3"}).Draw(rt, "disable")}
		}
		params, _ := json.Marshal(p)
		s := catalog.Scenario{Name: "random", Kind: "x86", Params: params,
			Explore: &catalog.Bounds{Strategy: "random", Seed: rapid.Uint64Range(0, 1000).Draw(rt, "seed"), MaxExecutions: 50, MaxSteps: 2000}}
		tr, err := findCounterexample(s)
		if err != nil {
			rt.Fatalf("%s: %v", params, err)
		}
		if tr == nil {
			return
		}
		found++
		data, _ := tr.Encode()
		back, err := Decode("r.json", data)
		if err != nil {
			rt.Fatal(err)
		}
		if _, err := Replay(back); err != nil {
			rt.Fatalf("%s: %v", params, err)
		}
		min, err := Minimize(back, MinimizeOptions{MaxReplays: 200, TimeLimit: 2 * time.Second, NoScenarioShrink: true})
		if err != nil {
			rt.Fatalf("%s: %v", params, err)
		}
		if min.Length > tr.Length || min.Property != tr.Property {
			rt.Fatalf("%s: minimised %s %d steps from %s %d", params, min.Property, min.Length, tr.Property, tr.Length)
		}
		if _, err := Replay(min); err != nil {
			rt.Fatalf("%s: minimised trace: %v", params, err)
		}
	})
	t.Logf("%d counterexamples found, replayed and minimised", found)
	// Two writers in three are broken: finding none means the property
	// above was checked on nothing.
	if found == 0 {
		t.Error("no random scenario had a counterexample: nothing was replayed or minimised")
	}
}

// The timeline's step number is in the file too, beside the count.
func TestFailedAtStep(t *testing.T) {
	good := string(validTrace(t))
	if !strings.Contains(good, `"step": 4,
  "failed_at_step": 3,`) {
		t.Fatalf("no failed_at_step = step-1:\n%s", good)
	}
	// Traces written before the field existed still read.
	old := strings.Replace(good, `"failed_at_step": 3,`, "", 1)
	if _, err := Decode("old.json", []byte(old)); err != nil {
		t.Fatal(err)
	}
}

// A file far larger than any trace is refused without reading it.
func TestReadRefusesHugeFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "larger than any trace") {
		t.Fatalf("got %v", err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/internal/golden"
)

var wholeCatalog = flag.Bool("catalog", false, "run the whole built-in catalog (minutes) and require exit status 0")

// TestMain lets a test run the command as a child process (for signals):
// with KLPCHECK_TEST_MAIN=1 the test binary is klpcheck.
func TestMain(m *testing.M) {
	if os.Getenv("KLPCHECK_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// writeFile writes a scenario file into a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The exit status reports whether verdicts match expectations: 0 when all
// do; 1 when one verdict is made to differ, with the scenario listed.
func TestExitStatusExpectations(t *testing.T) {
	good := "testdata/expect.json"
	out, _ := expect(t, []string{"check", good}, 0, []string{"violation lost-update 4/1", "expectations: 2 as expected, 0 differ", "OK: every verdict is as its scenario expects"}, nil)
	if strings.Contains(out, "(!)") {
		t.Fatalf("a mark of a differing verdict:\n%s", out)
	}
	data, _ := os.ReadFile(good)
	// The same file with one expectation made wrong.
	bad := writeFile(t, "bad.json", strings.Replace(string(data), `"expect": "safe"`, `"expect": "violation:mutual-exclusion"`, 1))
	out, _ = expect(t, []string{"check", bad}, 1, []string{
		"safe (!)",
		"differs from the scenario's expectation (exit status 1)",
		"FAIL: 1 scenarios:",
		"e/peterson: got safe, expected violation:mutual-exclusion",
	}, nil)
	if strings.Contains(out, "OK:") {
		t.Fatalf("OK printed for a failing run:\n%s", out)
	}
	// --json says the same.
	out, _ = expect(t, []string{"check", "--json", bad}, 1, nil, nil)
	var v struct {
		Results []checkResult
		Summary summary
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Summary.Failing != 1 || v.Summary.Expectations["differs"] != 1 || v.Results[1].Status != "differs" || !v.Results[1].Unexpected || v.Results[0].Status != "as-expected" {
		t.Fatalf("got %+v", v)
	}

	// Without an expectation a violation fails, a safe verdict does not.
	noExp := writeFile(t, "none.json", `[{"name": "n/lost-update", "kind": "engine", "params": {"program": "lost-update"}},
 {"name": "n/peterson", "kind": "engine", "params": {"program": "peterson"}}]`)
	expect(t, []string{"check", noExp}, 1, []string{"n/lost-update: violation:lost-update (the scenario has no expectation)", "0 as expected, 0 differ, 0 undecided (incomplete), 2 scenarios have none"}, nil)
	expect(t, []string{"check", "--run", "n/peterson", noExp}, 0, []string{"OK"}, nil)

	// An incomplete search of a scenario with an expectation did not
	// confirm it: 1, unless --allow-incomplete.
	expect(t, []string{"check", "--run", "e/peterson", "--strategy", "random", "--max-executions", "5", good}, 1,
		[]string{"incomplete (sampled)", "e/peterson: incomplete (sampled), expected safe (--allow-incomplete accepts this)"}, nil)
	expect(t, []string{"check", "--run", "e/peterson", "--strategy", "random", "--max-executions", "5", "--allow-incomplete", good}, 0,
		[]string{"incomplete (sampled)", "1 undecided"}, nil)
}

// The whole built-in catalog, as the README runs it, exits 0 on a healthy
// tree (every buggy variant fails as expected, every fix holds), and its
// verdicts and counts are those of testdata/catalog.txt (-rewrite writes
// them). It explores the whole catalog (minutes on 2 cores, too long for
// every `go test ./...`), so it runs only with -catalog: .ci/run's
// catalog gate runs it.
func TestWholeCatalog(t *testing.T) {
	if !*wholeCatalog {
		t.Skip("run with -catalog to explore the whole built-in catalog (minutes)")
	}
	code, out, errs := klp(t, "check", "--json", "-q")
	var v struct{ Results []*checkResult }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("klpcheck check --json: %v\n%s", err, errs)
	}
	if code != exitOK {
		var b strings.Builder
		printTables(&b, v.Results, summarize(v.Results, checkFlags{}), checkFlags{})
		t.Errorf("klpcheck check: exit %d, want 0\n%s%s", code, b.String(), errs)
	}
	if len(v.Results) != len(catalog.Builtin()) {
		t.Errorf("%d results for the %d built-in scenarios", len(v.Results), len(catalog.Builtin()))
	}
	golden.Check(t, "testdata/catalog.txt", []byte(catalogVerdicts(v.Results)))
}

// catalogVerdicts renders a catalog run's deterministic figures, one
// scenario a line: the verdict (and property), the counterexample's
// steps/preemptions, and the search's executions, pruned and truncated
// ones (the complete executions are the rest).
func catalogVerdicts(results []*checkResult) string {
	var b strings.Builder
	b.WriteString("# scenario | verdict | steps/preemptions | executions pruned truncated\n")
	for _, r := range results {
		cex := "-"
		if r.Verdict == explore.Violation || r.Verdict == explore.Stuck {
			cex = fmt.Sprintf("%d/%d", r.Length, r.Preemptions)
		}
		fmt.Fprintf(&b, "%s | %s | %s | %d %d %d\n", r.Scenario, r.outcome(), cex, r.Stats.Executions, r.Stats.Pruned, r.Stats.Truncated)
	}
	return b.String()
}

// Every bounded cell says so, and the JSON carries the bound.
func TestCellsSayWhatTheyCover(t *testing.T) {
	expect(t, []string{"check", "--run", "engine/peterson", "--strategy", "bounded", "--max-preemptions", "1"}, 0,
		[]string{"peterson         safe≤1p", "safe≤Np           every interleaving with at most N preemptions"}, nil)
	// When the bound cut nothing, the verdict is exhaustive: plain "safe".
	for _, tc := range []struct {
		args []string
		cell string
	}{
		{[]string{"--run", "engine/writers-4", "--max-steps", "3"}, "incomplete (steps)"},
		{[]string{"--run", "engine/writers-4", "--max-executions", "2"}, "incomplete (execs)"},
		{[]string{"--run", "engine/peterson", "--strategy", "pct", "--max-executions", "3"}, "incomplete (sampled)"},
		{[]string{"--run", "engine/writers-4", "--time-limit", "1ns"}, "incomplete (time)"},
	} {
		out, _ := expect(t, append([]string{"check", "--allow-incomplete"}, tc.args...), 0, []string{tc.cell}, nil)
		if strings.HasPrefix(tc.cell, "incomplete (") && !strings.Contains(out, "   "+tc.cell+" ") {
			t.Errorf("%v: no legend line for %s:\n%s", tc.args, tc.cell, out)
		}
	}
	// Two threads of one write each: no preemption is possible, so the
	// bound cut nothing and the verdict is exhaustive.
	two := writeFile(t, "two.json", `{"name": "w2", "kind": "engine", "params": {"program": "writers", "n": 2}}`)
	expect(t, []string{"check", "--strategy", "bounded", "--max-preemptions", "1", two}, 0, []string{"w2        safe     2"}, nil)
	out, _ := expect(t, []string{"check", "--json", "--run", "engine/peterson,engine/lastzero-5", "--strategy", "bounded", "--max-preemptions", "1"}, 0, nil, nil)
	var v struct{ Results []checkResult }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Results {
		if r.Verdict == explore.Safe && (r.PreemptionBound == nil || *r.PreemptionBound != 1 || r.Exhaustive) {
			t.Errorf("%s: safe under ≤1 preemption, JSON says %+v", r.Scenario, r)
		}
	}
	out, _ = expect(t, []string{"check", "--json", "--run", "engine/peterson"}, 0, []string{`"exhaustive": true`}, nil)
	if strings.Contains(out, "preemption_bound") {
		t.Fatalf("a DPOR verdict with a preemption bound:\n%s", out)
	}
}

// The engine's reasons for an incomplete verdict are classified (this
// pins its wording: a change shows here, not as "incomplete (bound)").
func TestClassifyCut(t *testing.T) {
	intr := make(chan struct{})
	close(intr)
	for _, tc := range []struct {
		opts explore.Options
		want string
	}{
		{explore.Options{MaxSteps: 3}, cutSteps},
		{explore.Options{MaxExecutions: 2}, cutExecutions},
		{explore.Options{Strategy: explore.Random, MaxExecutions: 3}, cutSampled},
		{explore.Options{Strategy: explore.Bounded, MaxExecutions: 2}, cutExecutions},
		{explore.Options{TimeLimit: time.Nanosecond}, cutTime},
		{explore.Options{Interrupt: intr}, cutInterrupted},
	} {
		res := explore.Explore(explore.Writers(4), tc.opts)
		if res.Verdict != explore.Incomplete {
			t.Fatalf("%+v: %s", tc.opts, res.Verdict)
		}
		if got := classifyCut(res.Reason, tc.opts.MaxExecutions); got != tc.want {
			t.Errorf("%+v: reason %q classified %q, want %q", tc.opts, res.Reason, got, tc.want)
		}
	}
}

// A bound given is honoured or rejected, never silently the default.
func TestZeroIsAValue(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-preemptions", "0"}, "--max-preemptions 0: the engine's bounded strategy cannot stop at 0 preemptions"},
		{[]string{"--max-steps", "0"}, "--max-steps 0: an execution needs at least one step"},
		{[]string{"--max-executions", "0"}, "--max-executions 0: a search needs at least one execution"},
		{[]string{"--time-limit", "0s"}, "want a positive duration"},
		{[]string{"--time-limit", "5"}, `"5" has no unit: use a unit, e.g. 5s`},
		{[]string{"--time-limit", "soon"}, `"soon" is not a duration`},
		{[]string{"--seed", "1x"}, `"1x" is not a non-negative integer`},
	} {
		expect(t, append([]string{"check", "--run", "engine/peterson"}, tc.args...), 2, nil, []string{tc.want})
	}
	// A seed of 0 is a seed, honoured like any other.
	expect(t, []string{"check", "--run", "engine/lost-update", "--strategy", "random", "--seed", "0", "--max-executions", "50"}, 0, []string{"violation lost-update"}, nil)
	// --max-preemptions 1 is honoured (the default would be 3).
	expect(t, []string{"check", "--run", "engine/peterson", "--strategy", "bounded", "--max-preemptions", "1"}, 0, []string{"safe≤1p"}, nil)
}

// Two scenarios that would write the same trace file, or share a name,
// are refused before anything runs.
func TestUniqueNames(t *testing.T) {
	f := writeFile(t, "clash.json", `[{"name": "a/b", "kind": "engine", "params": {"program": "lost-update"}},
 {"name": "a_b", "kind": "engine", "params": {"program": "lost-update"}}]`)
	expect(t, []string{"check", "--traces", t.TempDir(), f}, 2, nil, []string{`scenarios "a/b" and "a_b" would both write the trace a_b.trace.json`})
	// Without --traces nothing is written, so nothing clashes.
	expect(t, []string{"check", f}, 1, []string{"a_b"}, nil)
	g := writeFile(t, "again.json", `{"name": "a/b", "kind": "engine", "params": {"program": "peterson"}}`)
	expect(t, []string{"check", f, g}, 2, nil, []string{`scenario "a/b" is defined in ` + f + " and in " + g})
	// The same built-in table selected twice runs once.
	expect(t, []string{"check", "engine", "engine"}, 0, []string{"== engine: 9 scenarios"}, nil)
}

// A filter that matches no table, variant or fetch model names itself and
// what it could have matched.
func TestFilterTypos(t *testing.T) {
	expect(t, []string{"check", "--fetch", "quantum"}, 2, nil, []string{`--fetch: "quantum" matches no fetch model (column) of the selected scenarios (have: `, "bytewise"})
	expect(t, []string{"check", "engine", "--variant", "peterson,nope"}, 2, nil, []string{`--variant: "nope" matches no variant`})
}

// Verdict tables fit 120 columns unless --wide.
func TestWidth(t *testing.T) {
	args := []string{"check", "--table", "x86 protocol*", "--variant", "-sync3,naive-atomic"}
	out, _ := expect(t, args, 0, []string{"-- columns 1–", "(rows with none of them left out)"}, nil)
	for _, l := range strings.Split(out, "\n") {
		if runes(l) > defaultWidth {
			t.Errorf("line of %d columns: %q", runes(l), l)
		}
	}
	// Every cell is still there.
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-sync3 ") {
			n += strings.Count(l, "violation stray-int3 ")
		}
	}
	if n != 9 {
		t.Errorf("%d -sync3 cells, want 9:\n%s", n, out)
	}
	out, _ = expect(t, append(args, "--wide"), 0, nil, nil)
	longest := 0
	for _, l := range strings.Split(out, "\n") {
		longest = max(longest, runes(l))
	}
	if longest <= defaultWidth || strings.Contains(out, "-- columns") {
		t.Errorf("--wide printed no line longer than %d, or split the table:\n%s", defaultWidth, out)
	}
}

// The summary labels wall, CPU and summed search time.
func TestTimesLabelled(t *testing.T) {
	expect(t, []string{"check", "engine"}, 0, []string{"time: wall ", ", CPU ", "(user+system)", "summed over the scenarios' searches (2 workers)"}, nil)
	out, _ := expect(t, []string{"check", "--json", "engine", "--workers", "1"}, 0, []string{`"wall_ns"`, `"cpu_ns"`, `"workers": 1`}, nil)
	_ = out
}

// SIGINT stops the run: the tables show what finished (the scenario cut
// short as "incomplete (interrupted)"), the scenarios not run are
// listed, the traces of finished scenarios are valid, and the exit status
// is 130 (143 for SIGTERM).
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", exitInterrupted}, {syscall.SIGTERM, "SIGTERM", exitTerminated}} {
		t.Run(tc.name, func(t *testing.T) { testInterrupt(t, tc.sig, tc.name, tc.code) })
	}
}

func testInterrupt(t *testing.T, sig syscall.Signal, name string, want int) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "check", "--workers", "1", "--traces", dir, "testdata/interrupt.json")
	cmd.Env = append(os.Environ(), "KLPCHECK_TEST_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first scenario's trace appears once it finished; the second
	// (16! interleavings) is running then.
	trace := filepath.Join(dir, "t_lost-update.trace.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(trace); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no trace after 60s:\n%s%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != want {
		t.Fatalf("exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", code, err, want, out.String(), errb.String())
	}
	for _, want := range []string{
		"t/lost-update  violation lost-update 4/1",
		"t/writers-16   incomplete (interrupted)",
		"incomplete (interrupted)  no verdict: stopped by SIGINT or SIGTERM",
		"interrupted by " + name + ": 2 of 3 scenarios ran (1 of them cut short); not run:\n  t/peterson\n",
		"trace: " + trace,
		"INTERRUPTED: the verdicts above are those of the scenarios that finished",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	// The trace written before the signal replays.
	expect(t, []string{"replay", trace}, 1, []string{"reproduced: violation lost-update"}, nil)
}

// The event log of a livepatch execution can be printed and asserted:
// expect_log, exact and in order, like the selftests' check_result.
func TestEventLog(t *testing.T) {
	const file = "testdata/selftest-log.json"
	expect(t, []string{"log", file}, 0, []string{
		"# selftest/basic-function-patching: the default execution: complete",
		"% insmod test_modules/test_klp_livepatch.ko\nlivepatch: enabling patch 'test_klp_livepatch'\n",
	}, nil)
	expect(t, []string{"log", "--check", file}, 0, []string{"# the log is as expect_log says (12 lines)"}, nil)
	expect(t, []string{"check", file}, 0, []string{"event logs (expect_log): 1 as expected, 0 differ", "OK"}, nil)

	// One line changed: check and log --check exit 1 and name it.
	data, _ := os.ReadFile(file)
	bad := writeFile(t, "bad-log.json", strings.Replace(string(data), "': starting unpatching transition", "': starting patching transition", 1))
	expect(t, []string{"check", bad}, 1, []string{
		"safe (!)",
		"event logs (expect_log): 0 as expected, 1 differ",
		`selftest/basic-function-patching: the event log differs from expect_log: line 9: got "livepatch: 'test_klp_livepatch': starting unpatching transition", want "livepatch: 'test_klp_livepatch': starting patching transition"`,
	}, nil)
	expect(t, []string{"log", "--check", bad}, 1, []string{"# the log differs from expect_log: line 9"}, nil)
	// A line missing at the end.
	short := writeFile(t, "short-log.json", strings.Replace(string(data), `,
    "% rmmod test_klp_livepatch"`, "", 1))
	expect(t, []string{"check", short}, 1, []string{`line 12: unexpected "% rmmod test_klp_livepatch" (11 lines expected)`}, nil)

	// A built-in scenario's default execution, and a trace's execution.
	expect(t, []string{"log", "livepatch/s10-force"}, 0, []string{"% echo 1 > /sys/kernel/livepatch/P/force", "livepatch: forcing remaining tasks to the patched state"}, nil)
	dir := t.TempDir()
	expect(t, []string{"check", "--run", "livepatch/s10-force", "--traces", dir}, 0, nil, nil)
	trace := filepath.Join(dir, "livepatch_s10-force.trace.json")
	expect(t, []string{"log", trace}, 0, []string{"the trace's execution: violation mixed-state at step", "livepatch: forcing remaining tasks"}, nil)
	// show includes the log.
	expect(t, []string{"show", trace}, 0, []string{"event log (dmesg and the admin's commands", "  livepatch: 'P': starting patching transition"}, nil)
	html := filepath.Join(dir, "p.html")
	expect(t, []string{"show", "--html", html, trace}, 0, nil, nil)
	if page, _ := os.ReadFile(html); !bytes.Contains(page, []byte(`id="eventlog"`)) || !bytes.Contains(page, []byte("forcing remaining tasks")) {
		t.Fatal("the HTML page has no event log")
	}

	// Kinds without an event log are refused, with the kinds that have one.
	expect(t, []string{"log", "engine/lost-update"}, 2, nil, []string{"kind engine keeps no event log (kinds with one: livepatch)"})
	eng := writeFile(t, "eng.json", `{"name": "e", "kind": "engine", "params": {"program": "peterson"}, "expect_log": ["x"]}`)
	expect(t, []string{"check", eng}, 2, nil, []string{"expect_log: kind engine keeps no event log to compare with"})
	expect(t, []string{"log", "--check", "livepatch/s10-force"}, 2, nil, []string{"has no expect_log"})
	expect(t, []string{"log", "no-such-thing"}, 2, nil, []string{"no-such-thing: no such built-in scenario or file"})
}

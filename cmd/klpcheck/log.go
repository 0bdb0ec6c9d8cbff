package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/traces"
)

const logHelp = `
Prints the event log of one execution, the way dmesg and the livepatch
selftests show it: the admin script's commands ("% insmod …", "% echo 0 > …")
and the kernel's messages in its wording ("livepatch: 'P': starting patching
transition", "livepatch: signaling remaining tasks").

The execution is a trace's (its schedule replayed, up to the failure), or a
scenario's default execution: the admin script first, then always the lowest
runnable thread — the order a quiet machine runs the kernel's selftests in.
A scenario is named by its built-in name, or given as a file (with --run
choosing one when the file holds several).

A scenario file can assert the log: "expect_log" lists the lines, exact and
in order, like the selftests' check_result; 'klpcheck check' compares them
with the default execution's log and exits 1 on a difference. --check does
that here, printing the first difference.

Kinds with an event log: livepatch. Exit status: 0 printed (and, with
--check, as expected), 1 the log differs from expect_log, 2 usage or input
error, 3 a trace's schedule no longer fits the program.

Examples:
  klpcheck log livepatch/s10-force
  klpcheck log out/livepatch_s10-force.trace.json
  klpcheck log --check --run my/selftest my-scenarios.json
`

func cmdLog(args []string, stdout, stderr io.Writer) int {
	c := newCommand("log", "log [flags] (TRACE | SCENARIO | FILE)", logHelp, stderr)
	run := c.fs.String("run", "", "the `name` of the scenario in FILE (when it holds several)")
	check := c.fs.Bool("check", false, "compare the default execution's log with the scenario's expect_log")
	pos, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "log", "want one trace, scenario name or scenario file, got %d arguments", len(pos))
	}
	arg := pos[0]
	var lines []string
	var outcome string
	var scen catalog.Scenario
	if tr, err := traces.Read(arg); err == nil {
		if *check {
			return usageError(stderr, "log", "--check compares a scenario's default execution, not a trace's")
		}
		scen = tr.Scenario
		prog, log, err := catalog.Logged(tr.Scenario)
		if err != nil {
			return inputError(stderr, err)
		}
		got, err := traces.ReplayWith(tr, prog)
		if got == nil {
			return inputError(stderr, fmt.Errorf("%s: %v", arg, err))
		}
		lines = log()
		outcome = fmt.Sprintf("the trace's execution: %s %s %s", tr.Verdict, tr.Property, traces.StepName(tr.Step))
		if err != nil {
			fmt.Fprintf(stderr, "klpcheck: warning: %s: %v\n", arg, err)
			code = exitDiverged
		}
	} else {
		s, err := findScenario(arg, *run)
		if err != nil {
			return inputError(stderr, err)
		}
		scen = s
		got, rec, err := catalog.DefaultLog(s)
		if err != nil {
			return inputError(stderr, err)
		}
		lines = got
		outcome = "the default execution: " + rec.Outcome
		if rec.Failure != nil {
			outcome = fmt.Sprintf("the default execution: %s %s", rec.Failure.Property, traces.StepName(rec.Failure.Step))
		}
	}
	diff := ""
	if *check {
		if scen.ExpectLog == nil {
			return usageError(stderr, "log", "--check: scenario %q has no expect_log", scen.Name)
		}
		diff = catalog.LogDiff(lines, scen.ExpectLog)
		if diff != "" {
			code = exitFail
		}
	}
	if c.json {
		out := map[string]any{"scenario": scen.Name, "execution": outcome, "log": lines}
		if *check {
			out["as_expected"] = diff == ""
			out["diff"] = diff
		}
		writeJSON(stdout, out)
		return code
	}
	fmt.Fprintf(stdout, "# %s: %s\n", scen.Name, outcome)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	if *check {
		if diff == "" {
			fmt.Fprintf(stdout, "# the log is as expect_log says (%d lines)\n", len(scen.ExpectLog))
		} else {
			fmt.Fprintf(stdout, "# the log differs from expect_log: %s\n", diff)
		}
	}
	return code
}

// findScenario finds a scenario by built-in name, or in a scenario file
// (by --run name when it holds several).
func findScenario(arg, name string) (catalog.Scenario, error) {
	if s, ok := catalog.Find(arg); ok && name == "" {
		return s, nil
	}
	ss, err := catalog.LoadFile(arg)
	if err != nil {
		if _, serr := splitSections([]string{arg}); len(serr) > 0 {
			return catalog.Scenario{}, fmt.Errorf("%s: no such built-in scenario or file (see 'klpcheck list scenarios')", arg)
		}
		return catalog.Scenario{}, err
	}
	var names []string
	for _, s := range ss {
		if s.Name == name || (name == "" && len(ss) == 1) {
			return s, nil
		}
		names = append(names, s.Name)
	}
	if name == "" {
		return catalog.Scenario{}, fmt.Errorf("%s holds %d scenarios: choose one with --run (%s)", arg, len(ss), strings.Join(names, ", "))
	}
	return catalog.Scenario{}, fmt.Errorf("%s: no scenario %q (have: %s)", arg, name, strings.Join(names, ", "))
}

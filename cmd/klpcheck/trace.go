package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/traces"
)

const replayHelp = `
Re-runs the trace's schedule on its scenario and checks that the same
property fails at the same step. Prints what happened; with -v also the
timeline. Exit status:
  0  fixed: the schedule runs to its end and every property holds
  1  still fails: the recorded violation reproduced (or another property
     failed on the same schedule; the message says which)
  2  the trace cannot be read: malformed, truncated, or of another model
     version
  3  no longer applies: the schedule does not fit the program any more (a
     thread it runs is blocked or finished, a choice is out of range) —
     the code changed under this counterexample; whether the bug is gone
     takes 'klpcheck check' on the scenario

Step numbers are those of the timeline (the first step is 0); a trace's
"step" field counts the steps run, so it is one more than the failing
step's number.

Examples:
  klpcheck replay out/engine_lost-update.trace.json
  klpcheck replay -v --json out/engine_lost-update.trace.json
`

// exitDiverged: replay's schedule no longer fits the program.
const exitDiverged = 3

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	c := newCommand("replay", "replay [flags] TRACE", replayHelp, stderr)
	verbose := c.fs.Bool("v", false, "also print the timeline")
	pos, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "replay", "want exactly one trace file, got %d arguments", len(pos))
	}
	tr, err := traces.Read(pos[0])
	if err != nil {
		return inputError(stderr, err)
	}
	got, err := traces.Replay(tr)
	var mm *traces.Mismatch
	out := map[string]any{"trace": pos[0], "scenario": tr.Scenario.Name, "property": tr.Property,
		"step": tr.Step, "failed_at_step": tr.Step - 1}
	var text string
	switch {
	case errors.As(err, &mm) && mm.Diverged != nil:
		out["result"] = "diverged"
		out["message"] = err.Error()
		code = exitDiverged
		text = fmt.Sprintf("%s: no longer applies: %v\n"+
			"  The code changed under this counterexample; run 'klpcheck check' on %s to know whether the bug is still there.\n",
			pos[0], err, tr.Scenario.Name)
	case errors.As(err, &mm) && mm.Got == nil:
		// The schedule ran to the end and nothing failed.
		out["result"] = "fixed"
		out["message"] = err.Error()
		code = exitOK
		text = fmt.Sprintf("%s: fixed: the schedule runs to its end (%s) and every property holds; the trace expected %s %s %s\n",
			pos[0], mm.Outcome, tr.Verdict, tr.Property, traces.StepName(tr.Step))
	case errors.As(err, &mm):
		// Another failure on the same schedule: still a failure.
		out["result"] = "fails-differently"
		out["message"] = err.Error()
		out["got_property"] = mm.Got.Property
		out["got_step"] = mm.Got.Step - 1
		code = exitFail
		text = fmt.Sprintf("%s: still fails, differently: %v\n", pos[0], err)
	case err != nil:
		if c.json {
			out["result"] = "error"
			out["message"] = err.Error()
			writeJSON(stdout, out)
		}
		fmt.Fprintf(stderr, "klpcheck: %s: %v\n", pos[0], err)
		return exitUsage
	default:
		out["result"] = "reproduced"
		out["message"] = got.Record.Failure.Message
		out["message_changed"] = got.MessageChanged
		code = exitFail
		text = fmt.Sprintf("reproduced: %s %s %s in %s (%d steps, %d preemptions)\n  %s\n",
			tr.Verdict, tr.Property, traces.StepName(tr.Step), tr.Scenario.Name, tr.Length, tr.Preemptions, firstLine(got.Record.Failure.Message))
		if got.MessageChanged {
			text += fmt.Sprintf("  (the recorded message was: %s)\n", firstLine(tr.Message))
		}
	}
	if c.json {
		if *verbose && got != nil {
			out["timeline"] = traces.NewTimeline(got.Record)
		}
		writeJSON(stdout, out)
		return code
	}
	fmt.Fprint(stdout, text)
	if *verbose && got != nil {
		fmt.Fprintln(stdout)
		traces.WriteText(stdout, tr, traces.NewTimeline(got.Record), traces.TextOptions{})
	}
	return code
}

const minimizeHelp = `
Shrinks a trace while the same property still fails: first the schedule —
fewer preemptions, fewer steps, smaller choices (no NMI, no stale line),
fewer decisions — then the scenario's parameters (fewer CPUs, NMIs,
executions, tasks), keeping a smaller scenario when its own minimised
counterexample is no longer. The result never has more steps than the input and
replays exactly. It is written to -o (default: the input name with .min
before .json). Exit status 0 on success, 2 when the trace cannot be read or
does not replay.

Examples:
  klpcheck minimize out/engine_lost-update.trace.json
  klpcheck minimize -o small.json --max-replays 10000 big.trace.json
`

func cmdMinimize(args []string, stdout, stderr io.Writer) int {
	c := newCommand("minimize", "minimize [flags] TRACE", minimizeHelp, stderr)
	outPath := c.fs.String("o", "", "write the minimised trace to `file`")
	maxReplays := c.fs.Int("max-replays", 4000, "bound the replays of candidate schedules")
	timeLimit := &durationFlag{60 * time.Second}
	c.fs.Var(timeLimit, "time-limit", "bound the whole minimisation, e.g. 90s (default 1m0s)")
	noScen := c.fs.Bool("no-scenario-shrink", false, "keep the scenario's parameters")
	pos, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "minimize", "want exactly one trace file, got %d arguments", len(pos))
	}
	if *maxReplays < 1 {
		return usageError(stderr, "minimize", "--max-replays and --time-limit must be positive")
	}
	tr, err := traces.Read(pos[0])
	if err != nil {
		return inputError(stderr, err)
	}
	m, err := traces.Minimize(tr, traces.MinimizeOptions{MaxReplays: *maxReplays, TimeLimit: timeLimit.d, NoScenarioShrink: *noScen})
	if err != nil {
		fmt.Fprintf(stderr, "klpcheck: %s: %v\n", pos[0], err)
		return exitUsage
	}
	dst := *outPath
	if dst == "" {
		dst = strings.TrimSuffix(pos[0], ".json") + ".min.json"
	}
	if err := traces.Write(dst, m); err != nil {
		fmt.Fprintf(stderr, "klpcheck: %v\n", err)
		return exitUsage
	}
	before, _ := tr.Decisions()
	after, _ := m.Decisions()
	if c.json {
		writeJSON(stdout, map[string]any{
			"trace": dst, "scenario": m.Scenario.Name, "property": m.Property,
			"from":    map[string]int{"length": tr.Length, "preemptions": tr.Preemptions, "decisions": len(before)},
			"to":      map[string]int{"length": m.Length, "preemptions": m.Preemptions, "decisions": len(after)},
			"replays": m.Minimized.Replays - replaysBefore(tr),
			"passes":  m.Minimized.Passes,
		})
		return exitOK
	}
	fmt.Fprintf(stdout, "minimised %s (%s): %d → %d steps, %d → %d preemptions, %d → %d decisions (%d replays)\n",
		m.Scenario.Name, m.Property, tr.Length, m.Length, tr.Preemptions, m.Preemptions, len(before), len(after), m.Minimized.Replays-replaysBefore(tr))
	if m.Minimized.FromScenario != "" && m.Scenario.Name != tr.Scenario.Name {
		fmt.Fprintf(stdout, "  scenario shrunk from %s\n", tr.Scenario.Name)
	}
	fmt.Fprintf(stdout, "wrote %s\n", dst)
	return exitOK
}

func replaysBefore(t *traces.Trace) int {
	if t.Minimized == nil {
		return 0
	}
	return t.Minimized.Replays
}

const showHelp = `
Replays a trace and renders it: a text timeline with one column per thread
(CPU, task, writer), each step's operation in its thread's column with the
model's notes (bytes and GNU-syntax decodes, task states, the event log)
below it; "»" marks a preemption, "?" a choice (an NMI, a stale line), "✗"
the step after which the property failed. With --html, writes one
self-contained HTML page (the timeline, plus porcupine's visualisation when
the property is a history property, or with --history for x86 traces) that
opens offline. For livepatch traces the execution's event log (dmesg and
the admin's commands) follows the timeline. A legend explains the marks;
threads that ran no step get no column. Exit status: 0 rendered, 2 the
trace cannot be read, 3 its schedule no longer fits the program (what the
replay did is still shown).

Examples:
  klpcheck show out/engine_lost-update.trace.json
  klpcheck show --html trace.html out/engine_lost-update.trace.json
  klpcheck show --history --html trace.html out/x86_no-sync1_bytewise_inside-line.trace.json
`

func cmdShow(args []string, stdout, stderr io.Writer) int {
	c := newCommand("show", "show [flags] TRACE", showHelp, stderr)
	htmlPath := c.fs.String("html", "", "write an HTML page to `file` instead of text")
	width := c.fs.Int("width", 34, "maximum width of a thread column (text)")
	objects := c.fs.Bool("objects", false, "show each step's footprint (text)")
	history := c.fs.Bool("history", false, "with --html, add porcupine's view of the x86 atomic-switch history even when another property failed")
	pos, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "show", "want exactly one trace file, got %d arguments", len(pos))
	}
	if *width < 8 {
		return usageError(stderr, "show", "--width: %d, want at least 8", *width)
	}
	tr, err := traces.Read(pos[0])
	if err != nil {
		return inputError(stderr, err)
	}
	got, log, err := replayLogged(tr)
	if got == nil {
		fmt.Fprintf(stderr, "klpcheck: %s: %v\n", pos[0], err)
		return exitUsage
	}
	code = exitOK
	if err != nil {
		// Show what the replay did, but say it is not the recorded run.
		fmt.Fprintf(stderr, "klpcheck: warning: %s: %v\n", pos[0], err)
		code = exitDiverged
	}
	tl := traces.NewTimeline(got.Record)
	tl.Log = log
	if *htmlPath != "" {
		hist, herr := traces.HistoryOf(tr, *history)
		if herr != nil {
			fmt.Fprintf(stderr, "klpcheck: warning: no porcupine history: %v\n", herr)
		}
		var b bytes.Buffer
		if err := traces.WriteHTML(&b, tr, tl, hist); err != nil {
			fmt.Fprintf(stderr, "klpcheck: %v\n", err)
			return exitUsage
		}
		if err := traces.WriteFileAtomic(*htmlPath, b.Bytes()); err != nil {
			fmt.Fprintf(stderr, "klpcheck: %v\n", err)
			return exitUsage
		}
		if c.json {
			writeJSON(stdout, map[string]any{"html": *htmlPath, "bytes": b.Len(), "porcupine": hist != nil})
		} else {
			fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *htmlPath, b.Len())
		}
		return code
	}
	if c.json {
		writeJSON(stdout, map[string]any{"trace": tr, "timeline": tl})
		return code
	}
	if err := traces.WriteText(stdout, tr, tl, traces.TextOptions{Width: *width, Objects: *objects}); err != nil {
		fmt.Fprintf(stderr, "klpcheck: %v\n", err)
		return exitUsage
	}
	return code
}

// replayLogged replays a trace, with the event log of its execution for
// kinds that keep one (nil otherwise).
func replayLogged(tr *traces.Trace) (*traces.Replayed, []string, error) {
	if !catalog.HasEventLog(tr.Scenario.Kind) {
		got, err := traces.Replay(tr)
		return got, nil, err
	}
	if _, err := tr.Program(); err != nil { // version checks
		return nil, nil, err
	}
	prog, log, err := catalog.Logged(tr.Scenario)
	if err != nil {
		return nil, nil, err
	}
	got, err := traces.ReplayWith(tr, prog)
	return got, log(), err
}

// Command klpcheck explores the interleavings of kernel code-patching
// scenarios (x86 text patching, livepatch, ftrace under livepatch, arm64
// and RISC-V, and the engine's own examples), prints verdict tables, and
// writes, replays, minimises and renders counterexample traces.
//
// It is the driver only: scenarios come from the catalog (built-in) or
// scenario files (catalog.LoadFile), exploration from explore, traces from
// traces. It must not know any model's internals.
//
// Exit status: 0 when every verdict is as its scenario expects (check) or
// the trace no longer fails (replay); 1 when a verdict differs from its
// expectation, a scenario without one fails, or a replayed trace still
// fails; 2 on usage or input errors; 3 when a replayed schedule no longer
// fits the program; 130/143 when check is interrupted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `klpcheck — a model checker for kernel code-patching safety

Usage:
  klpcheck <command> [flags] [arguments]

Commands:
  check     explore scenarios (the built-in catalog, or scenario files) and print verdict tables
  replay    re-run a counterexample trace and check that it fails the same way
  minimize  shrink a trace: fewer preemptions, steps, choices (and parameters, where a kind allows)
  show      render a trace as a text timeline, or as an HTML page with --html
  log       print the event log (dmesg and admin commands) of a trace's or a scenario's execution
  merge     combine the shard files of one search (check --shard i/n) into its verdict
  list      list scenarios, variants, fetch models, properties, strategies and the file format

Every command takes --json for machine-readable output and --help for its flags.

Exit status:
  0    check: every verdict is as its scenario expects; replay: the trace no longer fails
  1    check: a verdict differs from its expectation (or a scenario without one fails);
       replay: the violation reproduces
  2    usage or input error (file, line and field named)
  3    replay: the schedule no longer fits the program (the code changed)
  130  check interrupted (SIGINT; 143 for SIGTERM): what finished is printed

Examples:
  klpcheck check                                   # the whole built-in catalog
  klpcheck check --run 'engine/*' --traces out/    # a subset, writing a trace per counterexample
  klpcheck check --strategy bounded --max-preemptions 2 examples/engine.json
  klpcheck replay out/engine_lost-update.trace.json
  klpcheck minimize -o small.json out/engine_lost-update.trace.json
  klpcheck show small.json
  klpcheck show --html trace.html small.json
  klpcheck log livepatch/s10-force
  klpcheck list properties
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		if cmd == "help" && len(rest) > 0 {
			return run([]string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "replay":
		return cmdReplay(rest, stdout, stderr)
	case "minimize", "minimise":
		return cmdMinimize(rest, stdout, stderr)
	case "show":
		return cmdShow(rest, stdout, stderr)
	case "list":
		return cmdList(rest, stdout, stderr)
	case "merge":
		return cmdMerge(rest, stdout, stderr)
	case "log":
		return cmdLog(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "klpcheck: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// command is a subcommand's flag set with its help text.
type command struct {
	fs       *flag.FlagSet
	synopsis string
	help     string
	json     bool
}

func newCommand(name, synopsis, help string, stderr io.Writer) *command {
	c := &command{fs: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, help: help}
	c.fs.SetOutput(io.Discard) // parse reports errors itself, once
	c.fs.BoolVar(&c.json, "json", false, "print machine-readable JSON on stdout")
	c.fs.Usage = func() {}
	return c
}

func (c *command) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: klpcheck %s\n\n%s\n\nFlags:\n", c.synopsis, strings.TrimSpace(c.help))
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
}

// parse parses flags anywhere among the arguments and returns the
// positional ones; done is set (with the exit code) on --help or an error.
func (c *command) parse(args []string, stdout, stderr io.Writer) (pos []string, code int, done bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.usage(stdout)
				return nil, exitOK, true
			}
			fmt.Fprintf(stderr, "klpcheck %s: %v\n", c.fs.Name(), err)
			fmt.Fprintf(stderr, "run 'klpcheck %s --help' for usage\n", c.fs.Name())
			return nil, exitUsage, true
		}
		args = c.fs.Args()
		if len(args) == 0 {
			return pos, exitOK, false
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), exitOK, false
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// usageError prints a usage error and returns exit code 2.
func usageError(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "klpcheck %s: %s\n", cmd, fmt.Sprintf(format, args...))
	fmt.Fprintf(stderr, "run 'klpcheck %s --help' for usage\n", cmd)
	return exitUsage
}

// inputError prints an error in the user's input (a file) and returns 2.
func inputError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "klpcheck: %v\n", err)
	return exitUsage
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

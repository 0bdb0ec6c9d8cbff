// Command klpcheck explores the interleavings of kernel code-patching
// scenarios and prints verdicts. This is the first, minimal driver: `check`
// runs the built-in catalog and prints one row per scenario.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: klpcheck check")
		return 2
	}
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tVERDICT\tPROPERTY\tEXECUTIONS\tTIME")
	exit := 0
	for _, s := range catalog.Builtin() {
		prog, err := catalog.Build(s)
		if err != nil {
			fmt.Fprintln(stderr, "klpcheck:", err)
			return 2
		}
		opts, err := s.Explore.Options()
		if err != nil {
			fmt.Fprintln(stderr, "klpcheck:", err)
			return 2
		}
		res := explore.Explore(prog, opts)
		prop := "-"
		if res.Failure != nil {
			prop = res.Failure.Property
			exit = 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Name, res.Verdict, prop, res.Stats.Executions, res.Stats.Elapsed.Round(1e6))
	}
	tw.Flush()
	return exit
}

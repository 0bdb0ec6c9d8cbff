package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/traces"
)

const checkHelp = `
Explores every selected scenario — the built-in catalog, or the scenarios of
the given files (see 'klpcheck list format') — and prints a verdict table per
catalog table: rows are variants, columns fetch models, each cell "safe",
"violation <property> <steps>/<preemptions>", "stuck <property> …" or
"incomplete"; each row ends with the executions and time its scenarios took.
Scenarios run in parallel (--workers); output is in catalog order and, times
aside, does not depend on the worker count.

An argument that names no file selects a part of the built-in catalog: a
kind (engine, x86, livepatch, fentry) or a table, by its name or its first word
("klpcheck check history").

Filters take comma-separated globs ('*' matches anything, '/' included); a
filter without '*' or '?' matches as a substring.

Examples:
  klpcheck check
  klpcheck check --run 'engine/peterson*'
  klpcheck check livepatch
  klpcheck check --kind x86 --fetch 'block:*' --variant 'v5.3*'
  klpcheck check --property torn-decode --traces out/
  klpcheck check --strategy random --seed 7 --max-executions 5000 examples/engine.json
`

// checkResult is one scenario's outcome, as printed by --json.
type checkResult struct {
	Scenario    string          `json:"scenario"`
	Kind        string          `json:"kind"`
	Table       string          `json:"table,omitempty"`
	Row         string          `json:"row,omitempty"`
	Column      string          `json:"column,omitempty"`
	Verdict     explore.Verdict `json:"verdict"`
	Property    string          `json:"property,omitempty"`
	Message     string          `json:"message,omitempty"`
	Length      int             `json:"length,omitempty"`
	Preemptions int             `json:"preemptions,omitempty"`
	Schedule    string          `json:"schedule,omitempty"`
	Strategy    string          `json:"strategy"`
	Bounds      string          `json:"bounds"`
	Reason      string          `json:"reason,omitempty"`
	Expect      string          `json:"expect,omitempty"`
	// Unexpected is set when Expect is given and the verdict differs.
	Unexpected bool          `json:"unexpected,omitempty"`
	Stats      explore.Stats `json:"stats"`
	Trace      string        `json:"trace,omitempty"`
	Error      string        `json:"error,omitempty"`
}

func (r *checkResult) outcome() string {
	if r.Property == "" {
		return string(r.Verdict)
	}
	return string(r.Verdict) + ":" + r.Property
}

type checkFlags struct {
	run, table, variant, fetch, kind, property string
	strategy                                   string
	maxSteps, maxPreemptions, workers          int
	maxExecutions                              int64
	seed                                       uint64
	seedSet                                    bool
	timeLimit                                  time.Duration
	tracesDir                                  string
	minimize                                   bool
	quiet                                      bool
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	c := newCommand("check", "check [flags] [scenario-file | kind | table ...]", checkHelp, stderr)
	var f checkFlags
	fs := c.fs
	fs.StringVar(&f.run, "run", "", "select scenarios by `name` globs")
	fs.StringVar(&f.table, "table", "", "select scenarios by verdict-table `globs`")
	fs.StringVar(&f.variant, "variant", "", "select scenarios by variant (table row) `globs`")
	fs.StringVar(&f.fetch, "fetch", "", "select scenarios by fetch model (table column) `globs`")
	fs.StringVar(&f.kind, "kind", "", "select scenarios by `kind` (engine, x86, livepatch, fentry)")
	fs.StringVar(&f.property, "property", "", "select scenarios that check property `id` (see 'klpcheck list properties')")
	fs.StringVar(&f.strategy, "strategy", "", "exploration `strategy` (dpor, exhaustive, bounded, random, pct); default: the scenario's, else dpor")
	fs.IntVar(&f.maxSteps, "max-steps", 0, "bound the scheduling steps of one execution (default: the scenario's, else 10000)")
	fs.Int64Var(&f.maxExecutions, "max-executions", 0, "bound the executions per scenario (default: the scenario's; unlimited for exhaustive strategies)")
	fs.IntVar(&f.maxPreemptions, "max-preemptions", 0, "highest preemption bound for --strategy bounded (default 3)")
	seed := fs.String("seed", "", "seed for random and pct (default: the scenario's, else 0)")
	fs.DurationVar(&f.timeLimit, "time-limit", 0, "stop each scenario after this `duration` (verdict incomplete)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "scenarios explored in parallel")
	fs.StringVar(&f.tracesDir, "traces", "", "write a trace per counterexample into `dir`")
	fs.BoolVar(&f.minimize, "minimize", false, "minimise each counterexample before writing its trace")
	fs.BoolVar(&f.quiet, "q", false, "no progress line on stderr")
	files, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if *seed != "" {
		if _, err := fmt.Sscan(*seed, &f.seed); err != nil {
			return usageError(stderr, "check", "--seed: %q is not a non-negative integer", *seed)
		}
		f.seedSet = true
	}
	if f.strategy != "" {
		if _, err := explore.ParseStrategy(f.strategy); err != nil {
			return usageError(stderr, "check", "--strategy: %v", err)
		}
	}
	if f.maxSteps < 0 || f.maxExecutions < 0 || f.maxPreemptions < 0 || f.timeLimit < 0 {
		return usageError(stderr, "check", "bounds must not be negative")
	}
	if f.workers < 1 {
		return usageError(stderr, "check", "--workers: %d, want at least 1", f.workers)
	}
	if f.property != "" && !knownProperty(f.property) {
		return usageError(stderr, "check", "--property: unknown property %q (see 'klpcheck list properties')", f.property)
	}
	if f.kind != "" {
		for _, k := range strings.Split(f.kind, ",") {
			if _, err := catalog.KindOf(strings.TrimSpace(k)); err != nil {
				return usageError(stderr, "check", "--kind: %v", err)
			}
		}
	}

	// An argument that is not a file names a part of the built-in catalog:
	// a kind or a table ("klpcheck check history", "klpcheck check x86").
	var scenarios []catalog.Scenario
	var sections []string
	files, sections = splitSections(files)
	if len(files) == 0 && len(sections) == 0 {
		scenarios = catalog.Builtin()
	}
	for _, sec := range sections {
		ss := builtinSection(sec)
		if len(ss) == 0 {
			return inputError(stderr, fmt.Errorf("%s: no such scenario file, and no built-in kind or table of that name (see 'klpcheck list scenarios')", sec))
		}
		scenarios = append(scenarios, ss...)
	}
	for _, file := range files {
		ss, err := catalog.LoadFile(file)
		if err != nil {
			return inputError(stderr, err)
		}
		scenarios = append(scenarios, ss...)
	}
	scenarios, err := selectScenarios(scenarios, f)
	if err != nil {
		return usageError(stderr, "check", "%v", err)
	}
	if len(scenarios) == 0 {
		return usageError(stderr, "check", "no scenario matches the filters (see 'klpcheck list scenarios')")
	}
	if f.tracesDir != "" {
		if err := os.MkdirAll(f.tracesDir, 0o755); err != nil {
			return inputError(stderr, err)
		}
	}

	results := runScenarios(scenarios, f, stderr)
	exit := exitOK
	for _, r := range results {
		if r.Verdict == explore.Violation || r.Verdict == explore.Stuck {
			exit = exitFail
		}
		if r.Error != "" {
			exit = exitUsage
		}
	}
	if c.json {
		writeJSON(stdout, map[string]any{"results": results, "summary": summarize(results)})
	} else {
		printTables(stdout, results)
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(stderr, "klpcheck: %s\n", r.Error)
		}
	}
	return exit
}

func knownProperty(id string) bool {
	for _, k := range catalog.Kinds() {
		for _, p := range k.Properties() {
			if p.ID == id {
				return true
			}
		}
	}
	return false
}

// globs compiles a comma-separated list of globs into one matcher.
func globs(list string) (func(string) bool, error) {
	if list == "" {
		return func(string) bool { return true }, nil
	}
	var res []*regexp.Regexp
	for _, g := range strings.Split(list, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		var b strings.Builder
		if strings.ContainsAny(g, "*?") {
			b.WriteString("^")
		}
		for _, r := range g {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		if strings.ContainsAny(g, "*?") {
			b.WriteString("$")
		}
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("bad glob %q: %v", g, err)
		}
		res = append(res, re)
	}
	return func(s string) bool {
		for _, re := range res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}, nil
}

func selectScenarios(all []catalog.Scenario, f checkFlags) ([]catalog.Scenario, error) {
	var match [5]func(string) bool
	for i, g := range []string{f.run, f.table, f.variant, f.fetch} {
		m, err := globs(g)
		if err != nil {
			return nil, err
		}
		match[i] = m
	}
	kinds := map[string]bool{}
	for _, k := range strings.Split(f.kind, ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds[k] = true
		}
	}
	var out []catalog.Scenario
	for _, s := range all {
		if !match[0](s.Name) || !match[1](s.Table) || !match[2](s.Row) || !match[3](s.Column) {
			continue
		}
		if len(kinds) > 0 && !kinds[s.Kind] {
			continue
		}
		if f.property != "" && !checksProperty(s, f.property) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// checksProperty: the scenario's kind checks the property, and the
// scenario is not documented to fail another one.
func checksProperty(s catalog.Scenario, id string) bool {
	k, err := catalog.KindOf(s.Kind)
	if err != nil {
		return false
	}
	found := false
	for _, p := range k.Properties() {
		found = found || p.ID == id
	}
	if !found {
		return false
	}
	_, prop, ok := strings.Cut(s.Expect, ":")
	return !ok || prop == id
}

// options merges the scenario's bounds and the flags.
func options(s catalog.Scenario, f checkFlags) (explore.Options, error) {
	o, err := s.Explore.Options()
	if err != nil {
		return o, err
	}
	if f.strategy != "" {
		o.Strategy = explore.Strategy(f.strategy)
	}
	if o.Strategy == "" {
		o.Strategy = explore.DPOR
	}
	if f.maxSteps > 0 {
		o.MaxSteps = f.maxSteps
	}
	if f.maxExecutions > 0 {
		o.MaxExecutions = f.maxExecutions
	}
	if f.maxPreemptions > 0 {
		o.MaxPreemptions = f.maxPreemptions
	}
	if f.seedSet {
		o.Seed = f.seed
	}
	o.TimeLimit = f.timeLimit
	return o, nil
}

// progress prints one line on a terminal, rewritten in place.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	total   int
	done    int
	current map[string]explore.Stats
	order   []string
}

func (p *progress) update(name string, st explore.Stats) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.current[name]; !ok {
		p.order = append(p.order, name)
	}
	p.current[name] = st
	p.draw(name)
}

func (p *progress) finish(name string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	delete(p.current, name)
	p.draw("")
}

func (p *progress) draw(name string) {
	line := fmt.Sprintf("[%d/%d]", p.done, p.total)
	if st, ok := p.current[name]; ok {
		depth := int64(0)
		if st.Executions > 0 {
			depth = st.Steps / st.Executions
		}
		line += fmt.Sprintf(" %s: %d executions, %.0f/s, depth ~%d, %s", name, st.Executions, st.PerSecond(), depth, st.Elapsed.Round(100*time.Millisecond))
	}
	if len(line) > 120 {
		line = line[:120]
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

func (p *progress) clear() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func runScenarios(scenarios []catalog.Scenario, f checkFlags, stderr io.Writer) []*checkResult {
	results := make([]*checkResult, len(scenarios))
	prog := &progress{w: stderr, on: !f.quiet && isTerminal(stderr), total: len(scenarios), current: map[string]explore.Stats{}}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(f.workers, len(scenarios)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = checkOne(scenarios[i], f, prog)
				prog.finish(scenarios[i].Name)
			}
		}()
	}
	for i := range scenarios {
		next <- i
	}
	close(next)
	wg.Wait()
	prog.clear()
	return results
}

func checkOne(s catalog.Scenario, f checkFlags, prog *progress) *checkResult {
	r := &checkResult{Scenario: s.Name, Kind: s.Kind, Table: s.Table, Row: s.Row, Column: s.Column, Expect: s.Expect}
	p, err := catalog.Build(s)
	if err != nil {
		r.Error = err.Error()
		r.Verdict = "error"
		return r
	}
	opts, err := options(s, f)
	if err != nil {
		r.Error = fmt.Sprintf("scenario %q: explore: %v", s.Name, err)
		r.Verdict = "error"
		return r
	}
	if prog.on {
		opts.Progress = func(st explore.Stats) { prog.update(s.Name, st) }
	}
	res := explore.Explore(p, opts)
	r.Verdict, r.Strategy, r.Bounds, r.Reason, r.Stats = res.Verdict, string(res.Strategy), res.Bounds, res.Reason, res.Stats
	if res.Failure != nil {
		r.Property, r.Message = res.Failure.Property, res.Failure.Message
		r.Length, r.Preemptions, r.Schedule = res.Length, res.Preemptions, res.Schedule.String()
	}
	if s.Expect != "" && s.Expect != r.outcome() && res.Verdict != explore.Incomplete {
		r.Unexpected = true
	}
	if res.Failure != nil && f.tracesDir != "" {
		tr, err := traces.New(s, opts, res)
		if err == nil && f.minimize {
			if m, merr := traces.Minimize(tr, traces.MinimizeOptions{}); merr == nil {
				tr = m
			}
		}
		if err == nil {
			path := filepath.Join(f.tracesDir, traces.FileName(s.Name))
			err = traces.Write(path, tr)
			r.Trace = path
		}
		if err != nil {
			r.Error = fmt.Sprintf("scenario %q: writing its trace: %v", s.Name, err)
		}
	}
	return r
}

// cell is a result's verdict-table cell.
func (r *checkResult) cell() string {
	var s string
	switch r.Verdict {
	case explore.Violation, explore.Stuck:
		s = fmt.Sprintf("%s %s %d/%d", r.Verdict, r.Property, r.Length, r.Preemptions)
	default:
		s = string(r.Verdict)
	}
	if r.Unexpected {
		s += " (!)"
	}
	return s
}

type summary struct {
	Scenarios  int            `json:"scenarios"`
	Verdicts   map[string]int `json:"verdicts"`
	Unexpected int            `json:"unexpected"`
	Executions int64          `json:"executions"`
	Elapsed    time.Duration  `json:"elapsed_ns"`
}

func summarize(results []*checkResult) summary {
	s := summary{Scenarios: len(results), Verdicts: map[string]int{}}
	for _, r := range results {
		s.Verdicts[string(r.Verdict)]++
		s.Executions += r.Stats.Executions
		s.Elapsed += r.Stats.Elapsed
		if r.Unexpected {
			s.Unexpected++
		}
	}
	return s
}

func printTables(w io.Writer, results []*checkResult) {
	// Group by table, in order of first appearance.
	var tables []string
	byTable := map[string][]*checkResult{}
	for _, r := range results {
		if _, ok := byTable[r.Table]; !ok {
			tables = append(tables, r.Table)
		}
		byTable[r.Table] = append(byTable[r.Table], r)
	}
	for ti, name := range tables {
		rs := byTable[name]
		if ti > 0 {
			fmt.Fprintln(w)
		}
		title := name
		if title == "" {
			title = "(no table)"
		}
		var execs int64
		var elapsed time.Duration
		for _, r := range rs {
			execs += r.Stats.Executions
			elapsed += r.Stats.Elapsed
		}
		fmt.Fprintf(w, "== %s: %d scenarios, %d executions, %s\n", title, len(rs), execs, elapsed.Round(time.Millisecond))
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		if matrix(rs) {
			var rows, cols []string
			cells := map[[2]string]string{}
			rowExecs := map[string]int64{}
			rowTime := map[string]time.Duration{}
			for _, r := range rs {
				if !contains(rows, r.Row) {
					rows = append(rows, r.Row)
				}
				if !contains(cols, r.Column) {
					cols = append(cols, r.Column)
				}
				cells[[2]string{r.Row, r.Column}] = r.cell()
				rowExecs[r.Row] += r.Stats.Executions
				rowTime[r.Row] += r.Stats.Elapsed
			}
			// Each row ends with what exploring its scenarios took.
			fmt.Fprintf(tw, "%s\t%s\texecutions\ttime\n", "variant", strings.Join(cols, "\t"))
			for _, row := range rows {
				fmt.Fprint(tw, row)
				for _, col := range cols {
					c, ok := cells[[2]string{row, col}]
					if !ok {
						c = "-"
					}
					fmt.Fprintf(tw, "\t%s", c)
				}
				fmt.Fprintf(tw, "\t%d\t%s\n", rowExecs[row], rowTime[row].Round(time.Millisecond))
			}
		} else {
			fmt.Fprintln(tw, "scenario\tverdict\texecutions\ttime")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Scenario, r.cell(), r.Stats.Executions, r.Stats.Elapsed.Round(time.Millisecond))
			}
		}
		tw.Flush()
	}
	sum := summarize(results)
	fmt.Fprintf(w, "\n%d scenarios:", sum.Scenarios)
	for _, v := range []string{"safe", "violation", "stuck", "incomplete", "error"} {
		if n := sum.Verdicts[v]; n > 0 {
			fmt.Fprintf(w, " %d %s,", n, v)
		}
	}
	fmt.Fprintf(w, " %d executions, %s\n", sum.Executions, sum.Elapsed.Round(time.Millisecond))
	if sum.Unexpected > 0 {
		fmt.Fprintf(w, "(!) %d verdicts differ from the catalog's expectation:\n", sum.Unexpected)
		for _, r := range results {
			if r.Unexpected {
				fmt.Fprintf(w, "    %s: got %s, expected %s\n", r.Scenario, r.outcome(), r.Expect)
			}
		}
	}
	var fails []*checkResult
	for _, r := range results {
		if r.Verdict == explore.Violation || r.Verdict == explore.Stuck {
			fails = append(fails, r)
		}
	}
	if len(fails) > 0 {
		fmt.Fprintln(w, "\ncounterexamples (steps/preemptions):")
		for _, r := range fails {
			fmt.Fprintf(w, "  %s: %s %s (%d/%d): %s\n", r.Scenario, r.Verdict, r.Property, r.Length, r.Preemptions, firstLine(r.Message))
			if r.Trace != "" {
				fmt.Fprintf(w, "      trace: %s\n", r.Trace)
			}
		}
		if fails[0].Trace == "" {
			fmt.Fprintln(w, "(run with --traces DIR to write replayable traces)")
		}
	}
	var incomplete []*checkResult
	for _, r := range results {
		if r.Verdict == explore.Incomplete {
			incomplete = append(incomplete, r)
		}
	}
	if len(incomplete) > 0 {
		fmt.Fprintln(w, "\nincomplete (a bound ran out before the search did):")
		for _, r := range incomplete {
			fmt.Fprintf(w, "  %s: %s; covered %s\n", r.Scenario, r.Reason, r.Bounds)
		}
	}
}

// matrix reports whether every result has a row and a column.
func matrix(rs []*checkResult) bool {
	for _, r := range rs {
		if r.Row == "" || r.Column == "" {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// splitSections separates scenario files from names of catalog sections:
// an argument that names no existing file is a section.
func splitSections(args []string) (files, sections []string) {
	for _, a := range args {
		if _, err := os.Stat(a); err != nil && !strings.ContainsAny(a, "/\\.") {
			sections = append(sections, a)
		} else {
			files = append(files, a)
		}
	}
	return files, sections
}

// builtinSection returns the built-in scenarios of a kind or a table: a
// table matches by its full name or its first word.
func builtinSection(name string) []catalog.Scenario {
	var out []catalog.Scenario
	for _, s := range catalog.Builtin() {
		if s.Kind == name || s.Table == name || strings.HasPrefix(s.Table, name+" ") {
			out = append(out, s)
		}
	}
	return out
}

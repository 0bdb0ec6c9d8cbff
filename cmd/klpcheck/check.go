package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/traces"
)

const checkHelp = `
Explores every selected scenario — the built-in catalog, or the scenarios of
the given files (see 'klpcheck list format') — and prints a verdict table per
catalog table: rows are variants, columns fetch models (or fixes); each row
ends with the executions and time its scenarios took. Every cell says what
it covers:

  safe               every interleaving explored, none fails
  safe≤1p            every interleaving with at most 1 preemption, none fails
  violation P 32/2   property P fails: a counterexample of 32 steps, 2 preemptions
  stuck P 29/0       a liveness property fails
  incomplete (time)  no verdict: a bound ran out (time, steps, execs, sampled,
                     interrupted)
  (!)                the verdict differs from the scenario's expectation

Tables are split to fit 120 columns (--wide: one table, however wide).
Scenarios run in parallel (--workers); output is in catalog order and, times
aside, does not depend on the worker count.

Exit status — what a CI gates on:
  0    every verdict is as its scenario expects (the built-in catalog expects
       its buggy variants to fail), and no scenario without an expectation
       fails
  1    some verdict differs from its expectation (listed), a scenario
       without one has a violation or stuck verdict, or a scenario with one
       ended incomplete (not confirmed; --allow-incomplete accepts that)
  2    usage or input error
  130  interrupted (SIGINT; 143 for SIGTERM): the tables show what finished,
       the scenarios not run are listed, finished traces are written

An argument that names no file selects a part of the built-in catalog: a
kind (engine, x86, livepatch, fentry, arm64, riscv) or a table, by its name or its first word
("klpcheck check history").

Filters take comma-separated globs ('*' matches anything, '/' included); a
filter without '*' or '?' matches as a substring. Bounds given on the command
line override the scenarios' own; 0 is rejected where it cannot mean what it
says (leave a flag out for the default).

Examples:
  klpcheck check
  klpcheck check --run 'engine/peterson*'
  klpcheck check livepatch
  klpcheck check --kind x86 --fetch 'block:*' --variant 'v5.3*'
  klpcheck check --property torn-decode --traces out/
  klpcheck check --strategy random --seed 7 --max-executions 5000 --allow-incomplete examples/engine.json
`

// Exit statuses of an interrupted check: 128 + the signal's number, as a
// shell reports a process killed by it.
const (
	exitInterrupted = 130 // SIGINT
	exitTerminated  = 143 // SIGTERM
)

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
	// Bounds is the engine's account of what the search covered.
	Bounds string `json:"bounds"`
	// Exhaustive: a safe verdict covers every interleaving.
	Exhaustive bool `json:"exhaustive,omitempty"`
	// PreemptionBound: a safe verdict covers only the interleavings with
	// at most this many preemptions.
	PreemptionBound *int `json:"preemption_bound,omitempty"`
	// Cut names the bound an incomplete search ran out of (time, steps,
	// execs, sampled, interrupted).
	Cut    string `json:"cut,omitempty"`
	Reason string `json:"reason,omitempty"`
	Expect string `json:"expect,omitempty"`
	// Status compares the verdict with Expect: as-expected, differs,
	// undecided (incomplete) or no-expectation.
	Status string `json:"status"`
	// Unexpected is set when Expect is given and a definite verdict
	// differs from it.
	Unexpected bool `json:"unexpected,omitempty"`
	// LogChecked: the scenario has an expect_log, compared with the event
	// log of its default execution; LogDiff is the first difference ("":
	// the log is as expected).
	LogChecked bool          `json:"log_checked,omitempty"`
	LogDiff    string        `json:"log_diff,omitempty"`
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
	splitDepth                                 int
	shard                                      shardFlag
	out                                        string
	maxExecutions                              int64
	seed                                       uint64
	seedSet                                    bool
	timeLimit                                  durationFlag
	tracesDir                                  string
	minimize                                   bool
	quiet                                      bool
	wide                                       bool
	allowIncomplete                            bool
	// interrupt is closed on SIGINT or SIGTERM.
	interrupt <-chan struct{}
}

// durationFlag is a duration flag whose error says how to write one.
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f == nil || f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := fmt.Sscan(s, new(float64)); nerr == nil {
			return fmt.Errorf("%q has no unit: use a unit, e.g. %ss or %sm", s, s, s)
		}
		return fmt.Errorf("%q is not a duration (e.g. 90s, 5m, 1h30m)", s)
	}
	if d <= 0 {
		return fmt.Errorf("%s: want a positive duration (leave the flag out for no limit)", s)
	}
	f.d = d
	return nil
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	c := newCommand("check", "check [flags] [scenario-file | kind | table ...]", checkHelp, stderr)
	var f checkFlags
	seed := f.register(c.fs)
	files, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if err := f.validate(c.fs, *seed); err != nil {
		return usageError(stderr, "check", "%v", err)
	}
	scenarios, code := checkScenarios(files, f, stderr)
	if scenarios == nil {
		return code
	}
	if f.shard.set {
		return checkShard(scenarios, f, stdout, stderr)
	}
	if f.tracesDir != "" {
		if err := uniqueTraceFiles(scenarios); err != nil {
			return inputError(stderr, err)
		}
		if err := os.MkdirAll(f.tracesDir, 0o755); err != nil {
			return inputError(stderr, err)
		}
	}
	results, wall, cpu, got := runInterruptible(scenarios, &f, stderr)

	var ran []*checkResult
	var notRun []string
	for i, r := range results {
		if r == nil {
			notRun = append(notRun, scenarios[i].Name)
			continue
		}
		ran = append(ran, r)
	}
	sum := summarize(ran, f)
	sum.Wall, sum.CPU, sum.Workers, sum.NotRun = wall, cpu, min(f.workers, len(scenarios)), notRun
	exit := exitOK
	for _, r := range ran {
		if r.fails(f.allowIncomplete) {
			exit = exitFail
		}
	}
	for _, r := range ran {
		if r.Error != "" {
			exit = exitUsage
		}
	}
	if got != nil {
		sum.Interrupted, exit = "SIGINT", exitInterrupted
		if got == syscall.SIGTERM {
			sum.Interrupted, exit = "SIGTERM", exitTerminated
		}
	}
	if c.json {
		writeJSON(stdout, map[string]any{"results": ran, "summary": sum})
	} else {
		printTables(stdout, ran, sum, f)
	}
	for _, r := range ran {
		if r.Error != "" {
			fmt.Fprintf(stderr, "klpcheck: %s\n", r.Error)
		}
	}
	return exit
}

// register defines check's flags on fs; it returns the --seed flag,
// which validate parses.
func (f *checkFlags) register(fs *flag.FlagSet) *string {
	fs.StringVar(&f.run, "run", "", "select scenarios by `name` globs")
	fs.StringVar(&f.table, "table", "", "select scenarios by verdict-table `globs`")
	fs.StringVar(&f.variant, "variant", "", "select scenarios by variant (table row) `globs`")
	fs.StringVar(&f.fetch, "fetch", "", "select scenarios by fetch model (table column) `globs`")
	fs.StringVar(&f.kind, "kind", "", "select scenarios by `kind` (engine, x86, livepatch, fentry, arm64, riscv)")
	fs.StringVar(&f.property, "property", "", "select scenarios that check property `id` (see 'klpcheck list properties')")
	fs.StringVar(&f.strategy, "strategy", "", "exploration `strategy` (dpor, exhaustive, bounded, random, pct); default: the scenario's, else dpor")
	fs.IntVar(&f.maxSteps, "max-steps", 0, "bound the scheduling steps of one execution, at least 1 (default: the scenario's, else 10000)")
	fs.Int64Var(&f.maxExecutions, "max-executions", 0, "bound the executions per scenario, at least 1 (default: the scenario's; unlimited for exhaustive strategies, 10000 for random and pct)")
	fs.IntVar(&f.maxPreemptions, "max-preemptions", 0, "highest preemption bound for the bounded strategy, at least 1 (default: the scenario's, else 3)")
	seed := fs.String("seed", "", "seed for random and pct (default: the scenario's, else 0)")
	fs.Var(&f.timeLimit, "time-limit", "stop each scenario after this `duration`, e.g. 90s (verdict incomplete)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "scenarios explored in parallel")
	fs.StringVar(&f.tracesDir, "traces", "", "write a trace per counterexample into `dir`")
	fs.BoolVar(&f.minimize, "minimize", false, "minimise each counterexample before writing its trace")
	fs.BoolVar(&f.quiet, "q", false, "no progress line on stderr")
	fs.BoolVar(&f.wide, "wide", false, "print each verdict table whole, however wide (default: split to fit 120 columns)")
	fs.BoolVar(&f.allowIncomplete, "allow-incomplete", false, "exit 0 even when a scenario with an expectation ends incomplete (time-limited or sampling runs)")
	fs.IntVar(&f.splitDepth, "split-depth", 0, "split each exhaustive search into independent tasks at this `depth`, at least 1 (counts depend on it; see --shard)")
	fs.Var(&f.shard, "shard", "explore only shard `i/n` (0 ≤ i < n) of one scenario's search split at --split-depth; write it to --out for 'klpcheck merge'")
	fs.StringVar(&f.out, "out", "", "with --shard: write the shard result to `file`")
	return seed
}

// validate checks the flags given on fs: every message is a usage error.
func (f *checkFlags) validate(fs *flag.FlagSet, seed string) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if seed != "" {
		if _, err := fmt.Sscan(seed, &f.seed); err != nil || strings.TrimSpace(seed) != fmt.Sprint(f.seed) {
			return fmt.Errorf("--seed: %q is not a non-negative integer", seed)
		}
		f.seedSet = true
	}
	if f.strategy != "" {
		if _, err := explore.ParseStrategy(f.strategy); err != nil {
			return fmt.Errorf("--strategy: %v", err)
		}
	}
	if f.maxSteps < 0 || f.maxExecutions < 0 || f.maxPreemptions < 0 {
		return fmt.Errorf("bounds must not be negative")
	}
	// A bound given is honoured or rejected; 0 would silently mean "the
	// default" to the engine.
	for _, z := range []struct {
		name string
		zero bool
		why  string
	}{
		{"max-steps", f.maxSteps == 0, "an execution needs at least one step"},
		{"max-executions", f.maxExecutions == 0, "a search needs at least one execution"},
		{"max-preemptions", f.maxPreemptions == 0, "the engine's bounded strategy cannot stop at 0 preemptions"},
	} {
		if given[z.name] && z.zero {
			return fmt.Errorf("--%s 0: %s; leave the flag out for the default", z.name, z.why)
		}
	}
	if given["split-depth"] && f.splitDepth < 1 {
		return fmt.Errorf("--split-depth %d: want at least 1 (leave the flag out for one task)", f.splitDepth)
	}
	if f.shard.set && (!given["split-depth"] || f.out == "") {
		return fmt.Errorf("--shard needs --split-depth and --out")
	}
	if f.out != "" && !f.shard.set {
		return fmt.Errorf("--out is for --shard results (use --json for a whole run)")
	}
	if f.workers < 1 {
		return fmt.Errorf("--workers: %d, want at least 1", f.workers)
	}
	if f.property != "" && !knownProperty(f.property) {
		return fmt.Errorf("--property: unknown property %q (see 'klpcheck list properties')", f.property)
	}
	if f.kind != "" {
		for _, k := range strings.Split(f.kind, ",") {
			if _, err := catalog.KindOf(strings.TrimSpace(k)); err != nil {
				return fmt.Errorf("--kind: %v", err)
			}
		}
	}
	return nil
}

// checkScenarios loads the scenarios files and sections name (the whole
// built-in catalog when none) and selects those f's filters match; nil
// and the exit status on bad input.
func checkScenarios(args []string, f checkFlags, stderr io.Writer) ([]catalog.Scenario, int) {
	// An argument that is not a file names a part of the built-in catalog:
	// a kind or a table ("klpcheck check history", "klpcheck check x86").
	var all []sourced
	files, sections := splitSections(args)
	if len(files) == 0 && len(sections) == 0 {
		all = fromSource(catalog.Builtin(), "the built-in catalog")
	}
	for _, sec := range sections {
		ss := builtinSection(sec)
		if len(ss) == 0 {
			return nil, inputError(stderr, fmt.Errorf("%s: no such scenario file, and no built-in kind or table of that name (see 'klpcheck list scenarios')", sec))
		}
		all = append(all, fromSource(ss, "the built-in catalog")...)
	}
	for _, file := range files {
		ss, err := catalog.LoadFile(file)
		if err != nil {
			return nil, inputError(stderr, err)
		}
		all = append(all, fromSource(ss, file)...)
	}
	all, err := uniqueNames(all)
	if err != nil {
		return nil, inputError(stderr, err)
	}
	scenarios := make([]catalog.Scenario, len(all))
	for i, s := range all {
		scenarios[i] = s.Scenario
	}
	if err := filtersMatchSomething(scenarios, f); err != nil {
		return nil, usageError(stderr, "check", "%v", err)
	}
	scenarios, err = selectScenarios(scenarios, f)
	if err != nil {
		return nil, usageError(stderr, "check", "%v", err)
	}
	if len(scenarios) == 0 {
		return nil, usageError(stderr, "check", "no scenario matches the filters (see 'klpcheck list scenarios')")
	}
	return scenarios, exitOK
}

// runInterruptible explores the scenarios; SIGINT or SIGTERM stops the
// running searches (their verdict is incomplete, "interrupted"), starts
// no new one, and returns what finished (nil for a scenario not run)
// with the signal. A second signal kills the process as usual.
func runInterruptible(scenarios []catalog.Scenario, f *checkFlags, stderr io.Writer) (results []*checkResult, wall, cpu time.Duration, got os.Signal) {
	intr := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	var sigDone sync.WaitGroup
	sigDone.Add(1)
	go func() {
		defer sigDone.Done()
		select {
		case got = <-sigs:
			signal.Stop(sigs)
			close(intr)
		case <-finished:
		}
	}()
	f.interrupt = intr
	wallStart, cpuStart := time.Now(), cpuTime()
	results = runScenarios(scenarios, *f, stderr)
	wall, cpu = time.Since(wallStart), cpuTime()-cpuStart
	close(finished)
	sigDone.Wait()
	signal.Stop(sigs)
	return results, wall, cpu, got
}

// sourced is a scenario with where it came from, for messages.
type sourced struct {
	catalog.Scenario
	from string
}

func fromSource(ss []catalog.Scenario, from string) []sourced {
	out := make([]sourced, len(ss))
	for i, s := range ss {
		out[i] = sourced{s, from}
	}
	return out
}

// uniqueNames drops repeats of the same scenario from the same source
// ("klpcheck check x86 history" selects the x86 history table twice) and
// refuses two scenarios of one name from different sources: results,
// traces and messages are keyed by name.
func uniqueNames(all []sourced) ([]sourced, error) {
	seen := map[string]sourced{}
	var out []sourced
	for _, s := range all {
		if prev, ok := seen[s.Name]; ok {
			if prev.from == s.from {
				continue
			}
			return nil, fmt.Errorf("scenario %q is defined in %s and in %s: scenario names must be unique in a run (rename one)", s.Name, prev.from, s.from)
		}
		seen[s.Name] = s
		out = append(out, s)
	}
	return out, nil
}

// uniqueTraceFiles refuses a run in which two scenarios would write the
// same trace file ("a/b" and "a_b" both become a_b.trace.json).
func uniqueTraceFiles(ss []catalog.Scenario) error {
	seen := map[string]string{}
	for _, s := range ss {
		name := traces.FileName(s.Name)
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("scenarios %q and %q would both write the trace %s: rename one, or run them separately", prev, s.Name, name)
		}
		seen[name] = s.Name
	}
	return nil
}

// filtersMatchSomething names a table, variant or fetch-model filter that
// matches none of the loaded scenarios' values (a typo, most likely),
// with the values it could have matched.
func filtersMatchSomething(ss []catalog.Scenario, f checkFlags) error {
	for _, flt := range []struct {
		flag, list, what string
		value            func(catalog.Scenario) string
	}{
		{"table", f.table, "table", func(s catalog.Scenario) string { return s.Table }},
		{"variant", f.variant, "variant", func(s catalog.Scenario) string { return s.Row }},
		{"fetch", f.fetch, "fetch model (column)", func(s catalog.Scenario) string { return s.Column }},
	} {
		if flt.list == "" {
			continue
		}
		var values []string
		for _, s := range ss {
			if v := flt.value(s); v != "" && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		for _, g := range strings.Split(flt.list, ",") {
			if g = strings.TrimSpace(g); g == "" {
				continue
			}
			m, err := globs(g)
			if err != nil {
				return err
			}
			if !slicesAny(values, m) {
				sort.Strings(values)
				return fmt.Errorf("--%s: %q matches no %s of the selected scenarios (have: %s)", flt.flag, g, flt.what, strings.Join(values, ", "))
			}
		}
	}
	return nil
}

func slicesAny(list []string, match func(string) bool) bool {
	for _, s := range list {
		if match(s) {
			return true
		}
	}
	return false
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
	if f.splitDepth > 0 {
		o.SplitDepth = f.splitDepth
	}
	o.TimeLimit = f.timeLimit.d
	o.Interrupt = f.interrupt
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

// runScenarios explores the scenarios on f.workers workers. When
// f.interrupt closes, no further scenario starts: its result stays nil.
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
feed:
	for i := range scenarios {
		if closed(f.interrupt) {
			break
		}
		select {
		case next <- i:
		case <-f.interrupt:
			break feed
		}
	}
	close(next)
	wg.Wait()
	prog.clear()
	return results
}

// closed reports whether c is closed (nil: never).
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func checkOne(s catalog.Scenario, f checkFlags, prog *progress) *checkResult {
	r := &checkResult{Scenario: s.Name, Kind: s.Kind, Table: s.Table, Row: s.Row, Column: s.Column, Expect: s.Expect}
	defer func() { r.Status = r.status() }()
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
	finishCheck(r, s, f, opts, res)
	return r
}

// finishCheck fills a scenario's result from its exploration (its own, or
// merged from shards), compares its event log, and writes its trace.
func finishCheck(r *checkResult, s catalog.Scenario, f checkFlags, opts explore.Options, res *explore.Result) {
	r.Verdict, r.Strategy, r.Bounds, r.Reason, r.Stats = res.Verdict, string(res.Strategy), res.Bounds, res.Reason, res.Stats
	r.coverage(res, opts)
	if res.Failure != nil {
		r.Property, r.Message = res.Failure.Property, res.Failure.Message
		r.Length, r.Preemptions, r.Schedule = res.Length, res.Preemptions, res.Schedule.String()
	}
	if s.ExpectLog != nil {
		// Like the selftests' check_result: the default execution's event
		// log, exact and in order.
		got, _, err := catalog.DefaultLog(s)
		switch {
		case err != nil:
			r.LogDiff = err.Error()
		default:
			r.LogDiff = catalog.LogDiff(got, s.ExpectLog)
		}
		r.LogChecked = true
	}
	r.Unexpected = r.status() == statusDiffers
	if res.Failure != nil && f.tracesDir != "" {
		// The trace is written even when the run is being interrupted
		// (a counterexample found is worth keeping); only its
		// minimisation is cut short.
		opts.Interrupt, opts.Progress = nil, nil
		tr, err := traces.New(s, opts, res)
		if err == nil && f.minimize && !closed(f.interrupt) {
			if m, merr := traces.Minimize(tr, traces.MinimizeOptions{Interrupt: f.interrupt}); merr == nil {
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
}

// summary is the run as a whole, as printed by --json.
type summary struct {
	Scenarios int            `json:"scenarios"`
	Verdicts  map[string]int `json:"verdicts"`
	// Expectations counts the results by status (as-expected, differs,
	// undecided, no-expectation).
	Expectations map[string]int `json:"expectations"`
	Unexpected   int            `json:"unexpected"`
	// Failing counts the results that make the exit status 1.
	Failing    int   `json:"failing"`
	Executions int64 `json:"executions"`
	// Elapsed is the sum of the scenarios' wall-clock times; Wall is the
	// run's, CPU the process's user+system time.
	Elapsed time.Duration `json:"elapsed_ns"`
	Wall    time.Duration `json:"wall_ns"`
	CPU     time.Duration `json:"cpu_ns"`
	Workers int           `json:"workers"`
	// Interrupted names the signal that stopped the run; NotRun lists
	// the scenarios it kept from starting.
	Interrupted string   `json:"interrupted,omitempty"`
	NotRun      []string `json:"not_run,omitempty"`
}

func summarize(results []*checkResult, f checkFlags) summary {
	s := summary{Scenarios: len(results), Verdicts: map[string]int{}, Expectations: map[string]int{}}
	for _, r := range results {
		s.Verdicts[string(r.Verdict)]++
		s.Expectations[r.status()]++
		s.Executions += r.Stats.Executions
		s.Elapsed += r.Stats.Elapsed
		if r.Unexpected {
			s.Unexpected++
		}
		if r.fails(f.allowIncomplete) {
			s.Failing++
		}
	}
	return s
}

// dur rounds a duration for tables: milliseconds below a minute, seconds
// above.
func dur(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func printTables(w io.Writer, results []*checkResult, sum summary, f checkFlags) {
	width := defaultWidth
	if f.wide {
		width = 0
	}
	// Group by table, in order of first appearance.
	var tables []string
	byTable := map[string][]*checkResult{}
	for _, r := range results {
		if _, ok := byTable[r.Table]; !ok {
			tables = append(tables, r.Table)
		}
		byTable[r.Table] = append(byTable[r.Table], r)
	}
	missing := false
	for ti, name := range tables {
		if ti > 0 {
			fmt.Fprintln(w)
		}
		missing = printTable(w, name, byTable[name], width) || missing
	}
	printTotals(w, results, sum, missing)
	printCounterexamples(w, results, width)
	printIncomplete(w, results)
	printInterrupted(w, results, sum)
	printGate(w, results, sum, f)
}

// printTable prints one verdict table: a matrix (variant × fetch model)
// when every result has a row and a column, else one line per scenario.
// It reports whether the matrix has empty cells.
func printTable(w io.Writer, name string, rs []*checkResult, width int) bool {
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
	head := "== " + title
	stats := fmt.Sprintf("%d scenarios, %d executions, %s", len(rs), execs, dur(elapsed))
	if width > 0 && runes(head)+2+runes(stats) > width {
		fmt.Fprintf(w, "%s\n   %s\n", head, stats)
	} else {
		fmt.Fprintf(w, "%s: %s\n", head, stats)
	}
	if !matrix(rs) {
		g := grid{head: []string{"scenario", "verdict", "executions", "time"}}
		for _, r := range rs {
			g.rows = append(g.rows, []string{r.Scenario, r.cell(), fmt.Sprint(r.Stats.Executions), dur(r.Stats.Elapsed)})
		}
		g.write(w)
		return false
	}
	m := matrixTable{cells: map[[2]string]string{}, rowExecs: map[string]int64{}, rowTime: map[string]string{}}
	rowTime := map[string]time.Duration{}
	for _, r := range rs {
		if !slices.Contains(m.rows, r.Row) {
			m.rows = append(m.rows, r.Row)
		}
		if !slices.Contains(m.cols, r.Column) {
			m.cols = append(m.cols, r.Column)
		}
		m.cells[[2]string{r.Row, r.Column}] = r.cell()
		m.rowExecs[r.Row] += r.Stats.Executions
		rowTime[r.Row] += r.Stats.Elapsed
	}
	for row, d := range rowTime {
		m.rowTime[row] = dur(d)
	}
	missing := m.missing()
	parts := m.parts(width)
	shown := 0
	for pi, g := range parts {
		n := len(g.head) - 1
		if pi == 0 {
			n -= 2 // executions, time
		}
		if len(parts) > 1 {
			fmt.Fprintf(w, "-- columns %d–%d of %d%s\n", shown+1, shown+n, len(m.cols), map[bool]string{true: " (rows with none of them left out)"}[pi > 0])
		}
		shown += n
		g.write(w)
	}
	return missing
}

// printTotals prints the legend, the verdict counts, the time and the
// expectations.
func printTotals(w io.Writer, results []*checkResult, sum summary, missing bool) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "legend:")
	lg := grid{}
	for _, l := range legend(results, missing) {
		lg.rows = append(lg.rows, append([]string{" "}, l...))
	}
	lg.write(w)

	fmt.Fprintf(w, "\n%d scenarios:", sum.Scenarios)
	for _, v := range []string{"safe", "violation", "stuck", "incomplete", "error"} {
		if n := sum.Verdicts[v]; n > 0 {
			fmt.Fprintf(w, " %d %s,", n, v)
		}
	}
	fmt.Fprintf(w, " %d executions\n", sum.Executions)
	fmt.Fprintf(w, "time: wall %s, CPU %s (user+system), %s summed over the scenarios' searches (%d workers)\n",
		dur(sum.Wall), dur(sum.CPU), dur(sum.Elapsed), sum.Workers)
	e := sum.Expectations
	fmt.Fprintf(w, "expectations: %d as expected, %d differ, %d undecided (incomplete), %d scenarios have none",
		e[statusAsExpected], e[statusDiffers], e[statusUndecided], e[statusNone])
	logs, logDiffs := 0, 0
	for _, r := range results {
		if r.LogChecked {
			logs++
			if r.LogDiff != "" {
				logDiffs++
			}
		}
	}
	if logs > 0 {
		fmt.Fprintf(w, "; event logs (expect_log): %d as expected, %d differ", logs-logDiffs, logDiffs)
	}
	fmt.Fprintln(w)

}

// printCounterexamples lists every violation and stuck verdict with its
// message's first line and its trace file.
func printCounterexamples(w io.Writer, results []*checkResult, width int) {
	var fails []*checkResult
	for _, r := range results {
		if r.Verdict == explore.Violation || r.Verdict == explore.Stuck {
			fails = append(fails, r)
		}
	}
	if len(fails) > 0 {
		fmt.Fprintln(w, "\ncounterexamples (steps/preemptions):")
		for _, r := range fails {
			fmt.Fprintln(w, fit(fmt.Sprintf("  %s: %s %s (%d/%d): %s", r.Scenario, r.Verdict, r.Property, r.Length, r.Preemptions, firstLine(r.Message)), width))
			if r.Trace != "" {
				fmt.Fprintf(w, "      trace: %s\n", r.Trace)
			}
		}
		if fails[0].Trace == "" {
			fmt.Fprintln(w, "(run with --traces DIR to write replayable traces)")
		}
	}
}

// printIncomplete lists the searches a bound cut short.
func printIncomplete(w io.Writer, results []*checkResult) {
	var incomplete []*checkResult
	for _, r := range results {
		if r.Verdict == explore.Incomplete {
			incomplete = append(incomplete, r)
		}
	}
	if len(incomplete) > 0 {
		fmt.Fprintln(w, "\nincomplete (a bound ran out before the search did):")
		for _, r := range incomplete {
			fmt.Fprintf(w, "  %s: %s; would have covered %s\n", r.Scenario, r.Reason, r.Bounds)
		}
	}
}

// printInterrupted says what a signal cut short.
func printInterrupted(w io.Writer, results []*checkResult, sum summary) {
	if sum.Interrupted != "" {
		cut := 0
		for _, r := range results {
			if r.Cut == cutInterrupted {
				cut++
			}
		}
		fmt.Fprintf(w, "\ninterrupted by %s: %d of %d scenarios ran (%d of them cut short)", sum.Interrupted, sum.Scenarios, sum.Scenarios+len(sum.NotRun), cut)
		if len(sum.NotRun) == 0 {
			fmt.Fprintln(w)
		} else {
			fmt.Fprintf(w, "; not run:\n")
			for _, n := range sum.NotRun {
				fmt.Fprintf(w, "  %s\n", n)
			}
		}
	}

}

// printGate prints the verdict a CI gates on, last.
func printGate(w io.Writer, results []*checkResult, sum summary, f checkFlags) {
	fmt.Fprintln(w)
	switch {
	case sum.Interrupted != "":
		fmt.Fprintln(w, "INTERRUPTED: the verdicts above are those of the scenarios that finished")
	case sum.Failing == 0:
		fmt.Fprintln(w, "OK: every verdict is as its scenario expects")
	default:
		fmt.Fprintf(w, "FAIL: %d scenarios:\n", sum.Failing)
		for _, r := range results {
			if !r.fails(f.allowIncomplete) {
				continue
			}
			switch r.status() {
			case statusDiffers:
				if r.Expect != "" && r.outcome() != r.Expect {
					fmt.Fprintf(w, "  %s: got %s, expected %s\n", r.Scenario, r.outcome(), r.Expect)
				}
				if r.LogDiff != "" {
					fmt.Fprintf(w, "  %s: the event log differs from expect_log: %s\n", r.Scenario, r.LogDiff)
				}
			case statusUndecided:
				fmt.Fprintf(w, "  %s: incomplete (%s), expected %s (--allow-incomplete accepts this)\n", r.Scenario, r.Cut, r.Expect)
			default:
				fmt.Fprintf(w, "  %s: %s (the scenario has no expectation)\n", r.Scenario, r.outcome())
			}
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

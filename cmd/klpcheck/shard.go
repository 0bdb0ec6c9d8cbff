package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/traces"
)

// Sharding spreads one scenario's exhaustive search over processes that
// share nothing: 'check --shard i/n --split-depth D --out FILE' explores
// the tasks k ≡ i (mod n) of the search split at depth D and writes them;
// 'merge FILES…' combines the n files into the result one unsharded
// 'check --split-depth D' prints. A batch system (a Kubernetes Indexed Job,
// a Slurm array, GNU parallel) runs the shards; a shard that dies is simply
// run again and writes the same file.

// shardFormat names the shard file layout; shardVersion versions it.
const (
	shardFormat  = "klpcheck-shard"
	shardVersion = 1
)

// shardFile is one shard's result with what merge needs to check that
// all shards belong to the same search and to print its verdict.
type shardFile struct {
	Format       string `json:"format"`
	Version      int    `json:"version"`
	ModelVersion int    `json:"model_version"`
	// KindVersion is the scenario kind's own model version (0 when the
	// kind does not version itself).
	KindVersion int              `json:"kind_version"`
	Scenario    catalog.Scenario `json:"scenario"`
	// CPU is the shard process's user+system time.
	CPU    time.Duration        `json:"cpu_ns"`
	Result *explore.ShardResult `json:"result"`
}

// shardFlag is "i/n".
type shardFlag struct {
	set   bool
	i, of int
}

func (s *shardFlag) String() string {
	if s == nil || !s.set {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.of)
}

func (s *shardFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q: want i/n, e.g. 0/4", v)
	}
	if n < 1 || i < 0 || i >= n {
		return fmt.Errorf("%q: want 0 ≤ i < n", v)
	}
	*s = shardFlag{set: true, i: i, of: n}
	return nil
}

// checkShard explores one shard of the one selected scenario and writes
// its file.
func checkShard(scenarios []catalog.Scenario, f checkFlags, stdout, stderr io.Writer) int {
	if len(scenarios) > 1 {
		// --run NAME matches NAME as a substring; prefer the scenario
		// named exactly NAME.
		for _, s := range scenarios {
			if s.Name == f.run {
				scenarios = []catalog.Scenario{s}
				break
			}
		}
	}
	if len(scenarios) != 1 {
		return usageError(stderr, "check", "--shard explores one scenario; the filters select %d (narrow them, e.g. --run NAME)", len(scenarios))
	}
	s := scenarios[0]
	p, err := catalog.Build(s)
	if err != nil {
		return inputError(stderr, err)
	}
	opts, err := options(s, f)
	if err != nil {
		return inputError(stderr, fmt.Errorf("scenario %q: explore: %v", s.Name, err))
	}
	cpu := cpuTime()
	res, err := explore.ExploreShard(p, opts, f.shard.i, f.shard.of)
	if err != nil {
		return inputError(stderr, fmt.Errorf("scenario %q: --shard: %v", s.Name, err))
	}
	sf := shardFile{Format: shardFormat, Version: shardVersion, ModelVersion: traces.ModelVersion,
		KindVersion: traces.KindVersion(s.Kind), Scenario: s, CPU: cpuTime() - cpu, Result: res}
	var buf bytes.Buffer
	writeJSON(&buf, sf)
	// Write and rename: a shard killed mid-write leaves no file that
	// merge could mistake for a result.
	tmp := f.out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return inputError(stderr, err)
	}
	if err := os.Rename(tmp, f.out); err != nil {
		return inputError(stderr, err)
	}
	var execs int64
	failed := ""
	for _, t := range res.Results {
		execs += t.Stats.Executions
		if t.Failure != nil {
			failed = fmt.Sprintf(", task %d fails %s", t.Task, t.Failure.Property)
		}
	}
	fmt.Fprintf(stdout, "%s: shard %d/%d: %d of %d tasks, %d executions%s, %s → %s\n",
		s.Name, f.shard.i, f.shard.of, len(res.Results), res.Tasks, execs, failed, dur(res.Elapsed), f.out)
	return exitOK
}

const mergeHelp = `
Combines the shard files of one search ('klpcheck check --shard i/n
--split-depth D --out FILE', for every i of n) and prints what one unsharded
'klpcheck check --split-depth D' of the scenario prints: the same verdict,
executions and counterexample (times aside). The files may come in any
order. merge refuses (exit 2) a missing or duplicated shard, shards of
different scenarios, model versions, split depths or step bounds, and a
shard file cut short.

Examples:
  klpcheck merge out/shard-*.json
  klpcheck merge --json out/shard-*.json
  klpcheck merge --traces out/ out/shard-*.json   # then: klpcheck replay out/…trace.json
`

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	c := newCommand("merge", "merge [--json] [--traces DIR] SHARD-FILE...", mergeHelp, stderr)
	var f checkFlags
	c.fs.StringVar(&f.tracesDir, "traces", "", "write the counterexample's trace into `dir`")
	files, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(files) == 0 {
		return usageError(stderr, "merge", "no shard files given")
	}
	var sfs []*shardFile
	for _, file := range files {
		sf, err := readShard(file)
		if err != nil {
			return inputError(stderr, err)
		}
		if len(sfs) > 0 {
			if err := sameSearch(files[0], sfs[0], file, sf); err != nil {
				return inputError(stderr, err)
			}
		}
		sfs = append(sfs, sf)
	}
	first := sfs[0]
	s := first.Scenario
	opts, err := s.Explore.Options()
	if err != nil {
		return inputError(stderr, fmt.Errorf("%s: scenario %q: explore: %v", files[0], s.Name, err))
	}
	opts.Strategy, opts.MaxSteps, opts.SplitDepth = first.Result.Strategy, first.Result.MaxSteps, first.Result.SplitDepth
	parts := make([]*explore.ShardResult, len(sfs))
	var cpu time.Duration
	for i, sf := range sfs {
		parts[i] = sf.Result
		cpu += sf.CPU
	}
	res, err := explore.MergeShards(opts, parts)
	if err != nil {
		return inputError(stderr, fmt.Errorf("merge: scenario %q: %v", s.Name, err))
	}
	if f.tracesDir != "" {
		if err := os.MkdirAll(f.tracesDir, 0o755); err != nil {
			return inputError(stderr, err)
		}
	}
	r := &checkResult{Scenario: s.Name, Kind: s.Kind, Table: s.Table, Row: s.Row, Column: s.Column, Expect: s.Expect}
	finishCheck(r, s, f, opts, res)
	r.Status = r.status()
	ran := []*checkResult{r}
	sum := summarize(ran, f)
	sum.Wall, sum.CPU, sum.Workers = res.Stats.Elapsed, cpu, len(sfs)
	exit := exitOK
	if r.fails(false) {
		exit = exitFail
	}
	if r.Error != "" {
		fmt.Fprintf(stderr, "klpcheck: %s\n", r.Error)
		exit = exitUsage
	}
	if c.json {
		writeJSON(stdout, map[string]any{"results": ran, "summary": sum})
	} else {
		printTables(stdout, ran, sum, f)
	}
	return exit
}

// readShard reads a shard file strictly.
func readShard(file string) (*shardFile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sf shardFile
	if err := dec.Decode(&sf); err != nil {
		return nil, fmt.Errorf("%s: not a shard file: %v", file, err)
	}
	switch {
	case sf.Format != shardFormat:
		return nil, fmt.Errorf("%s: format: %q, want %q", file, sf.Format, shardFormat)
	case sf.Version != shardVersion:
		return nil, fmt.Errorf("%s: version: %d, this klpcheck reads version %d", file, sf.Version, shardVersion)
	case sf.ModelVersion != traces.ModelVersion:
		return nil, fmt.Errorf("%s: model_version: the shard was explored with model version %d, this klpcheck has version %d: re-run the shards with one klpcheck", file, sf.ModelVersion, traces.ModelVersion)
	case sf.KindVersion != traces.KindVersion(sf.Scenario.Kind):
		return nil, fmt.Errorf("%s: kind_version: the shard was explored with %s model version %d, this klpcheck has version %d", file, sf.Scenario.Kind, sf.KindVersion, traces.KindVersion(sf.Scenario.Kind))
	case sf.Result == nil:
		return nil, fmt.Errorf("%s: result: missing", file)
	}
	return &sf, nil
}

// sameSearch refuses shards of different scenarios or model versions.
func sameSearch(fa string, a *shardFile, fb string, b *shardFile) error {
	ja, _ := json.Marshal(a.Scenario)
	jb, _ := json.Marshal(b.Scenario)
	switch {
	case a.Scenario.Name != b.Scenario.Name:
		return fmt.Errorf("merge: %s is a shard of scenario %q, %s of %q", fa, a.Scenario.Name, fb, b.Scenario.Name)
	case !bytes.Equal(ja, jb):
		return fmt.Errorf("merge: %s and %s are shards of two different definitions of scenario %q (parameters or bounds differ)", fa, fb, a.Scenario.Name)
	case a.ModelVersion != b.ModelVersion || a.KindVersion != b.KindVersion:
		return fmt.Errorf("merge: %s and %s were explored with different model versions", fa, fb)
	case a.Result.SplitDepth != b.Result.SplitDepth:
		return fmt.Errorf("merge: %s was split at depth %d, %s at depth %d", fa, a.Result.SplitDepth, fb, b.Result.SplitDepth)
	case a.Result.Of != b.Result.Of:
		return fmt.Errorf("merge: %s is shard %d/%d, %s is shard %d/%d: not one split", fa, a.Result.Shard, a.Result.Of, fb, b.Result.Shard, b.Result.Of)
	}
	return nil
}

package main

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
)

// What a verdict covers, and whether it is what the scenario expects. A
// CI gates on the second; a person reading a table needs the first: a
// "safe" within one preemption is not a proof, and an incomplete search
// proves nothing.

// Cuts: why a search ended before it could give a verdict, as shown in an
// incomplete cell ("incomplete (time)") and in --json ("cut").
const (
	cutTime        = "time"        // --time-limit ran out
	cutInterrupted = "interrupted" // SIGINT or SIGTERM
	cutSteps       = "steps"       // an execution hit the step bound
	cutExecutions  = "execs"       // the execution budget ran out
	cutSampled     = "sampled"     // random or PCT: sampling cannot prove safety
	cutOther       = "bound"       // a reason this build does not classify
)

// cutLegend explains each cut, in legend order.
var cutLegend = []struct{ cut, meaning string }{
	{cutTime, "the --time-limit ran out"},
	{cutSteps, "an execution reached the step bound (max_steps)"},
	{cutExecutions, "the execution budget ran out (max_executions)"},
	{cutSampled, "random or pct sampled without a violation; sampling proves nothing"},
	{cutInterrupted, "stopped by SIGINT or SIGTERM"},
	{cutOther, "another bound ran out (see the reason under the tables)"},
}

// classifyCut names the bound an incomplete search ran out of, from the
// engine's Reason (TestClassifyCut pins the engine's wording).
func classifyCut(reason string, maxExecutions int64) string {
	switch {
	case reason == "interrupted":
		return cutInterrupted
	case strings.HasPrefix(reason, "time limit"):
		return cutTime
	case strings.Contains(reason, "step bound"):
		return cutSteps
	case strings.Contains(reason, "execution budget"), reason == "" && maxExecutions > 0:
		return cutExecutions
	case strings.Contains(reason, "sampling cannot prove"):
		return cutSampled
	}
	return cutOther
}

// coverage fills in what a result covers: for a safe verdict, whether it
// is exhaustive or holds only up to a preemption bound; for an incomplete
// one, what cut it.
func (r *checkResult) coverage(res *explore.Result, opts explore.Options) {
	switch res.Verdict {
	case explore.Safe:
		// A safe verdict never has executions cut by the step bound (the
		// engine makes those incomplete), so only a preemption bound can
		// limit it; the bounded strategy says when that bound cut nothing.
		if res.Strategy == explore.Bounded && !strings.Contains(res.Bounds, "no more than") {
			n := opts.MaxPreemptions
			if n <= 0 {
				n = 3 // the engine's default
			}
			r.PreemptionBound = &n
		} else {
			r.Exhaustive = true
		}
	case explore.Incomplete:
		r.Cut = classifyCut(res.Reason, opts.MaxExecutions)
	}
}

// Expectation statuses, in --json ("status") and in the summary.
const (
	statusAsExpected = "as-expected" // the verdict is the expected one
	statusDiffers    = "differs"     // a definite verdict other than the expected one
	statusUndecided  = "undecided"   // expected something, the search ended incomplete
	statusNone       = "no-expectation"
)

func (r *checkResult) status() string {
	switch {
	case r.LogDiff != "":
		return statusDiffers
	case r.Expect == "":
		return statusNone
	case r.Verdict == explore.Incomplete:
		return statusUndecided
	case r.outcome() == r.Expect:
		return statusAsExpected
	}
	return statusDiffers
}

// fails reports whether the result makes `check` exit 1: a verdict that
// differs from its expectation; without an expectation, a violation or a
// stuck verdict; and, unless allowIncomplete, an incomplete search of a
// scenario that has an expectation (it was not confirmed).
func (r *checkResult) fails(allowIncomplete bool) bool {
	switch r.status() {
	case statusDiffers:
		return true
	case statusUndecided:
		return !allowIncomplete
	case statusNone:
		return r.Verdict == explore.Violation || r.Verdict == explore.Stuck
	}
	return false
}

// cell is a result's verdict-table cell: it always says what it covers.
func (r *checkResult) cell() string {
	var s string
	switch r.Verdict {
	case explore.Violation, explore.Stuck:
		s = fmt.Sprintf("%s %s %d/%d", r.Verdict, r.Property, r.Length, r.Preemptions)
	case explore.Safe:
		s = "safe"
		if r.PreemptionBound != nil {
			s = fmt.Sprintf("safe≤%dp", *r.PreemptionBound)
		}
	case explore.Incomplete:
		s = fmt.Sprintf("incomplete (%s)", r.Cut)
	default:
		s = string(r.Verdict)
	}
	if r.status() == statusDiffers {
		s += " (!)"
	}
	return s
}

// legend explains the marks that appear in the results' cells ("-" when
// a table has a missing cell), as (mark, meaning) rows.
func legend(results []*checkResult, missing bool) [][]string {
	var safe, bounded, violation, stuck, differs bool
	cuts := map[string]bool{}
	for _, r := range results {
		switch r.Verdict {
		case explore.Safe:
			safe = safe || r.PreemptionBound == nil
			bounded = bounded || r.PreemptionBound != nil
		case explore.Violation:
			violation = true
		case explore.Stuck:
			stuck = true
		case explore.Incomplete:
			cuts[r.Cut] = true
		}
		differs = differs || r.status() == statusDiffers
	}
	var out [][]string
	if safe {
		out = append(out, []string{"safe", "every interleaving explored (dpor: one per equivalence class), none fails"})
	}
	if bounded {
		out = append(out, []string{"safe≤Np", "every interleaving with at most N preemptions explored, none fails; more were not tried"})
	}
	if violation {
		out = append(out, []string{"violation P L/K", "safety property P fails: a counterexample of L steps with K preemptions"})
	}
	if stuck {
		out = append(out, []string{"stuck P L/K", "liveness property P fails: after L steps (K preemptions) nothing can progress"})
	}
	for _, c := range cutLegend {
		if cuts[c.cut] {
			out = append(out, []string{"incomplete (" + c.cut + ")", "no verdict: " + c.meaning})
		}
	}
	if differs {
		out = append(out, []string{"(!)", "differs from the scenario's expectation (exit status 1)"})
	}
	if missing {
		out = append(out, []string{"-", "no scenario for this variant and column"})
	}
	return append(out, []string{"executions, time", "per row, summed over its scenarios (time: each search's wall clock)"})
}

package explore

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// visitAll runs a whole DFS without stopping at failures and calls visit
// after every execution that was not pruned. It is the oracle machinery
// of the differential tests.
func visitAll(prog Program, mode dfsMode, maxSteps int, visit func(ex *execution, end outcome)) (executions, pruned int) {
	d := &dfs{mode: mode}
	if mode == modeStateful {
		d.states = newStateTable()
	}
	ex := newExecution(prog, d, maxSteps, true)
	defer ex.close()
	ex.hashPaths = d.states != nil
	for {
		end := ex.run()
		executions++
		if end == endPruned || end == endRevisit {
			pruned++
		} else {
			visit(ex, end)
		}
		if mode.reduces() {
			d.addBacktracks(ex)
		}
		if !d.advance(ex) {
			return
		}
	}
}

// traceKey is a canonical name of the Mazurkiewicz trace of the last
// execution: for each thread, its events' labels and vector clocks, and
// its choices. Two executions have the same key iff they are equivalent.
func traceKey(ex *execution) uint64 {
	h := fnv.New64a()
	n := len(ex.sys.threads)
	for p := 0; p < n; p++ {
		fmt.Fprintf(h, "|T%d:", p)
		for i := range ex.events {
			e := &ex.events[i]
			if int(e.thread) != p {
				continue
			}
			fmt.Fprintf(h, "%s%v;", e.label, ex.clockOf(int32(i))[:n])
		}
		for i := 0; i < ex.cursor; i++ {
			nd := &ex.nodes[i]
			if nd.kind == nodeChoice && int(nd.thread) == p {
				fmt.Fprintf(h, "c%d;", nd.chosen)
			}
		}
	}
	fmt.Fprintf(h, "|end%d", ex.end)
	return h.Sum64()
}

// countTraces enumerates every interleaving and counts the distinct
// Mazurkiewicz traces.
func countTraces(prog Program, maxSteps int) (traces, executions int) {
	seen := map[uint64]bool{}
	executions, _ = visitAll(prog, modePlain, maxSteps, func(ex *execution, _ outcome) {
		seen[traceKey(ex)] = true
	})
	return len(seen), executions
}

// outcomes lists the distinct end results of every execution: the final
// state as the program's summary describes it, or the failure.
func outcomes(prog Program, mode dfsMode, summary func(*System) string) (set []string, complete, pruned int) {
	m := map[string]bool{}
	execs, pr := visitAll(prog, mode, 1000, func(ex *execution, end outcome) {
		var key string
		switch end {
		case endFailure:
			key = "FAIL " + ex.failure.Property + ": " + ex.failure.Message
		case endTruncated:
			key = "TRUNCATED"
		default:
			key = "END " + summary(ex.sys)
		}
		m[key] = true
	})
	for k := range m {
		set = append(set, k)
	}
	sort.Strings(set)
	return set, execs - pr, pr
}

func diffSets(a, b []string) string {
	in := map[string]int{}
	for _, x := range a {
		in[x] |= 1
	}
	for _, x := range b {
		in[x] |= 2
	}
	var out []string
	for k, v := range in {
		switch v {
		case 1:
			out = append(out, "only dpor: "+k)
		case 2:
			out = append(out, "only exhaustive: "+k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

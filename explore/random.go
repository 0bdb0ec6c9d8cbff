package explore

import (
	"fmt"
	"math/rand/v2"
)

// seedFor derives the seed of execution i from the run's seed, so an
// execution's schedule does not depend on which worker ran it.
func seedFor(seed uint64, i int64) (uint64, uint64) {
	x := seed ^ 0x9e3779b97f4a7c15
	y := uint64(i)*0xbf58476d1ce4e5b9 + 0x94d049bb133111eb
	return x, y
}

// walk is the random-walk driver: every decision uniform over the enabled
// threads or the choice's values.
type walk struct {
	rng rand.PCG
	r   *rand.Rand
}

func newWalk() *walk {
	w := &walk{}
	w.r = rand.New(&w.rng)
	return w
}

func (w *walk) reseed(seed uint64, i int64) { w.rng.Seed(seedFor(seed, i)) }

func (w *walk) beginExecution(ex *execution) { ex.nodes = ex.nodes[:0] }

func (w *walk) pickThread(ex *execution, enabled uint64) int {
	k := w.r.IntN(popcount(enabled))
	pick := nthBit(enabled, k)
	ex.nodes = append(ex.nodes, node{kind: nodeSched, enabled: enabled, chosen: int32(pick), prev: ex.prev})
	ex.cursor++
	return pick
}

func (w *walk) pickValue(ex *execution, t *Thread, n int) int {
	v := w.r.IntN(n)
	ex.nodes = append(ex.nodes, node{kind: nodeChoice, n: int32(n), chosen: int32(v), thread: int32(t.id)})
	ex.cursor++
	return v
}

// pct is the PCT driver (Burckhardt et al., ASPLOS 2010): threads get
// random distinct priorities, the highest-priority enabled thread runs,
// and at depth-1 random steps the running thread drops to a priority
// below every initial one. It finds a bug of depth d with probability at
// least 1/(n·k^(d-1)).
type pct struct {
	walk
	depth    int
	horizon  int // estimate of steps per execution, for change points
	prio     [MaxThreads]int
	change   []int // steps at which the running thread is demoted
	assigned int   // threads that have a priority
}

func newPCT(depth, horizon int) *pct {
	p := &pct{depth: depth, horizon: horizon}
	p.r = rand.New(&p.rng)
	return p
}

func (p *pct) beginExecution(ex *execution) {
	ex.nodes = ex.nodes[:0]
	p.assigned = 0
	p.change = p.change[:0]
	for k := 1; k < p.depth; k++ {
		p.change = append(p.change, 1+p.r.IntN(max(1, p.horizon)))
	}
}

func (p *pct) pickThread(ex *execution, enabled uint64) int {
	for p.assigned < len(ex.sys.threads) {
		// Initial priorities are above depth, so demotions (1..depth-1)
		// rank below every thread.
		p.prio[p.assigned] = p.depth + 1 + p.r.IntN(1<<20)
		p.assigned++
	}
	step := len(ex.events)
	// At a change point the thread that has been running drops below
	// every other before the next pick.
	for k, c := range p.change {
		if c == step && ex.prev >= 0 {
			p.prio[ex.prev] = p.depth - 1 - k
		}
	}
	best, bestPrio := -1, -1
	for m := enabled; m != 0; m &= m - 1 {
		q := lowestBit(m)
		if p.prio[q] > bestPrio {
			best, bestPrio = q, p.prio[q]
		}
	}
	ex.nodes = append(ex.nodes, node{kind: nodeSched, enabled: enabled, chosen: int32(best), prev: ex.prev})
	ex.cursor++
	return best
}

// replayer follows a recorded schedule. When the schedule runs out it
// either extends it with default decisions (extend) or stops.
type replayer struct {
	sched    Schedule
	extend   bool
	diverged *DivergenceError
}

// DivergenceError says where a replayed schedule stopped matching the
// program.
type DivergenceError struct {
	Node   int    // index in the schedule
	Step   int    // scheduling steps executed before it
	Reason string // what did not match
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("schedule diverged at decision %d (step %d): %s", e.Node, e.Step, e.Reason)
}

func (r *replayer) beginExecution(ex *execution) { ex.nodes = ex.nodes[:0] }

func (r *replayer) pickThread(ex *execution, enabled uint64) int {
	i := ex.cursor
	if r.diverged != nil {
		return -1
	}
	var pick int
	switch {
	case i < len(r.sched):
		pick = r.sched[i]
		if pick < 0 || pick >= len(ex.sys.threads) {
			r.diverged = &DivergenceError{i, len(ex.events), fmt.Sprintf("the schedule names thread %d but only %d exist", pick, len(ex.sys.threads))}
			return -1
		}
		if enabled&(1<<uint(pick)) == 0 {
			t := ex.sys.threads[pick]
			why := "it has finished"
			if t.status == statusPending {
				why = fmt.Sprintf("it is blocked at %q", t.label)
			}
			r.diverged = &DivergenceError{i, len(ex.events), fmt.Sprintf("the schedule runs thread %d (%s) but %s", pick, t.name, why)}
			return -1
		}
	case r.extend:
		pick = lowestBit(enabled)
		if ex.prev >= 0 && enabled&(1<<uint(ex.prev)) != 0 {
			pick = int(ex.prev)
		}
	default:
		r.diverged = &DivergenceError{i, len(ex.events), "the schedule ended but the execution goes on"}
		return -1
	}
	ex.nodes = append(ex.nodes, node{kind: nodeSched, enabled: enabled, chosen: int32(pick), prev: ex.prev, label: ex.sys.threads[pick].label})
	ex.cursor++
	return pick
}

func (r *replayer) pickValue(ex *execution, t *Thread, n int) int {
	i := ex.cursor
	v := 0
	switch {
	case r.diverged != nil:
	case i < len(r.sched):
		v = r.sched[i]
		if v < 0 || v >= n {
			r.diverged = &DivergenceError{i, len(ex.events), fmt.Sprintf("the schedule chooses %d at %s's choice of %d values at %q", v, t.name, n, t.label)}
			v = 0
		}
	case !r.extend:
		r.diverged = &DivergenceError{i, len(ex.events), "the schedule ended but the execution goes on"}
	}
	ex.nodes = append(ex.nodes, node{kind: nodeChoice, n: int32(n), chosen: int32(v), thread: int32(t.id), label: t.label})
	ex.cursor++
	return v
}

func popcount(m uint64) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func nthBit(m uint64, k int) int {
	for ; k > 0; k-- {
		m &= m - 1
	}
	return lowestBit(m)
}

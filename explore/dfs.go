package explore

import "fmt"

// dfsMode selects how a depth-first search expands a scheduling node.
type dfsMode uint8

const (
	modeOptimal  dfsMode = iota // optimal DPOR: wakeup trees from races, plus sleep sets (experimental)
	modePlain                   // every enabled thread: plain enumeration
	modeBounded                 // every enabled thread within a preemption bound
	modeSource                  // source-set DPOR: one initial per race, plus sleep sets
	modeStateful                // every enabled thread, each distinct state expanded once
)

// modeDPOR is the DPOR the DPOR strategy runs.
const modeDPOR = modeSource

// reduces reports whether the mode is a DPOR (races, sleep sets).
func (m dfsMode) reduces() bool { return m == modeOptimal || m == modeSource }

// sleeps reports whether the mode keeps sleep sets: the DPORs, and the
// stateful search (sleep sets with state caching, state.go).
func (m dfsMode) sleeps() bool { return m.reduces() || m == modeStateful }

// dfs is the stateless depth-first driver: it re-runs the program for each
// execution, replaying the decision path up to the node being backtracked
// and extending it with fresh decisions.
type dfs struct {
	mode  dfsMode
	bound int32 // modeBounded: preemptions allowed

	fixed     int // nodes [0, fixed) belong to the task prefix and never change
	firstNew  int // first node whose decision changed since the last execution
	nextSleep uint64
	curPre    int32 // preemptions so far in this execution

	// boundCut records that the preemption bound excluded some thread.
	boundCut bool

	// states are the states the stateful search has expanded.
	states *stateTable

	// guide is the wakeup subtree the next new scheduling node follows
	// (optimal DPOR).
	guide *wnode
	// Scratch space of race reversal.
	seq   []int32
	taken [MaxThreads]int32

	// Frontier generation (split for parallel workers): when cut > 0, an
	// execution that reaches node cut is stopped and its path recorded.
	cut      int
	frontier [][]node
}

// optimal reports whether this search grows wakeup trees.
func (d *dfs) optimal() bool { return d.mode == modeOptimal && d.cut == 0 }

func (d *dfs) beginExecution(ex *execution) {
	d.guide = nil
	d.nextSleep = 0
	d.curPre = 0
}

func (d *dfs) pickThread(ex *execution, enabled uint64) int {
	i := ex.cursor
	ex.cursor++
	if d.cut > 0 && i >= d.cut {
		d.recordFrontier(ex, i)
		return -1
	}
	var n *node
	if i < len(ex.nodes) {
		n = &ex.nodes[i]
		if n.kind != nodeSched || n.enabled != enabled {
			panic(fmt.Sprintf("explore: the program is not deterministic: node %d was a %s with enabled set %#x, now a scheduling node with %#x",
				i, kindName(n.kind), n.enabled, enabled))
		}
	} else {
		todo := enabled
		if d.states != nil {
			key := ex.stateKey()
			slots := d.states.visit(key, int32(len(ex.events)), ex.toSlots(d.nextSleep))
			if slots == 0 {
				ex.cursor--
				return revisited
			}
			if slots != everything {
				todo = ex.fromSlots(slots) & enabled
			}
		}
		ex.nodes = append(ex.nodes, node{
			kind:        nodeSched,
			enabled:     enabled,
			prev:        ex.prev,
			preemptions: d.curPre,
		})
		n = &ex.nodes[i]
		if d.mode.sleeps() {
			n.sleep = d.nextSleep
		}
		cands := todo &^ n.sleep
		if d.mode == modeBounded && n.preemptions >= d.bound && n.prev >= 0 && enabled&(1<<uint(n.prev)) != 0 {
			if cands != 1<<uint(n.prev) {
				d.boundCut = true
			}
			cands = 1 << uint(n.prev)
		}
		if cands == 0 {
			// Every enabled thread sleeps: this execution only repeats
			// interleavings already explored.
			ex.nodes = ex.nodes[:i]
			return -1
		}
		pick := -1
		if d.optimal() && d.guide != nil && len(d.guide.kids) > 0 {
			// Follow the wakeup subtree handed down by the parent.
			n.wut = d.guide.clone()
			for len(n.wut.kids) > 0 && pick < 0 {
				if h := int(n.wut.kids[0].thread); cands&(1<<uint(h)) != 0 {
					pick = h
					n.next = n.wut.take(0)
				} else {
					n.wut.take(0)
				}
			}
		}
		if pick < 0 {
			pick = lowestBit(cands)
			if n.prev >= 0 && cands&(1<<uint(n.prev)) != 0 {
				pick = int(n.prev) // no needless preemption
			}
		}
		n.chosen = int32(pick)
		if d.mode.reduces() && d.cut == 0 {
			n.backtrack = 1 << uint(pick)
		} else {
			n.backtrack = cands
		}

		n.label = ex.sys.threads[pick].label
	}
	chosen := int(n.chosen)
	if preemptionAt(n.prev, n.enabled, chosen) {
		d.curPre = n.preemptions + 1
	} else {
		d.curPre = n.preemptions
	}
	if d.mode.sleeps() {
		d.nextSleep = childSleep(ex, n, chosen)
	}
	d.guide = n.next
	return chosen
}

// childSleep is the sleep set after running chosen from n: the threads
// asleep at n or explored from n before, whose pending operation is
// independent of chosen's.
func childSleep(ex *execution, n *node, chosen int) uint64 {
	s := (n.sleep | n.done) &^ (1 << uint(chosen))
	if s == 0 {
		return 0
	}
	fps := &ex.sys.threads[chosen].fps
	var out uint64
	for m := s; m != 0; m &= m - 1 {
		q := lowestBit(m)
		if !ex.sys.dependent(&ex.sys.threads[q].fps, fps) {
			out |= 1 << uint(q)
		}
	}
	return out
}

func (d *dfs) pickValue(ex *execution, t *Thread, n int) int {
	i := ex.cursor
	ex.cursor++
	if i < len(ex.nodes) {
		nd := &ex.nodes[i]
		if nd.kind != nodeChoice || int(nd.n) != n {
			panic(fmt.Sprintf("explore: the program is not deterministic: node %d was a %s, now a choice of %d", i, kindName(nd.kind), n))
		}
		return int(nd.chosen)
	}
	ex.nodes = append(ex.nodes, node{kind: nodeChoice, n: int32(n), thread: int32(t.id), label: t.label})
	return 0
}

func (d *dfs) recordFrontier(ex *execution, i int) {
	p := make([]node, i)
	copy(p, ex.nodes[:i])
	d.frontier = append(d.frontier, p)
}

// advance moves to the next execution: the deepest node that still has an
// unexplored alternative. It returns false when the tree is exhausted.
func (d *dfs) advance(ex *execution) bool {
	for i := len(ex.nodes) - 1; i >= d.fixed; i-- {
		n := &ex.nodes[i]
		switch n.kind {
		case nodeSched:
			n.done |= 1 << uint(n.chosen)
			if d.optimal() {
				if d.nextBranch(n) {
					ex.nodes = ex.nodes[:i+1]
					d.firstNew = i
					return true
				}
				continue
			}
			rem := n.backtrack &^ n.done &^ n.sleep
			if rem != 0 {
				n.chosen = int32(lowestBit(rem))
				ex.nodes = ex.nodes[:i+1]
				d.firstNew = i
				return true
			}
		case nodeChoice:
			if n.chosen+1 < n.n {
				n.chosen++
				ex.nodes = ex.nodes[:i+1]
				d.firstNew = i
				return true
			}
		}
	}
	return false
}

// addBacktracks is source-DPOR's race reversal: for every race (i, j) of
// the last execution, some initial of notdep(i).j must be explored from
// the state before i.
func (d *dfs) addBacktracks(ex *execution) {
	if d.optimal() {
		d.addWakeups(ex)
		return
	}
	var firstLocal [MaxThreads]uint32
	for _, r := range ex.races {
		last, jThread, jClock, n, ok := d.raceSides(ex, r)
		if !ok {
			continue
		}
		var seen, initials uint64
		for k := r.i + 1; k <= last; k++ {
			var p uint
			var ck []uint32
			if k == last && r.j < 0 {
				p, ck = uint(jThread), jClock
			} else {
				if k < last && ex.happensBefore(r.i, k) {
					continue
				}
				ek := &ex.events[k]
				p, ck = uint(ek.thread), ex.clockOf(k)
			}
			if seen&(1<<p) != 0 {
				continue
			}
			pred := false
			for m := seen; m != 0 && ck != nil; m &= m - 1 {
				q := lowestBit(m)
				if ck[q] >= firstLocal[q]+1 {
					pred = true
					break
				}
			}
			seen |= 1 << p
			if k < last || r.j >= 0 {
				firstLocal[p] = uint32(ex.events[k].local)
			}
			if !pred {
				initials |= 1 << p
			}
		}
		// A thread disabled before i (i enabled it) cannot be reordered
		// before i: that race is not reversible.
		if initials&^n.enabled&(1<<uint(jThread)) != 0 {
			continue
		}
		initials &= n.enabled
		if initials == 0 || initials&(n.backtrack|n.done) != 0 {
			continue
		}
		pick := uint(jThread)
		if initials&(1<<pick) == 0 || n.sleep&(1<<pick) != 0 {
			if awake := initials &^ n.sleep; awake != 0 {
				pick = uint(lowestBit(awake))
			} else {
				pick = uint(lowestBit(initials))
			}
		}
		n.backtrack |= 1 << pick
	}
}

// raceSides decodes a race for reversal: the index just past its later
// side (last), that side's thread and, for a blocked operation, what its
// thread knew (jClock); n is the node of the earlier side. ok is false for
// a race an earlier execution already reversed or one inside the split's
// fully expanded prefix.
func (d *dfs) raceSides(ex *execution, r racePair) (last, jThread int32, jClock []uint32, n *node, ok bool) {
	last = r.j
	at := r.j
	if r.j >= 0 {
		jThread = ex.events[r.j].thread
	} else {
		// A blocked operation: it comes after the first r.at events
		// and knows what its thread knew.
		last, jThread, at = r.at, -r.j-1, r.at-1
		if r.pred >= 0 {
			jClock = ex.clockOf(r.pred)
		}
	}
	if int(ex.events[at].node) < d.firstNew {
		return // found and handled by an earlier execution
	}
	ni := int(ex.events[r.i].node)
	if ni < d.fixed {
		return // fully expanded by the split
	}
	return last, jThread, jClock, &ex.nodes[ni], true
}

func kindName(k nodeKind) string {
	if k == nodeChoice {
		return "choice node"
	}
	return "scheduling node"
}

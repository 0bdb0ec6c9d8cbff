package explore

import (
	"fmt"
	"math/bits"
	"strings"
)

// MaxThreads bounds the threads of one execution: enabled, sleep and
// backtrack sets are 64-bit masks.
const MaxThreads = 64

// event is one executed operation.
type event struct {
	thread int32
	local  int32        // index of the event within its thread
	node   int32        // index of the scheduling node that chose it
	fp     [1]Footprint // the first footprint range (an array, to slice)
	more   int32        // index of the whole footprint in moreSets, -1 if fp is all
	label  string
	// visible: the event writes what an invariant reads, so it depends
	// on every other visible event.
	visible bool
}

type nodeKind uint8

const (
	nodeSched  nodeKind = iota // which thread runs next
	nodeChoice                 // which value a Choose returns
)

// node is one decision of an execution: the unit of backtracking.
type node struct {
	kind   nodeKind
	chosen int32
	n      int32 // arity of a choice node
	thread int32 // for a choice node, the thread that asked

	enabled   uint64 // sched: threads enabled at this state
	sleep     uint64 // sched: sleep set on arrival
	done      uint64 // sched: threads already explored from here
	backtrack uint64 // sched: threads to explore from here

	prev        int32 // thread that ran the previous event, -1 at the start
	preemptions int32 // preemptions before this node
	label       string

	// Optimal DPOR: wut is the wakeup tree of this node (its kids are
	// the branches still to explore); next is the branch being
	// explored, whose kids guide the next scheduling node.
	wut  *wnode
	next *wnode
}

// driver decides at each node. pickThread returns -1 to end the execution
// as redundant (every enabled thread asleep) or pruned, revisited when the
// stateful search has expanded the state before.
type driver interface {
	pickThread(ex *execution, enabled uint64) int
	pickValue(ex *execution, t *Thread, n int) int
	// beginExecution is called before the program is built.
	beginExecution(ex *execution)
}

// revisited is pickThread's answer at a state already expanded.
const revisited = -2

// outcome is how one execution ended.
type outcome uint8

const (
	endComplete  outcome = iota // every non-daemon thread finished
	endFailure                  // a property failed
	endTruncated                // the step bound was hit
	endPruned                   // the driver stopped it (sleep set, bound, split depth)
	endRevisit                  // the stateful search reached a state it had expanded
)

// execution holds the reusable state of running one execution after
// another. Nothing here is shared between workers.
type execution struct {
	prog     Program
	drv      driver
	maxSteps int
	tracing  bool
	clocks   bool // maintain vector clocks and race candidates (DPOR)
	// hashPaths: keep the path digests of StateFromPath threads (stateful
	// search).
	hashPaths bool

	sys    *System
	events []event
	// nodes are the decisions of the current execution, in order; drivers
	// own them (a DFS keeps the path between executions) and advance
	// cursor as they pass each one.
	nodes   []node
	cursor  int
	spawned []*Thread

	// Vector clocks, MaxThreads wide, one per event.
	vc []uint32
	// Per-object access history of this execution (event indices).
	hist     [][]access
	moreSets []fpSet  // footprints of events with several ranges
	visHist  []access // history of the synthetic object every visible event writes
	touched  []Obj
	// Races found in this execution: (earlier, later) event pairs.
	races []racePair

	// pool holds the coroutines of finished executions (coro.go).
	pool []*coro
	// symScratch holds a symmetry class's thread digests while sorting;
	// slot is each thread's position in the last state key (stateKey).
	symScratch []symKey
	slot       [MaxThreads]int8

	failure *Failure
	end     outcome
	prev    int32 // thread that ran the latest event, -1 before the first
	// failedInStep: the failure was raised by the last step (a thread's
	// assertion or an invariant after it), not at the end.
	failedInStep bool
}

// racePair is a race between event i and either event j, or (j < 0) the
// pending operation of thread -j-1, blocked after `at` events with its
// knowledge given by event pred (-1: none).
type racePair struct{ i, j, at, pred int32 }

func newExecution(prog Program, drv driver, maxSteps int, clocks bool) *execution {
	return &execution{prog: prog, drv: drv, maxSteps: maxSteps, clocks: clocks}
}

// run performs one execution from scratch.
func (ex *execution) run() outcome {
	ex.events = ex.events[:0]
	ex.cursor = 0
	ex.spawned = ex.spawned[:0]
	ex.races = ex.races[:0]
	ex.vc = ex.vc[:0]
	for _, o := range ex.touched {
		ex.hist[o] = ex.hist[o][:0]
	}
	ex.touched = ex.touched[:0]
	ex.visHist = ex.visHist[:0]
	ex.moreSets = ex.moreSets[:0]
	ex.failure = nil
	ex.failedInStep = false
	ex.drv.beginExecution(ex)

	sys := &System{ex: ex}
	ex.sys = sys
	defer ex.teardown()
	if !ex.build(sys) {
		ex.failure = sys.failure
		ex.end = endFailure
		return ex.end
	}
	ex.end = ex.loop(sys)
	return ex.end
}

// build runs the program's setup, converting a panic into a failure.
func (ex *execution) build(sys *System) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			sys.fail(&Failure{Property: "panic", Message: fmt.Sprintf("program setup panicked: %v", r), Thread: -1})
			ok = false
		}
	}()
	ex.prog(sys)
	if sys.failure == nil {
		// Invariants hold in every state, the initial one included.
		ex.runChecks(sys.invariants)
	}
	if sys.failure != nil {
		ex.failure = sys.failure
		return false
	}
	return true
}

func (ex *execution) loop(sys *System) outcome {
	end := ex.steps(sys)
	if ex.clocks {
		ex.pendingRaces()
	}
	return end
}

// pendingRaces records, at the end of an execution, the races of every
// operation still pending (a failure or the end of the non-daemon threads
// cut it off) with the events that conflict with it.
func (ex *execution) pendingRaces() {
	n := int32(len(ex.events))
	failed := int32(-1)
	if ex.failedInStep && n > 0 {
		failed = n - 1
	}
	for _, t := range ex.sys.threads {
		if t.status != statusPending {
			continue
		}
		t.blockScanned = false
		ex.blockedRaces(t)
		// A failing step ends the world: it depends on every pending
		// operation, which could have run (and failed, or moved the
		// state an invariant reads) first.
		if failed >= 0 && !t.knows(ex, failed) {
			ex.races = append(ex.races, racePair{i: failed, j: -int32(t.id) - 1, at: n, pred: t.pred()})
		}
	}
}

// pred is the event whose clock is the thread's knowledge.
func (t *Thread) pred() int32 {
	if t.lastEventAt >= 0 {
		return t.lastEventAt
	}
	return t.spawnEvent
}

// knows reports whether event i happens before the thread's next
// operation.
func (t *Thread) knows(ex *execution, i int32) bool {
	ei := &ex.events[i]
	if ei.thread == int32(t.id) {
		return true
	}
	p := t.pred()
	return p >= 0 && ex.clockOf(p)[ei.thread] >= uint32(ei.local)+1
}

func (ex *execution) steps(sys *System) outcome {
	ex.prev = -1
	for {
		if sys.failure != nil {
			ex.failure = sys.failure
			return endFailure
		}
		var enabled uint64
		liveNonDaemon := false
		for _, t := range sys.threads {
			if t.status != statusPending {
				continue
			}
			if !t.daemon {
				liveNonDaemon = true
			}
			if t.enabled == nil || t.enabled() {
				enabled |= 1 << uint(t.id)
			} else if ex.clocks {
				ex.blockedRaces(t)
			}
		}
		if enabled == 0 {
			if !liveNonDaemon {
				// Every non-daemon thread finished and every daemon
				// waits: the world has settled.
				return ex.finish(sys)
			}
			return ex.quiescent(sys)
		}
		if len(ex.events) >= ex.maxSteps {
			return endTruncated
		}
		tid := ex.drv.pickThread(ex, enabled)
		if tid < 0 {
			if tid == revisited {
				return endRevisit
			}
			return endPruned
		}
		if enabled&(1<<uint(tid)) == 0 {
			panic(fmt.Sprintf("explore: driver picked thread %d, which is not enabled", tid))
		}
		t := sys.threads[tid]
		ex.recordEvent(t)
		ex.prev = int32(tid)
		t.status = statusRunning
		sys.current = t
		t.co.next()
		sys.current = nil
		for len(ex.spawned) > 0 {
			c := ex.spawned[0]
			ex.spawned = ex.spawned[1:]
			c.start()
		}
		if sys.failure == nil {
			ex.runChecks(sys.invariants)
		}
		if sys.failure != nil {
			ex.failedInStep = true
		}
	}
}

// recordEvent appends the event the chosen thread is about to execute.
func (ex *execution) recordEvent(t *Thread) {
	idx := int32(len(ex.events))
	ex.events = append(ex.events, event{
		thread:  int32(t.id),
		local:   t.events,
		node:    int32(ex.cursor - 1),
		fp:      [1]Footprint{t.fps.r[0]},
		more:    ex.keepSet(&t.fps),
		label:   t.label,
		visible: ex.sys.visible(&t.fps),
	})
	t.events++
	if t.byPath && ex.hashPaths {
		t.path.String(t.label)
	}
	if ex.clocks {
		ex.clockEvent(t, idx)
	}
	t.lastEventAt = idx
}

// clockEvent computes the event's vector clock and its race candidates:
// the latest conflicting accesses of other threads not already ordered
// before it by the thread's own history.
func (ex *execution) clockEvent(t *Thread, idx int32) {
	base := len(ex.vc)
	ex.vc = append(ex.vc, make([]uint32, MaxThreads)...)
	c := ex.vc[base : base+MaxThreads]
	n := len(ex.sys.threads)
	switch {
	case t.lastEventAt >= 0:
		copy(c[:n], ex.clockOf(t.lastEventAt)[:n])
	case t.spawnEvent >= 0:
		copy(c[:n], ex.clockOf(t.spawnEvent)[:n])
	}
	// pc is what the thread knew before this event: a conflicting access
	// already ordered before it is not a race.
	pc := ex.predClock(t)
	e := &ex.events[idx]
	for _, r := range ex.ranges(e) {
		w := r.Access == Write
		for o := r.Lo; o < r.Hi; o++ {
			if int(o) >= len(ex.hist) {
				ex.hist = append(ex.hist, make([][]access, int(o)+1-len(ex.hist))...)
			}
			if len(ex.hist[o]) == 0 {
				ex.touched = append(ex.touched, o)
			}
			ex.hist[o] = ex.scanHistory(ex.hist[o], idx, e, w, pc, c[:n], false)
		}
	}
	if e.visible {
		ex.visHist = ex.scanHistory(ex.visHist, idx, e, true, pc, c[:n], true)
	}
	c[t.id] = uint32(e.local) + 1
}

// keepSet stores a footprint of several ranges for the event being
// recorded; the common single range lives in the event itself.
func (ex *execution) keepSet(fps *fpSet) int32 {
	if fps.n <= 1 {
		return -1
	}
	ex.moreSets = append(ex.moreSets, *fps)
	return int32(len(ex.moreSets) - 1)
}

// ranges is an event's whole footprint.
func (ex *execution) ranges(e *event) []Footprint {
	if e.more < 0 {
		return e.fp[:]
	}
	return ex.moreSets[e.more].ranges()
}

// eventDependent is System.dependent between an event and a pending
// operation.
func (ex *execution) eventDependent(e *event, fps *fpSet) bool {
	if e.more < 0 {
		one := fpSet{n: 1}
		one.r[0] = e.fp[0]
		return ex.sys.dependent(&one, fps)
	}
	return ex.sys.dependent(&ex.moreSets[e.more], fps)
}

// access is an entry of an object's history: the event and whether it
// wrote the object (an event may read one range and write another).
type access struct {
	event int32
	write bool
}

// scanHistory is clockEvent's work for one object's access history h:
// walking back to the last write, it joins the clocks of the accesses
// that conflict with event idx (which writes the object if w), records
// those not already known (pc) as races, and appends the event. allWrites
// treats every access in h as a write (the synthetic object every
// visible event writes).
func (ex *execution) scanHistory(h []access, idx int32, e *event, w bool, pc []uint32, c []uint32, allWrites bool) []access {
	for k := len(h) - 1; k >= 0; k-- {
		i := h[k].event
		ei := &ex.events[i]
		write := allWrites || h[k].write
		if write || w {
			// A race is immediate: an access already ordered before this
			// event through a later conflicting access (c has joined its
			// clock) is not reversed on its own.
			if ei.thread != e.thread && c[ei.thread] < uint32(ei.local)+1 {
				ex.races = append(ex.races, racePair{i: i, j: idx})
			}
			joinClock(c, ex.clockOf(i)[:len(c)])
		}
		if write {
			break
		}
	}
	if n := len(h); n > 0 && h[n-1].event == idx {
		// The same event touches the object through two ranges.
		h[n-1].write = h[n-1].write || w
		return h
	}
	return append(h, access{idx, w})
}

// blockedRaces records the races of a blocked thread's pending operation:
// with every conflicting access when it first blocks there, then with each
// new conflicting event. A blocked operation never becomes an event of
// this execution, yet reordering it before a conflicting event (taking a
// lock first, say) may lead somewhere new, a deadlock in particular.
func (ex *execution) blockedRaces(t *Thread) {
	n := int32(len(ex.events))
	if n == 0 {
		return
	}
	pred := t.lastEventAt
	if pred < 0 {
		pred = t.spawnEvent
	}
	var pc []uint32
	if pred >= 0 {
		pc = ex.clockOf(pred)
	}
	known := func(i int32) bool {
		ei := &ex.events[i]
		return ei.thread == int32(t.id) || (pc != nil && pc[ei.thread] >= uint32(ei.local)+1)
	}
	add := func(i int32) {
		ex.races = append(ex.races, racePair{i: i, j: -int32(t.id) - 1, at: n, pred: pred})
	}
	if t.blockScanned && t.blockOp == t.events {
		last := n - 1
		if ex.eventDependent(&ex.events[last], &t.fps) && !known(last) {
			add(last)
		}
		return
	}
	t.blockScanned, t.blockOp = true, t.events
	if ex.sys.visible(&t.fps) && len(ex.visHist) > 0 {
		if i := ex.visHist[len(ex.visHist)-1].event; !known(i) {
			add(i)
		}
	}
	for _, r := range t.fps.ranges() {
		for o := r.Lo; o < r.Hi && int(o) < len(ex.hist); o++ {
			h := ex.hist[o]
			for k := len(h) - 1; k >= 0; k-- {
				if (h[k].write || r.Access == Write) && !known(h[k].event) {
					add(h[k].event)
				}
				if h[k].write {
					break
				}
			}
		}
	}
}

// predClock is the clock of what a thread knew before its next event.
func (ex *execution) predClock(t *Thread) []uint32 {
	switch {
	case t.lastEventAt >= 0:
		return ex.clockOf(t.lastEventAt)
	case t.spawnEvent >= 0:
		return ex.clockOf(t.spawnEvent)
	}
	return nil
}

func (ex *execution) clockOf(i int32) []uint32 {
	b := int(i) * MaxThreads
	return ex.vc[b : b+MaxThreads]
}

func joinClock(dst, src []uint32) {
	for k, v := range src {
		if v > dst[k] {
			dst[k] = v
		}
	}
}

// happensBefore reports whether event i happens before event j.
func (ex *execution) happensBefore(i, j int32) bool {
	ei := &ex.events[i]
	return ex.clockOf(j)[ei.thread] >= uint32(ei.local)+1
}

func (ex *execution) choose(t *Thread, n int) int {
	v := ex.drv.pickValue(ex, t, n)
	if v < 0 || v >= n {
		panic(fmt.Sprintf("explore: driver chose %d of %d", v, n))
	}
	return v
}

func (ex *execution) runChecks(checks []NamedCheck) {
	sys := ex.sys
	for _, c := range checks {
		if err := c.Fn(); err != nil {
			f, ok := err.(*Failure)
			if !ok {
				f = &Failure{Property: c.Name, Message: err.Error()}
			}
			if f.Property == "" {
				f.Property = c.Name
			}
			if f.Step == 0 {
				f.Step = sys.Step()
			}
			if f.Thread == 0 && !ok {
				f.Thread = -1
			}
			sys.fail(f)
			return
		}
	}
}

func (ex *execution) finish(sys *System) outcome {
	ex.runChecks(sys.endChecks)
	if sys.failure != nil {
		ex.failure = sys.failure
		return endFailure
	}
	return endComplete
}

func (ex *execution) quiescent(sys *System) outcome {
	var blocked []*Thread
	for _, t := range sys.threads {
		if t.status == statusPending {
			blocked = append(blocked, t)
		}
	}
	var f *Failure
	if sys.quiescent != nil {
		f = sys.quiescent(blocked)
	} else {
		f = deadlockFailure(blocked)
	}
	if f == nil {
		return ex.finish(sys)
	}
	if f.Step == 0 {
		f.Step = sys.Step()
	}
	sys.fail(f)
	ex.failure = sys.failure
	return endFailure
}

// deadlockFailure names every blocked operation.
func deadlockFailure(blocked []*Thread) *Failure {
	var b strings.Builder
	b.WriteString("no thread can proceed; blocked:")
	for _, t := range blocked {
		fmt.Fprintf(&b, " %s at %q;", t.name, t.label)
	}
	return &Failure{Property: "deadlock", Message: strings.TrimSuffix(b.String(), ";"), Thread: -1}
}

// teardown unwinds every thread still parked and returns every
// coroutine to the pool.
func (ex *execution) teardown() {
	if ex.sys == nil {
		return
	}
	for _, t := range ex.sys.threads {
		if t.co == nil {
			continue
		}
		if t.started && t.status != statusDone {
			t.co.abort = true
			t.co.next()
			t.co.abort = false
		}
		ex.pool = append(ex.pool, t.co)
		t.co = nil
	}
}

// preemptionsOf counts context switches away from a thread that could
// have continued.
func preemptionAt(prev int32, enabled uint64, chosen int) bool {
	return prev >= 0 && int(prev) != chosen && enabled&(1<<uint(prev)) != 0
}

func lowestBit(m uint64) int { return bits.TrailingZeros64(m) }

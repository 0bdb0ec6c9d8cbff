package explore

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Obj names a shared object of one execution. Objects are small dense
// integers handed out by System.Object and System.Objects; a contiguous run
// of them (a text region's bytes, say) can be named by one Footprint.
type Obj int32

// Access says how an operation touches its objects.
type Access uint8

const (
	// Read operations commute with other reads.
	Read Access = 1
	// Write operations conflict with every access to an overlapping object.
	Write Access = 2
)

// Footprint is what an operation announces before it runs: the objects
// [Lo, Hi) it touches and how. An empty range is a local operation that
// conflicts with nothing (it is still a scheduling point).
type Footprint struct {
	Lo, Hi Obj
	Access Access
}

// R is a read of one object.
func R(o Obj) Footprint { return Footprint{o, o + 1, Read} }

// W is a write of one object.
func W(o Obj) Footprint { return Footprint{o, o + 1, Write} }

// RRange is a read of n consecutive objects starting at lo.
func RRange(lo Obj, n int) Footprint { return Footprint{lo, lo + Obj(n), Read} }

// WRange is a write of n consecutive objects starting at lo.
func WRange(lo Obj, n int) Footprint { return Footprint{lo, lo + Obj(n), Write} }

// Local is the footprint of an operation on thread-private state.
var Local = Footprint{}

// Conflicts reports whether two operations are dependent: their object
// ranges overlap and at least one writes.
func (f Footprint) Conflicts(g Footprint) bool {
	return f.Lo < g.Hi && g.Lo < f.Hi && (f.Access == Write || g.Access == Write)
}

func (f Footprint) empty() bool { return f.Hi <= f.Lo }

// MaxRanges bounds the ranges of one operation's footprint (OpMulti).
const MaxRanges = 4

// fpSet is an operation's whole footprint: up to MaxRanges ranges, each
// read or written.
type fpSet struct {
	n uint8
	r [MaxRanges]Footprint
}

func (a *fpSet) ranges() []Footprint { return a.r[:a.n] }

func (a *fpSet) conflicts(b *fpSet) bool {
	for _, x := range a.ranges() {
		for _, y := range b.ranges() {
			if x.Conflicts(y) {
				return true
			}
		}
	}
	return false
}

// Failure is a violated property: a thread's assertion, an invariant or end
// check, a panic in a thread, a deadlock or a liveness failure.
type Failure struct {
	Property string `json:"property"`
	Message  string `json:"message"`
	// Stuck marks a liveness failure (verdict "stuck") rather than a
	// safety violation.
	Stuck bool `json:"stuck,omitempty"`
	// Thread is the id of the thread that failed, or -1 when the failure
	// came from a check of the whole system.
	Thread int `json:"thread"`
	// Step is the number of scheduling steps executed when the failure was
	// detected (the failing step is Step-1; 0 means during setup).
	Step int `json:"step"`
}

func (f *Failure) Error() string { return f.Property + ": " + f.Message }

// NamedCheck is a named predicate over shared state, run by the engine: nil
// means it holds. A returned *Failure keeps its property name; any other
// error is reported under the check's name.
type NamedCheck struct {
	Name string
	Fn   func() error
}

// Program builds one execution: it allocates objects, spawns threads and
// registers checks on a fresh System. It is called once per execution and
// must be deterministic; it must not touch state shared between executions.
type Program func(s *System)

type threadStatus uint8

const (
	statusPending threadStatus = iota // parked at a scheduling point
	statusRunning
	statusDone
)

// Thread is the handle an emulated thread uses for every shared operation.
type Thread struct {
	sys    *System
	id     int
	name   string
	daemon bool
	status threadStatus

	// The pending operation, announced at the last scheduling point.
	label   string
	fps     fpSet
	enabled func() bool

	// The coroutine running the thread's body (coro.go), and whether it
	// has started it.
	co      *coro
	started bool

	events      int32 // events this thread has executed
	spawnEvent  int32 // event index of the spawning step, -1 for setup
	lastEventAt int32 // index of this thread's latest event, -1 if none

	// blockScanned says the races of the pending operation (the one after
	// blockOp events) with past events have been recorded.
	blockScanned bool
	blockOp      int32

	// The declared state (stateful search) and the symmetry class, 0
	// for none.
	stateFn  func(*Digest)
	symClass int8
	// byPath: the thread's state is its path, path the hash of the labels
	// of its events so far (StateFromPath).
	byPath bool
	path   Digest
}

// ID is the thread's id: threads are numbered in creation order from 0.
func (t *Thread) ID() int { return t.id }

// Name is the name given at spawn.
func (t *Thread) Name() string { return t.name }

// System is the world of one execution.
type System struct {
	ex      *execution
	threads []*Thread
	// objRuns name the objects: run k covers [objRuns[k].first, next
	// run's first); a run of more than one object is an array.
	objRuns []objRun
	nobj    Obj

	invariants []NamedCheck
	visibleAll bool        // an invariant reads everything
	visibleFps []Footprint // what the other invariants read
	endChecks  []NamedCheck
	quiescent  func(blocked []*Thread) *Failure

	failure *Failure
	// current is the thread whose step is executing, nil during setup.
	current *Thread
	// Notes recorded while tracing, in order.
	notes []Note
	// model is the program's own handle on its world (SetModel).
	model any

	// The declared state (stateful search): the shared digest and the
	// symmetry classes, as thread ids.
	stateFn    func(*Digest)
	symNames   []string
	symClasses [][]int32
}

// SetModel attaches the program's world to the system, so checks and
// summaries that receive the System can find it. Programs run
// concurrently in different workers, so a world must never live in a
// variable shared between executions.
func (s *System) SetModel(m any) { s.model = m }

// Model returns what SetModel attached.
func (s *System) Model() any { return s.model }

// Note is a line of narrative a model records while tracing (Thread.Tracing):
// rendered counterexamples show it in the thread's column at its step.
type Note struct {
	Step   int    `json:"step"`
	Thread int    `json:"thread"`
	Text   string `json:"text"`
}

// abortSignal unwinds a thread's stack when its execution is torn down.
type abortSignal struct{}

// failSignal unwinds a thread's stack after it reported a failure.
type failSignal struct{}

// exitSignal unwinds a thread's stack when it calls Exit.
type exitSignal struct{}

// Object allocates one shared object; the name appears in messages.
func (s *System) Object(name string) Obj {
	return s.Objects(name, 1)
}

type objRun struct {
	first Obj
	n     Obj
	name  string
}

// Objects allocates n consecutive shared objects named name[0..n) and
// returns the first.
func (s *System) Objects(name string, n int) Obj {
	first := s.nobj
	s.objRuns = append(s.objRuns, objRun{first, Obj(n), name})
	s.nobj += Obj(n)
	return first
}

// ObjectName returns the name an object was allocated with.
func (s *System) ObjectName(o Obj) string {
	for _, r := range s.objRuns {
		if o >= r.first && o < r.first+r.n {
			if r.n == 1 {
				return r.name
			}
			return fmt.Sprintf("%s[%d]", r.name, o-r.first)
		}
	}
	return fmt.Sprintf("obj#%d", o)
}

// Invariant registers a check run after every step. It may read any
// shared state, so to keep DPOR sound for it every write becomes
// dependent on every other write (less reduction); InvariantOver keeps
// the reduction by naming what the check reads.
func (s *System) Invariant(name string, fn func() error) {
	s.invariants = append(s.invariants, NamedCheck{name, fn})
	s.visibleAll = true
}

// InvariantOver registers a check run after every step that reads only
// the objects in reads. Writes to those objects become mutually
// dependent, so DPOR explores every order in which the check could see
// them (a state invariant is not preserved by plain trace equivalence).
func (s *System) InvariantOver(name string, reads Footprint, fn func() error) {
	s.invariants = append(s.invariants, NamedCheck{name, fn})
	s.visibleFps = append(s.visibleFps, reads)
}

// Sticky registers a check run after every step over records that
// operations leave behind and never retract ("cpu1 decoded a torn
// instruction at step 12"), where whether a record is made is decided by
// the footprints of the operation that makes it. Such a check needs no
// extra dependencies: every execution of a trace makes the same records,
// so DPOR finds the failure in whichever execution of the trace it
// explores (the step it fails at may differ). A check over live shared
// state needs Invariant or InvariantOver instead.
func (s *System) Sticky(name string, fn func() error) {
	s.invariants = append(s.invariants, NamedCheck{name, fn})
}

// visible reports whether an operation writes what an invariant reads.
func (s *System) visible(fps *fpSet) bool {
	for _, f := range fps.ranges() {
		if s.visibleRange(f) {
			return true
		}
	}
	return false
}

func (s *System) visibleRange(fp Footprint) bool {
	if fp.Access != Write || fp.empty() {
		return false
	}
	if s.visibleAll {
		return true
	}
	for _, v := range s.visibleFps {
		if fp.Lo < v.Hi && v.Lo < fp.Hi {
			return true
		}
	}
	return false
}

// dependent is the engine's dependency relation: footprints conflict, or
// both operations write what invariants read.
func (s *System) dependent(a, b *fpSet) bool {
	return a.conflicts(b) || (s.visible(a) && s.visible(b))
}

// AtEnd registers a check run when every non-daemon thread has finished.
func (s *System) AtEnd(name string, fn func() error) {
	s.endChecks = append(s.endChecks, NamedCheck{name, fn})
}

// OnQuiescent sets the judge of executions in which no thread can move
// although some non-daemon thread has not finished. It returns the failure
// to report (a Stuck one for liveness properties) or nil if such an end is
// acceptable. Without a judge the engine reports a "deadlock" violation
// naming every blocked operation.
func (s *System) OnQuiescent(fn func(blocked []*Thread) *Failure) { s.quiescent = fn }

// Threads returns every thread spawned so far, in id order.
func (s *System) Threads() []*Thread { return s.threads }

// Step is the number of scheduling steps executed so far in this execution.
func (s *System) Step() int { return len(s.ex.events) }

// Go spawns a thread. During setup the thread runs up to its first
// scheduling point at once; during a step it does so when the spawning step
// ends, and its events happen after the spawner's. Code before a thread's
// first scheduling point must touch only thread-local state.
func (s *System) Go(name string, body func(t *Thread)) *Thread {
	return s.spawn(name, false, body)
}

// Daemon spawns a thread that need not finish, a kernel thread or an idle
// loop that waits for work: an execution ends when every non-daemon thread
// has finished and no daemon can move (each is blocked in an Await), and a
// blocked daemon is not a deadlock. A daemon keeps running after the last
// non-daemon thread finishes, as such threads do in a kernel, so what it
// does then is explored and judged like everything else (AtEnd checks see
// the state once it has settled). A daemon must block when it has nothing
// to do: one that can always move runs every execution to the step bound,
// and the verdict says so (incomplete).
//
// Why not end the world the moment the last non-daemon thread finishes?
// That end would disable every daemon, a dependency that holds only for
// whichever thread happens to finish last; DPOR cannot see it through
// footprints, and encoding it as one (an exit step every daemon conflicts
// with) multiplied the interleavings of the x86 models 30-fold.
func (s *System) Daemon(name string, body func(t *Thread)) *Thread {
	return s.spawn(name, true, body)
}

func (s *System) spawn(name string, daemon bool, body func(*Thread)) *Thread {
	if len(s.threads) >= MaxThreads {
		panic(fmt.Sprintf("explore: more than %d threads", MaxThreads))
	}
	t := &Thread{sys: s, id: len(s.threads), name: name, daemon: daemon, spawnEvent: -1, lastEventAt: -1}
	if s.current != nil {
		t.spawnEvent = int32(len(s.ex.events) - 1)
	}
	s.threads = append(s.threads, t)
	t.co = s.ex.getCoro()
	t.co.body = func() {
		defer t.finish()
		body(t)
	}
	if s.current == nil {
		t.start()
	} else {
		s.ex.spawned = append(s.ex.spawned, t)
	}
	return t
}

// start runs a new thread up to its first scheduling point.
func (t *Thread) start() {
	t.status = statusRunning
	prev := t.sys.current
	t.sys.current = t
	t.started = true
	t.co.next()
	t.sys.current = prev
}

func (t *Thread) finish() {
	if r := recover(); r != nil {
		switch r.(type) {
		case abortSignal, failSignal, exitSignal:
		default:
			if t.sys.failure == nil {
				stack := string(debug.Stack())
				t.sys.failure = &Failure{
					Property: "panic",
					Message:  fmt.Sprintf("thread %s panicked: %v\n%s", t.name, r, trimStack(stack)),
					Thread:   t.id,
					Step:     t.sys.Step(),
				}
			}
		}
	}
	t.status = statusDone
	t.enabled = nil
}

// trimStack keeps the frames of the panicking code, dropping the runtime's
// and the engine's own.
func trimStack(s string) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for i := 1; i+1 < len(lines); i += 2 {
		fn, loc := lines[i], lines[i+1]
		if strings.HasPrefix(fn, "runtime") || strings.Contains(fn, "klpcheck/explore.") || strings.HasPrefix(fn, "iter.") {
			continue
		}
		keep = append(keep, fn, loc)
		if len(keep) >= 12 {
			break
		}
	}
	return strings.Join(keep, "\n")
}

// Op is a scheduling point: it announces the thread's next operation and
// returns when the scheduler runs it. The code after Op, up to the next
// scheduling point, is the operation's body and runs atomically; it may
// touch only the objects in fp (and thread-local state).
func (t *Thread) Op(label string, fp Footprint) {
	t.label, t.enabled = label, nil
	t.fps.n, t.fps.r[0] = 1, fp
	t.park()
}

// OpMulti is Op for an operation that touches several separate ranges
// (at most MaxRanges), each read or written: exact footprints keep DPOR
// from treating unrelated operations as dependent.
func (t *Thread) OpMulti(label string, fps ...Footprint) {
	t.label, t.enabled = label, nil
	t.setFootprints(fps)
	t.park()
}

// AwaitMulti is Await with a footprint of several ranges.
func (t *Thread) AwaitMulti(label string, enabled func() bool, fps ...Footprint) {
	t.label, t.enabled = label, enabled
	t.setFootprints(fps)
	t.park()
}

func (t *Thread) setFootprints(fps []Footprint) {
	if len(fps) > MaxRanges {
		panic(fmt.Sprintf("explore: %q has %d footprint ranges, at most %d are allowed", t.label, len(fps), MaxRanges))
	}
	t.fps.n = uint8(copy(t.fps.r[:], fps))
}

// Await is a blocking scheduling point: the operation is enabled only while
// enabled() holds, and its body runs with enabled() true. fp must cover
// every object enabled reads. A spin-wait is one Await, not a loop of steps.
func (t *Thread) Await(label string, fp Footprint, enabled func() bool) {
	t.label, t.enabled = label, enabled
	t.fps.n, t.fps.r[0] = 1, fp
	t.park()
}

func (t *Thread) park() {
	if t.sys.current != t {
		panic("explore: a thread's operation was called from another thread")
	}
	t.status = statusPending
	t.sys.current = nil
	if !t.co.yield(struct{}{}) || t.co.abort {
		panic(abortSignal{})
	}
	// The scheduler has chosen this thread; its body runs now.
}

// Choose is a choice point for data nondeterminism inside the current
// operation: it returns a value in [0, n), explored like a scheduling
// choice. It does not end the operation. n must be at least 1.
func (t *Thread) Choose(label string, n int) int {
	if n < 1 {
		panic(fmt.Sprintf("explore: Choose(%q, %d)", label, n))
	}
	if n == 1 {
		return 0
	}
	return t.sys.ex.choose(t, n)
}

// Fail reports a violated property and ends the execution. It does not
// return.
func (t *Thread) Fail(property, message string) {
	t.sys.fail(&Failure{Property: property, Message: message, Thread: t.id, Step: t.sys.Step()})
	panic(failSignal{})
}

// Failf is Fail with a formatted message.
func (t *Thread) Failf(property, format string, args ...any) {
	t.Fail(property, fmt.Sprintf(format, args...))
}

// Assert fails property with message unless cond holds.
func (t *Thread) Assert(cond bool, property, message string) {
	if !cond {
		t.Fail(property, message)
	}
}

// Exit ends the thread where it stands, as if its body had returned: for
// code nested deep in calls that finds the thread can go no further (a
// CPU that died inside an interrupt). Deferred functions run. It must be
// called from inside an operation, and it does not return.
func (t *Thread) Exit() { panic(exitSignal{}) }

// Tracing reports whether the engine records notes in this execution (it
// does when replaying a counterexample for rendering). Models guard the
// formatting of notes with it so the exploring hot path stays cheap.
func (t *Thread) Tracing() bool { return t.sys.ex.tracing }

// Note records a line of narrative for the rendered trace. It is cheap but
// not free; call it only when Tracing is true.
func (t *Thread) Note(text string) {
	s := t.sys
	s.notes = append(s.notes, Note{Step: s.Step() - 1, Thread: t.id, Text: text})
}

// Notef is Note with formatting.
func (t *Thread) Notef(format string, args ...any) {
	if t.sys.ex.tracing {
		t.Note(fmt.Sprintf(format, args...))
	}
}

// System returns the thread's system.
func (t *Thread) System() *System { return t.sys }

// Pending returns the label of the operation the thread is parked at.
func (t *Thread) Pending() string { return t.label }

// Done reports whether the thread has finished.
func (t *Thread) Done() bool { return t.status == statusDone }

// Daemon reports whether the thread was spawned with System.Daemon.
func (t *Thread) IsDaemon() bool { return t.daemon }

func (s *System) fail(f *Failure) {
	if s.failure == nil {
		s.failure = f
	}
}

// Fail reports a failure from outside any thread (a check); the execution
// ends after the current step.
func (s *System) Fail(f *Failure) { s.fail(f) }

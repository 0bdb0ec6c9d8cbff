package explore

import (
	"fmt"
	"math/bits"
	"slices"
	"unsafe"
)

// State caching (the Stateful strategy). A stateless search re-runs every
// interleaving, and their number grows far faster than the number of
// distinct states they pass through: executor CPUs that loop over a
// patched site come back to the same state by many paths. The stateful
// search hashes the state at every new scheduling node and does not
// expand a state it has expanded before. The engine cannot see a model's
// state (it lives in ordinary Go values and in each coroutine's stack),
// so the model declares it: System.State hashes the shared state,
// Thread.State a thread's own, and System.Symmetric names threads that
// are interchangeable, so that states equal up to permuting them are one.
//
// Soundness rests on the digest: the declared state, with each thread's
// pending operation (which the engine adds), must determine everything
// the program does from here on, and every check's verdict. A digest that
// leaves something out merges states that differ and may hide a
// violation; the differential tests (random programs, and each model's
// stateful-versus-stateless test) are the judge.

// Digest accumulates a 128-bit fingerprint of a state. Two lanes with
// different multipliers make an accidental collision between two of n
// stored states about n²/2^129 likely, which is negligible.
type Digest struct{ a, b uint64 }

const (
	digestSeedA = 0x243f6a8885a308d3
	digestSeedB = 0x13198a2e03707344
	mulA1       = 0x9e3779b97f4a7c15
	mulA2       = 0xbf58476d1ce4e5b9
	mulB1       = 0xc2b2ae3d27d4eb4f
	mulB2       = 0x94d049bb133111eb
)

func newDigest() Digest { return Digest{digestSeedA, digestSeedB} }

// Word adds a 64-bit value.
func (d *Digest) Word(v uint64) {
	d.a = bits.RotateLeft64(d.a^(v*mulA1), 27)*mulA2 + 0x52dce729
	d.b = bits.RotateLeft64(d.b^(v*mulB1), 31)*mulB2 + 0x38495ab5
}

// Int adds an integer.
func (d *Digest) Int(v int) { d.Word(uint64(v)) }

// Bool adds a boolean.
func (d *Digest) Bool(v bool) {
	if v {
		d.Word(1)
	} else {
		d.Word(0)
	}
}

// Bytes adds a byte slice, its length included.
func (d *Digest) Bytes(p []byte) {
	d.Word(uint64(len(p)) | 1<<63)
	for len(p) >= 8 {
		d.Word(uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56)
		p = p[8:]
	}
	var w uint64
	for i, c := range p {
		w |= uint64(c) << (8 * i)
	}
	d.Word(w)
}

// String adds a string, its length included.
func (d *Digest) String(s string) {
	d.Word(uint64(len(s)) | 1<<62)
	for len(s) >= 8 {
		d.Word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	d.Word(w)
}

// sum finalises the two lanes.
func (d Digest) sum() stateKey {
	return stateKey{fmix(d.a ^ d.b>>7), fmix(d.b ^ d.a<<9)}
}

func fmix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// stateKey is a state's fingerprint; {0, 0} marks an empty table slot.
type stateKey struct{ a, b uint64 }

func (k stateKey) less(o stateKey) bool { return k.a < o.a || k.a == o.a && k.b < o.b }

// State declares the digest of the shared state: fn adds to d everything
// a later step or check can observe, except what belongs to one thread
// (Thread.State). It is required by the Stateful strategy and unused by
// the others. Under symmetry (System.Symmetric) it must not depend on
// which of the interchangeable threads is which: per-thread parts of the
// shared state (a CPU's pending IPI, who holds a lock) go into that
// thread's own digest instead.
func (s *System) State(fn func(d *Digest)) { s.stateFn = fn }

// State declares the digest of the thread's own state: its loop counters,
// registers and whatever else the rest of its body depends on, beyond
// the pending operation's label, which the engine adds. A thread without
// one is taken to have no state of its own beyond that label.
func (t *Thread) State(fn func(d *Digest)) { t.stateFn = fn }

// StateFromPath declares that the thread's own state is a function of
// the operations it has executed, in order (their labels): it keeps no
// value read from shared state in a local variable, and such values steer
// it only through which operation it runs next (a writer that waits, or
// not, for a reference to drop). Its digest is then the sequence of its
// operations' labels, which the engine hashes as they run. It combines
// with Thread.State.
func (t *Thread) StateFromPath() {
	t.byPath = true
	t.path = newDigest()
}

// Symmetric adds threads to the named symmetry class: threads that run
// the same code with the same parameters, such that nothing a check
// reports depends on which of them is which. The stateful search then
// treats states that differ only by a permutation of a class's threads
// as one. A thread spawned during an execution may join a class too (an
// idle loop each executor leaves behind): the class is then the set of
// its members present. A thread may be in one class only; threads in
// none stay distinct.
func (s *System) Symmetric(class string, threads ...*Thread) {
	k := slices.Index(s.symNames, class)
	if k < 0 {
		s.symNames = append(s.symNames, class)
		s.symClasses = append(s.symClasses, nil)
		k = len(s.symNames) - 1
	}
	for _, t := range threads {
		if t.symClass != 0 {
			panic(fmt.Sprintf("explore: thread %s is in two symmetry classes", t.name))
		}
		t.symClass = int8(k + 1)
		s.symClasses[k] = append(s.symClasses[k], int32(t.id))
	}
}

// stateKey hashes the current state: the shared digest, then every
// thread's (in id order, or sorted within its symmetry class). It also
// fills ex.slot: the position each thread's digest took, a thread id of
// its class (its own id outside any class), so that sleep sets can be
// stored in terms that do not depend on which permutation reached the
// state.
func (ex *execution) stateKey() stateKey {
	s := ex.sys
	d := newDigest()
	if s.stateFn != nil {
		s.stateFn(&d)
	}
	d.Int(len(s.threads))
	for _, t := range s.threads {
		ex.slot[t.id] = int8(t.id)
		if t.symClass == 0 {
			k := t.digest(true)
			d.Word(k.a)
			d.Word(k.b)
		}
	}
	for _, class := range s.symClasses {
		keys := ex.symScratch[:0]
		for _, id := range class {
			keys = append(keys, symKey{s.threads[id].digest(false), id})
		}
		slices.SortFunc(keys, func(x, y symKey) int {
			switch {
			case x.k.less(y.k):
				return -1
			case y.k.less(x.k):
				return 1
			}
			return 0
		})
		// class lists its members in ascending id order (they join when
		// spawned), so the i-th digest takes the i-th smallest id's slot.
		for i, k := range keys {
			d.Word(k.k.a)
			d.Word(k.k.b)
			ex.slot[k.id] = int8(class[i])
		}
		ex.symScratch = keys
	}
	return d.sum()
}

// symKey is a symmetric thread's digest and id, sorted by digest.
type symKey struct {
	k  stateKey
	id int32
}

// toSlots maps a set of thread ids to their slots (ex.slot).
func (ex *execution) toSlots(m uint64) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		out |= 1 << uint(ex.slot[lowestBit(m)])
	}
	return out
}

// fromSlots maps a set of slots back to the threads that hold them now.
func (ex *execution) fromSlots(m uint64) uint64 {
	var out uint64
	for id := range ex.sys.threads {
		if m&(1<<uint(ex.slot[id])) != 0 {
			out |= 1 << uint(id)
		}
	}
	return out
}

// digest is one thread's share of the state: whether it finished, its
// pending operation and its own declared state. withObjects adds the
// footprint, which names objects and so differs between symmetric
// threads.
func (t *Thread) digest(withObjects bool) stateKey {
	d := newDigest()
	d.Word(uint64(t.status))
	if t.status == statusPending {
		d.String(t.label)
		if withObjects {
			for _, r := range t.fps.ranges() {
				d.Word(uint64(uint32(r.Lo)) | uint64(uint32(r.Hi))<<32)
				d.Word(uint64(r.Access))
			}
		}
	}
	d.Bool(t.daemon)
	if t.byPath {
		d.Word(t.path.a)
		d.Word(t.path.b)
	}
	if t.stateFn != nil {
		t.stateFn(&d)
	}
	return d.sum()
}

// stateTable is the set of expanded states: open addressing over 128-bit
// keys, with the depth each was expanded at (a state met again at a
// smaller depth has more of the step bound left, so it is expanded again)
// and its sleep set (in slots, see stateKey). No map: the hot path stays
// free of allocation but for growth.
//
// Sleep sets with state caching (Godefroid, "Partial-Order Methods for
// the Verification of Concurrent Systems", LNCS 1032, §5.3): a state
// reached again with sleep set Z needs only the transitions asleep at
// every earlier visit but awake now — stored \ Z — and its stored set
// shrinks to stored ∩ Z; if stored ⊆ Z there is nothing left to do.
type stateTable struct {
	slots []stateSlot
	n     int
	mask  uint64
}

// stateSlot is one entry: 32 bytes, so a probe touches one cache line.
type stateSlot struct {
	key   stateKey
	sleep uint64
	depth int32
}

func newStateTable() *stateTable {
	const initial = 1 << 16
	return &stateTable{slots: make([]stateSlot, initial), mask: initial - 1}
}

// everything is visit's answer for a state to expand in full.
const everything = ^uint64(0)

// visit records the state at depth with sleep set z (slots) and returns
// the slots whose transitions must be explored from it now: everything
// (but z) for a new state or one reached with more of the step bound
// left, the slots asleep before but awake now for one seen before, 0
// for nothing.
func (t *stateTable) visit(k stateKey, depth int32, z uint64) uint64 {
	if k == (stateKey{}) {
		k.a = 1 // {0,0} marks an empty slot
	}
	for i := k.a & t.mask; ; i = (i + 1) & t.mask {
		e := &t.slots[i]
		switch e.key {
		case k:
			if depth < e.depth {
				e.depth, e.sleep = depth, z
				return everything
			}
			todo := e.sleep &^ z
			e.sleep &= z
			return todo
		case stateKey{}:
			*e = stateSlot{key: k, sleep: z, depth: depth}
			t.n++
			if 2*t.n > len(t.slots) {
				t.grow()
			}
			return everything
		}
	}
}

func (t *stateTable) grow() {
	old := t.slots
	size := 2 * len(old)
	t.slots, t.mask = make([]stateSlot, size), uint64(size-1)
	for _, e := range old {
		if e.key == (stateKey{}) {
			continue
		}
		i := e.key.a & t.mask
		for t.slots[i].key != (stateKey{}) {
			i = (i + 1) & t.mask
		}
		t.slots[i] = e
	}
}

// bytesPerState is the table's memory per stored state at its current
// size (keys and depths; the table is kept at most half full).
func (t *stateTable) bytesPerState() float64 {
	if t.n == 0 {
		return 0
	}
	return float64(len(t.slots)*int(unsafe.Sizeof(stateSlot{}))) / float64(t.n)
}

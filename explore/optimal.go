package explore

// Optimal DPOR (Abdulla, Aronis, Jonsson, Sagonas: "Source Sets: A
// Foundation for Optimal Dynamic Partial Order Reduction", JACM 2017,
// Algorithm 2). Source-set DPOR adds one initial of each reversed race to
// a node's backtrack set and lets later races find the rest of the
// reversal, which can lead into interleavings whose every continuation is
// asleep (sleep-set-blocked executions). Optimal DPOR instead keeps, per
// node, a wakeup tree of whole sequences: for a race (e, e') it inserts
// v = notdep(e).e' — the events after e that do not depend on it, then
// e' — unless a thread asleep at the node, or a branch already in the
// tree, covers v (a weak initial of v). Exploring a branch replays its
// sequence before choosing freely, so each reversal is run as found.
//
// The tree is kept as the list of its branches (thread-id sequences);
// the children of a prefix are the heads of the branches that extend it,
// in order of first appearance.

// vref is an element of a wakeup sequence under construction: an event
// of the last execution, or (pending) the pending operation of a thread
// that the race reverses.
const pendingRef = -1

// addWakeups is optimal DPOR's race reversal.
func (d *dfs) addWakeups(ex *execution) {
	for _, r := range ex.races {
		last, jThread, jClock, n, ok := d.raceSides(ex, r)
		if !ok {
			continue
		}
		// v = notdep(e_i).e_j
		v := d.seq[:0]
		end := last
		if r.j < 0 {
			end = last - 1
		}
		for k := r.i + 1; k <= end; k++ {
			if !ex.happensBefore(r.i, k) {
				v = append(v, k)
			}
		}
		if r.j >= 0 {
			// e_j itself is after e_i in the execution; it is in v
			// unless it happens after e_i, which a race excludes.
			if len(v) == 0 || v[len(v)-1] != r.j {
				v = append(v, r.j)
			}
		} else {
			v = append(v, pendingRef)
		}
		d.seq = v
		clear(d.taken[:])
		w := wseq{ex: ex, v: v, jThread: jThread, jClock: jClock, after: r.i, taken: &d.taken}
		// A blocked operation that e_i enabled cannot run before it.
		if w.isInitial(jThread) && n.enabled&(1<<uint(jThread)) == 0 {
			continue
		}
		// Covered by a thread asleep at the node, or explored from it.
		covered := false
		for m := n.sleep | n.done; m != 0; m &= m - 1 {
			if w.weakInitial(int32(lowestBit(m))) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		if n.wut == nil {
			n.wut = &wnode{}
		}
		w.insertInto(n.wut)
	}
}

// wnode is a node of a wakeup tree: the thread to run, and the subtrees
// after it, in order. A scheduling node's tree is a root (thread unused)
// whose kids are the branches still to explore from it.
type wnode struct {
	thread byte
	kids   []*wnode
}

// clone copies a subtree, so a node can grow its own tree without
// changing the guidance it was handed (which may be handed again when a
// choice before the node is explored with another value).
func (u *wnode) clone() *wnode {
	if u == nil {
		return nil
	}
	c := &wnode{thread: u.thread, kids: make([]*wnode, len(u.kids))}
	for i, k := range u.kids {
		c.kids[i] = k.clone()
	}
	return c
}

// take removes kid i from u's kids and returns it.
func (u *wnode) take(i int) *wnode {
	k := u.kids[i]
	u.kids = append(u.kids[:i:i], u.kids[i+1:]...)
	return k
}

// nextBranch moves node n to the next branch of its wakeup tree that is
// neither explored nor asleep; false when none is left.
func (d *dfs) nextBranch(n *node) bool {
	for n.wut != nil && len(n.wut.kids) > 0 {
		k := n.wut.take(0)
		h := k.thread
		if (n.done|n.sleep)&(1<<uint(h)) != 0 || n.enabled&(1<<uint(h)) == 0 {
			continue
		}
		n.chosen = int32(h)
		n.backtrack |= 1 << uint(h)
		n.next = k
		return true
	}
	return false
}

// wseq is a wakeup sequence being checked and inserted: v's elements are
// event indices of the last execution, after event `after`, or
// pendingRef for jThread's pending operation (knowledge jClock).
type wseq struct {
	ex      *execution
	v       []int32
	jThread int32
	jClock  []uint32
	after   int32
	// taken[p] counts p's steps already placed before v (on the tree
	// path walked by insertInto), so p's next operation is its
	// taken[p]-th event after `after`.
	taken *[MaxThreads]int32
}

func (w *wseq) thread(x int32) int32 {
	if x == pendingRef {
		return w.jThread
	}
	return w.ex.events[x].thread
}

// before reports whether element a of v must precede element b.
func (w *wseq) before(a, b int32) bool {
	ex := w.ex
	if b == pendingRef {
		ea := &ex.events[a]
		if w.jClock != nil && w.jClock[ea.thread] >= uint32(ea.local)+1 {
			return true
		}
		return ex.eventDependent(ea, &ex.sys.threads[w.jThread].fps)
	}
	if a == pendingRef {
		return false
	}
	return ex.happensBefore(a, b)
}

// isInitial reports whether p's first element in v has no predecessor
// in v (so v is equivalent to a sequence that starts with p).
func (w *wseq) isInitial(p int32) bool {
	for m, x := range w.v {
		if w.thread(x) != p {
			continue
		}
		for _, y := range w.v[:m] {
			if w.thread(y) != p && w.before(y, x) {
				return false
			}
		}
		return true
	}
	return false
}

// weakInitial reports whether p is a weak initial of v: an initial, or
// absent from v with a next operation independent of all of v.
func (w *wseq) weakInitial(p int32) bool {
	for _, x := range w.v {
		if w.thread(x) == p {
			return w.isInitial(p)
		}
	}
	ex := w.ex
	// p's next operation: its taken[p]-th event after `after`, else its
	// pending operation at the end of the execution.
	skip := w.taken[p]
	var fps fpSet
	found := false
	for k := w.after + 1; k < int32(len(ex.events)); k++ {
		if ex.events[k].thread != p {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		e := &ex.events[k]
		if e.more < 0 {
			fps.n, fps.r[0] = 1, e.fp[0]
		} else {
			fps = ex.moreSets[e.more]
		}
		found = true
		break
	}
	if !found {
		t := ex.sys.threads[p]
		if t.status != statusPending {
			return false
		}
		fps = t.fps
	}
	for _, x := range w.v {
		if x == pendingRef {
			if ex.sys.dependent(&fps, &ex.sys.threads[w.jThread].fps) {
				return false
			}
		} else if ex.eventDependent(&ex.events[x], &fps) {
			return false
		}
	}
	return true
}

// remove drops p's first element from v.
func (w *wseq) remove(p int32) {
	for m, x := range w.v {
		if w.thread(x) == p {
			w.v = append(w.v[:m:m], w.v[m+1:]...)
			return
		}
	}
}

// insertInto inserts v into the wakeup tree rooted at root unless the
// tree already covers it: walking down from the root, it follows the
// first child that is a weak initial of what remains of v; reaching a
// leaf means covered; finding no such child adds the rest of v as a new
// last child.
func (w *wseq) insertInto(root *wnode) {
	u := root
	for {
		if u != root && len(u.kids) == 0 {
			return // a leaf: its branch covers v
		}
		if len(w.v) == 0 {
			return
		}
		var next *wnode
		for _, c := range u.kids {
			if w.weakInitial(int32(c.thread)) {
				next = c
				break
			}
		}
		if next == nil {
			for _, x := range w.v {
				if w.ex.sys.threads[w.thread(x)].spawnEvent >= w.after {
					// A thread spawned at or after e: in the reordered
					// execution it may get another id (e may be the
					// spawn, or precede one), so the sequence stops
					// before it and the exploration goes on freely.
					break
				}
				k := &wnode{thread: byte(w.thread(x))}
				u.kids = append(u.kids, k)
				u = k
			}
			return
		}
		w.remove(int32(next.thread))
		w.taken[next.thread]++
		u = next
	}
}

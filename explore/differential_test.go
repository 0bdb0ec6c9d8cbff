package explore

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// A random small program: threads of operations over up to three shared
// variables, one lock, blocking waits and assertions.
type genOp struct {
	kind int // opRead .. opAssert
	v    int // variable
	k    int // constant
}

const (
	opRead   = iota // r = v
	opWrite         // v = k
	opIncr          // v = r + 1
	opLock          // lock L
	opUnlock        // unlock L
	opWait          // await v == k
	opAssert        // assert r != k
	opChoose        // r = choose(2) + k
	opCopy          // x[(v+1)%vars] = v + k, one operation over two ranges
	numOps
)

type genProg struct {
	vars    int
	threads [][]genOp
	// daemon[i]: thread i is a daemon (the execution ends when every
	// other thread has finished and no daemon can move); repeat[i]: its
	// ops run that many times over, so states recur.
	daemon []bool
	repeat []int
	// invariant: if sum >= 0, "x0+...+xn != sum" is checked after every
	// step, over the variables' footprint (overVars) or everything.
	sum      int
	overVars bool
	// sticky: assertions leave a record that a Sticky check reports,
	// instead of failing inside the thread.
	sticky bool
	// symmetric: threads 1 and 2 run the same operations (same daemon
	// flag and repeat count); declare: the program declares them
	// symmetric (System.Symmetric) for the stateful search.
	symmetric, declare bool
	// byPath[i]: thread i never keeps a value it read (no read or choose),
	// and declares its state by its path (Thread.StateFromPath).
	byPath []bool
}

func (g genProg) String() string {
	var b strings.Builder
	names := []string{"read", "write", "incr", "lock", "unlock", "wait", "assert", "choose", "copy"}
	fmt.Fprintf(&b, "invariant sum != %d (over vars: %v), sticky asserts: %v, T1=T2: %v (declared %v)\n", g.sum, g.overVars, g.sticky, g.symmetric, g.declare)
	for i, th := range g.threads {
		kind := "T"
		if g.daemon[i] {
			kind = "D"
		}
		fmt.Fprintf(&b, "%s%d (x%d):", kind, i, g.repeat[i])
		for _, o := range th {
			fmt.Fprintf(&b, " %s(x%d,%d)", names[o.kind], o.v, o.k)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// interleavings is the multinomial bound on plain enumeration's size.
func (g genProg) interleavings() float64 {
	total, r := 0, 1.0
	for k, th := range g.threads {
		steps := len(th) * g.repeat[k]
		for i := 1; i <= steps; i++ {
			total++
			r = r * float64(total) / float64(i)
		}
	}
	return r
}

// shape bounds a random program: threads, operations per thread and
// variables.
type shape struct{ minThreads, maxThreads, maxOps, minVars, maxVars int }

// deep programs have few threads with long operation lists (DPOR's
// races); wide ones many threads with short lists over more variables,
// whose independent operations commute into the same states by many
// paths (what sleep sets with state caching must get right).
var (
	deep = shape{2, 4, 6, 1, 3}
	wide = shape{3, 5, 3, 2, 4}
)

func drawProgram(t *rapid.T) genProg { return drawShaped(t, deep) }

func drawShaped(t *rapid.T, sh shape) genProg {
	g := genProg{vars: rapid.IntRange(sh.minVars, sh.maxVars).Draw(t, "vars")}
	g.sum = rapid.IntRange(-3, 4).Draw(t, "invariant sum")
	g.overVars = rapid.Bool().Draw(t, "invariant over vars")
	g.sticky = rapid.Bool().Draw(t, "sticky asserts")
	n := rapid.IntRange(sh.minThreads, sh.maxThreads).Draw(t, "threads")
	for i := 0; i < n; i++ {
		m := rapid.IntRange(1, sh.maxOps).Draw(t, fmt.Sprintf("ops%d", i))
		var ops []genOp
		held := false
		for j := 0; j < m; j++ {
			o := genOp{
				kind: rapid.IntRange(0, numOps-1).Draw(t, "kind"),
				v:    rapid.IntRange(0, g.vars-1).Draw(t, "var"),
				k:    rapid.IntRange(0, 2).Draw(t, "k"),
			}
			// Keep lock use well formed per thread; a thread may still
			// end holding it (then others deadlock, which is an outcome).
			if o.kind == opLock && held || o.kind == opUnlock && !held {
				o.kind = opRead
			}
			if o.kind == opLock {
				held = true
			}
			if o.kind == opUnlock {
				held = false
			}
			ops = append(ops, o)
		}
		g.threads = append(g.threads, ops)
		// Thread 0 is never a daemon, so some thread must finish.
		g.daemon = append(g.daemon, i > 0 && rapid.IntRange(0, 2).Draw(t, "daemon") == 0)
		g.repeat = append(g.repeat, rapid.IntRange(1, 2).Draw(t, "repeat"))
	}
	// Identical threads, the case symmetry reduction is for.
	if n >= 3 && rapid.Bool().Draw(t, "T2 copies T1") {
		g.symmetric = true
		g.declare = rapid.Bool().Draw(t, "declare symmetry")
		g.threads[2] = slices.Clone(g.threads[1])
		g.daemon[2], g.repeat[2] = g.daemon[1], g.repeat[1]
	}
	for i, ops := range g.threads {
		keeps := false
		for _, o := range ops {
			keeps = keeps || o.kind == opRead || o.kind == opChoose
		}
		g.byPath = append(g.byPath, !keeps && rapid.Bool().Draw(t, fmt.Sprintf("T%d state by path", i)))
	}
	if g.symmetric {
		g.byPath[2] = g.byPath[1]
	}
	// Keep plain enumeration affordable: trim the longest thread (both
	// symmetric ones together).
	for g.interleavings() > 3000 {
		longest := 0
		for i, th := range g.threads {
			if len(th)*g.repeat[i] > len(g.threads[longest])*g.repeat[longest] {
				longest = i
			}
		}
		th := g.threads[longest]
		g.threads[longest] = th[:len(th)-1]
		if g.symmetric && (longest == 1 || longest == 2) {
			g.threads[3-longest] = slices.Clone(g.threads[longest])
		}
	}
	return g
}

func (g genProg) program() (Program, func(*System) string) {
	type world struct {
		vars    []*Var[int]
		regs    []int
		pos     []int  // each thread's operation index (state digest)
		flagged string // the first sticky assertion record
	}
	prog := func(s *System) {
		w := &world{regs: make([]int, len(g.threads)), pos: make([]int, len(g.threads))}
		s.SetModel(w)
		for i := 0; i < g.vars; i++ {
			w.vars = append(w.vars, NewVar(s, fmt.Sprintf("x%d", i), 0))
		}
		lock := NewMutex(s, "L")
		s.State(func(d *Digest) {
			for _, v := range w.vars {
				d.Int(v.Peek())
			}
			d.Bool(lock.Held())
			d.String(w.flagged)
		})
		var threads []*Thread
		if g.sticky {
			s.Sticky("assert", func() error {
				if w.flagged != "" {
					return &Failure{Property: "assert", Message: w.flagged, Thread: -1}
				}
				return nil
			})
		}
		if g.sum >= 0 {
			check := func() error {
				total := 0
				for _, v := range w.vars {
					total += v.Peek()
				}
				if total == g.sum {
					return fmt.Errorf("the variables sum to %d", total)
				}
				return nil
			}
			if g.overVars {
				s.InvariantOver("sum", RRange(w.vars[0].Obj(), g.vars), check)
			} else {
				s.Invariant("sum", check)
			}
		}
		for i, ops := range g.threads {
			spawn := s.Go
			if g.daemon[i] {
				spawn = s.Daemon
			}
			th := spawn(fmt.Sprintf("T%d", i), func(t *Thread) {
				for r := 0; r < g.repeat[i]; r++ {
					for j, o := range ops {
						w.pos[i] = r*len(ops) + j
						v := w.vars[o.v]
						switch o.kind {
						case opRead:
							w.regs[i] = v.Load(t)
						case opWrite:
							v.Store(t, o.k)
						case opIncr:
							v.Store(t, w.regs[i]+1)
						case opLock:
							lock.Lock(t)
						case opUnlock:
							lock.Unlock(t)
						case opWait:
							v.Await(t, fmt.Sprintf("wait x%d==%d", o.v, o.k), func(x int) bool { return x == o.k })
						case opAssert:
							t.Op("assert", Local)
							if g.sticky {
								if w.regs[i] == o.k && w.flagged == "" {
									w.flagged = fmt.Sprintf("T%d: r == %d", i, o.k)
								}
							} else {
								t.Assert(w.regs[i] != o.k, "assert", fmt.Sprintf("T%d: r == %d", i, o.k))
							}
						case opCopy:
							dst := w.vars[(o.v+1)%g.vars]
							if dst == v {
								t.OpMulti("copy", W(v.Obj()))
							} else {
								t.OpMulti("copy", R(v.Obj()), W(dst.Obj()))
							}
							dst.Poke(v.Peek() + o.k)
						case opChoose:
							t.Op("choose", Local)
							w.regs[i] = t.Choose("c", 2) + o.k
						}
					}
				}
				w.pos[i] = -1
			})
			if g.byPath[i] {
				th.StateFromPath()
				th.State(func(d *Digest) { d.Bool(lock.HeldBy(th)) })
			} else {
				th.State(func(d *Digest) {
					d.Int(w.pos[i])
					d.Int(w.regs[i])
					d.Bool(lock.HeldBy(th))
				})
			}
			threads = append(threads, th)
		}
		if g.declare {
			s.Symmetric("T1/T2", threads[1], threads[2])
		}
	}
	summary := func(s *System) string {
		w := s.Model().(*world)
		var b strings.Builder
		for _, v := range w.vars {
			fmt.Fprintf(&b, "%d ", v.Peek())
		}
		fmt.Fprintf(&b, "regs %v", w.regs)
		// Where each thread stopped: a daemon may be cut off anywhere.
		for _, t := range s.Threads() {
			fmt.Fprintf(&b, " %s@%d", t.Name(), t.events)
		}
		return b.String()
	}
	return prog, summary
}

// canonical renames the outcomes of a program whose threads 1 and 2 are
// symmetric so that outcomes equal up to swapping them are equal: it is
// how a search with symmetry reduction is compared with plain
// enumeration, which meets both of each pair.
func (g genProg) canonical(set []string) []string {
	if !g.symmetric {
		return set
	}
	out := map[string]bool{}
	for _, k := range set {
		out[g.canonicalOne(k)] = true
	}
	return slices.Sorted(maps.Keys(out))
}

func (g genProg) canonicalOne(k string) string {
	if rest, ok := strings.CutPrefix(k, "END "); ok {
		// "v0 v1 regs [r0 r1 r2] T0@e0 T1@e1 T2@e2": sort T1's and T2's
		// (register, stop) pairs.
		f := strings.Fields(rest)
		nv := g.vars
		regs := f[nv+1 : nv+1+len(g.threads)]
		stops := f[nv+1+len(g.threads):]
		pair := func(i int) string {
			return strings.Trim(regs[i], "[]") + "@" + strings.SplitN(stops[i], "@", 2)[1]
		}
		a, b := pair(1), pair(2)
		if b < a {
			a, b = b, a
		}
		return fmt.Sprintf("END %s sym{%s %s} %s", strings.Join(f[:nv], " "), a, b, strings.Join(append([]string{regs[0]}, stops[0]), " "))
	}
	k = strings.NewReplacer("T1", "Ts", "T2", "Ts").Replace(k)
	if rest, ok := strings.CutPrefix(k, "FAIL deadlock: no thread can proceed; blocked:"); ok {
		parts := strings.Split(rest, ";")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		slices.Sort(parts)
		return "FAIL deadlock: blocked: " + strings.Join(parts, "; ")
	}
	return k
}

func setRapidChecks(t *testing.T, n int) {
	f := flag.Lookup("rapid.checks")
	if f == nil || f.Value.String() != f.DefValue {
		return // the user chose
	}
	if testing.Short() {
		n /= 10
	}
	old := f.Value.String()
	f.Value.Set(fmt.Sprint(n))
	t.Cleanup(func() { f.Value.Set(old) })
}

// TestDifferentialDPOR is the judge of the reduction: for random small
// programs, DPOR and plain enumeration reach the same set of final states
// and the same failures (assertions, deadlocks).
func TestDifferentialDPOR(t *testing.T) {
	setRapidChecks(t, 2000)
	var programs, dporExecs, plainExecs int
	rapid.Check(t, func(rt *rapid.T) {
		g := drawProgram(rt)
		prog, summary := g.program()
		want, plain, _ := outcomes(prog, modePlain, summary)
		got, complete, _ := outcomes(prog, modeDPOR, summary)
		programs++
		plainExecs += plain
		dporExecs += complete
		if d := diffSets(got, want); d != "" {
			rt.Fatalf("DPOR and plain enumeration disagree on\n%s\n%s", g, d)
		}

	})
	t.Logf("%d programs: %d plain executions, %d DPOR executions (%.1fx fewer)",
		programs, plainExecs, dporExecs, float64(plainExecs)/float64(max(1, dporExecs)))
}

// TestDifferentialStateful is the judge of state caching and symmetry
// reduction: for random small programs whose states recur (repeated
// operation lists) and whose threads may be identical, the stateful search
// reaches the same final states and failures as plain enumeration, up to
// swapping identical threads when it was told they are symmetric.
func TestDifferentialStateful(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape shape
	}{{"deep", deep}, {"wide", wide}} {
		t.Run(c.name, func(t *testing.T) { differentialStateful(t, c.shape) })
	}
}

func differentialStateful(t *testing.T, sh shape) {
	setRapidChecks(t, 1500)
	var programs, symmetric, byPath, plainExecs, statefulExecs, states int
	rapid.Check(t, func(rt *rapid.T) {
		g := drawShaped(rt, sh)
		prog, summary := g.program()
		want, plain, _ := outcomes(prog, modePlain, summary)
		got, execs, _ := outcomes(prog, modeStateful, summary)
		programs++
		if slices.Contains(g.byPath, true) {
			byPath++
		}
		if g.declare {
			symmetric++
			want, got = g.canonical(want), g.canonical(got)
		}
		plainExecs += plain
		statefulExecs += execs
		if d := diffSets(got, want); d != "" {
			rt.Fatalf("stateful search and plain enumeration disagree on\n%s\n%s", g, d)
		}
		res := Explore(prog, Options{Strategy: Stateful})
		states += int(res.Stats.States)
	})
	if programs == 0 || symmetric == 0 || byPath == 0 {
		t.Fatalf("checked %d programs, %d with declared symmetry, %d with a state by path: the generator no longer draws them", programs, symmetric, byPath)
	}
	t.Logf("%d programs (%d with symmetric threads, %d with a state by path): %d plain executions, %d stateful executions, %d states",
		programs, symmetric, byPath, plainExecs, statefulExecs, states)
}

// TestDifferentialSplit checks that splitting the search for workers keeps
// it sound and that results do not depend on the worker count.
func TestDifferentialSplit(t *testing.T) {
	setRapidChecks(t, 300)
	rapid.Check(t, func(rt *rapid.T) {
		g := drawProgram(rt)
		prog, _ := g.program()
		split := rapid.IntRange(1, 4).Draw(rt, "split")
		base := Explore(prog, Options{Strategy: Exhaustive})
		r1 := Explore(prog, Options{SplitDepth: split, Workers: 1})
		r2 := Explore(prog, Options{SplitDepth: split, Workers: 2})
		if (base.Verdict == Safe) != (r1.Verdict == Safe) {
			rt.Fatalf("split DPOR says %s, plain enumeration %s\n%s", r1.Verdict, base.Verdict, g)
		}
		if r1.Verdict != r2.Verdict || r1.Schedule.String() != r2.Schedule.String() || r1.Stats.Executions != r2.Stats.Executions || r1.Stats.Steps != r2.Stats.Steps {
			rt.Fatalf("1 and 2 workers differ: %s %v %d vs %s %v %d\n%s", r1.Verdict, r1.Schedule, r1.Stats.Executions, r2.Verdict, r2.Schedule, r2.Stats.Executions, g)
		}
	})
}

package explore

import "fmt"

// The engine's example programs: the classic benchmarks of the DPOR
// literature, with known numbers of Mazurkiewicz traces, and the classic
// concurrency bugs. They are the engine's catalog in `klpcheck check
// engine` and its benchmarks.

// Independent has n threads each writing its own variable: one trace.
func Independent(n int) Program {
	return func(s *System) {
		for i := 0; i < n; i++ {
			v := NewVar(s, fmt.Sprintf("x%d", i), 0)
			s.Go(fmt.Sprintf("t%d", i), func(t *Thread) {
				v.Store(t, 1)
				v.Store(t, 2)
			})
		}
	}
}

// Writers has n threads writing one variable: n! traces.
func Writers(n int) Program {
	return func(s *System) {
		x := NewVar(s, "x", 0)
		for i := 0; i < n; i++ {
			s.Go(fmt.Sprintf("w%d", i), func(t *Thread) { x.Store(t, i+1) })
		}
	}
}

// Readers has one writer and n readers of one variable: 2^n traces.
func Readers(n int) Program {
	return func(s *System) {
		x := NewVar(s, "x", 0)
		s.Go("writer", func(t *Thread) { x.Store(t, 1) })
		for i := 0; i < n; i++ {
			s.Go(fmt.Sprintf("r%d", i), func(t *Thread) { x.Load(t) })
		}
	}
}

// LastZero is the lastzero(n) benchmark of Abdulla et al. (POPL 2014):
// thread 0 scans an array of n+1 zeros from the end for the last zero;
// thread j (1..n) sets a[j] = a[j-1] + 1.
func LastZero(n int) Program {
	return func(s *System) {
		a := make([]*Var[int], n+1)
		for i := range a {
			a[i] = NewVar(s, fmt.Sprintf("a[%d]", i), 0)
		}
		// The state, for the stateful strategy: the array, and what each
		// writer read (held across its store); the scanner's position is
		// its pending label.
		got := make([]int, n+1)
		s.State(func(d *Digest) {
			for _, v := range a {
				d.Int(v.Peek())
			}
		})
		s.Go("scan", func(t *Thread) {
			for i := n; i >= 0 && a[i].Load(t) != 0; i-- {
			}
		})
		for j := 1; j <= n; j++ {
			w := s.Go(fmt.Sprintf("t%d", j), func(t *Thread) {
				got[j] = a[j-1].Load(t)
				a[j].Store(t, got[j]+1)
			})
			w.State(func(d *Digest) { d.Int(got[j]) })
		}
	}
}

// Indexer is the indexer(n) benchmark of Flanagan and Godefroid (POPL
// 2005): n threads each insert 4 messages into a 128-entry hash table with
// compare-and-swap and linear probing. Collisions, and so races, start at
// n = 12.
func Indexer(n int) Program {
	const size, perThread = 128, 4
	return func(s *System) {
		table := s.Objects("table", size)
		vals := make([]int, size)
		for tid := 0; tid < n; tid++ {
			s.Go(fmt.Sprintf("t%d", tid), func(t *Thread) {
				for m := 1; m <= perThread; m++ {
					w := m*11 + tid
					h := (w * 7) % size
					for {
						t.Op("cas table", W(table+Obj(h)))
						if vals[h] == 0 {
							vals[h] = w
							break
						}
						h = (h + 1) % size
					}
				}
			})
		}
	}
}

// LostUpdate has two threads increment a counter with a separate load and
// store: the final value can be 1.
func LostUpdate() Program {
	return func(s *System) {
		x := NewVar(s, "x", 0)
		for i := 0; i < 2; i++ {
			s.Go(fmt.Sprintf("inc%d", i), func(t *Thread) {
				v := x.Load(t)
				x.Store(t, v+1)
			})
		}
		s.AtEnd("lost-update", func() error {
			if x.Peek() != 2 {
				return fmt.Errorf("two increments left the counter at %d", x.Peek())
			}
			return nil
		})
	}
}

// Peterson is Peterson's mutual exclusion for two threads. withTurn false
// drops the writes of the turn variable (it stays 0), which breaks mutual
// exclusion: p0 never waits.
func Peterson(withTurn bool) Program {
	return func(s *System) {
		flag := [2]*Var[bool]{NewVar(s, "flag0", false), NewVar(s, "flag1", false)}
		turn := NewVar(s, "turn", 0)
		inCS := NewVar(s, "in_cs", 0)
		for i := 0; i < 2; i++ {
			other := 1 - i
			s.Go(fmt.Sprintf("p%d", i), func(t *Thread) {
				flag[i].Store(t, true)
				if withTurn {
					turn.Store(t, other)
				}
				// while (flag[other] && turn == other) spin: one blocking
				// operation over flag0, flag1 and turn.
				t.Await("wait for turn", Footprint{flag[0].Obj(), turn.Obj() + 1, Read}, func() bool {
					return !flag[other].Peek() || turn.Peek() != other
				})
				n := inCS.Update(t, "enter critical section", func(v int) int { return v + 1 })
				t.Assert(n == 1, "mutual-exclusion", fmt.Sprintf("p%d entered the critical section while p%d was in it", i, other))
				inCS.Update(t, "leave critical section", func(v int) int { return v - 1 })
				flag[i].Store(t, false)
			})
		}
	}
}

// LockInversion takes two locks in opposite orders: a deadlock.
func LockInversion() Program {
	return func(s *System) {
		a, b := NewMutex(s, "A"), NewMutex(s, "B")
		s.Go("ab", func(t *Thread) {
			a.Lock(t)
			b.Lock(t)
			b.Unlock(t)
			a.Unlock(t)
		})
		s.Go("ba", func(t *Thread) {
			b.Lock(t)
			a.Lock(t)
			a.Unlock(t)
			b.Unlock(t)
		})
	}
}

// FibBench is SV-COMP's fib_bench(n) (as in the optimal-DPOR papers): two
// threads each update one of two shared variables n times, i += j and
// j += i, with a load of each and a store; the checked bound on i and j
// holds.
func FibBench(n int) Program {
	return func(s *System) {
		i, j := NewVar(s, "i", 1), NewVar(s, "j", 1)
		s.Go("t1", func(t *Thread) {
			for k := 0; k < n; k++ {
				a := i.Load(t)
				b := j.Load(t)
				i.Store(t, a+b)
			}
		})
		s.Go("t2", func(t *Thread) {
			for k := 0; k < n; k++ {
				a := j.Load(t)
				b := i.Load(t)
				j.Store(t, a+b)
			}
		})
	}
}

// Filesystem is the file-system benchmark of Flanagan and Godefroid (POPL
// 2005), scaled as in the source-sets paper: n threads each allocate a
// block for inode tid%numInodes under the inode's lock, probing the block
// bitmap under per-block locks. Threads conflict once two share an inode
// or probe the same block (from n = 14 with 32 inodes and 26 blocks,
// fewer here so that small n race).
func Filesystem(n int) Program {
	const numInodes, numBlocks = 4, 4
	return func(s *System) {
		var lockI, lockB [numInodes]*Mutex
		inode := make([]*Var[int], numInodes)
		busy := make([]*Var[bool], numBlocks)
		for k := range numInodes {
			lockI[k] = NewMutex(s, fmt.Sprintf("locki[%d]", k))
			inode[k] = NewVar(s, fmt.Sprintf("inode[%d]", k), 0)
		}
		for k := range numBlocks {
			lockB[k] = NewMutex(s, fmt.Sprintf("lockb[%d]", k))
			busy[k] = NewVar(s, fmt.Sprintf("busy[%d]", k), false)
		}
		for tid := 0; tid < n; tid++ {
			s.Go(fmt.Sprintf("t%d", tid), func(t *Thread) {
				i := tid % numInodes
				lockI[i].Lock(t)
				if inode[i].Load(t) == 0 {
					b := (i * 2) % numBlocks
					for {
						lockB[b].Lock(t)
						if !busy[b].Load(t) {
							busy[b].Store(t, true)
							inode[i].Store(t, b+1)
							lockB[b].Unlock(t)
							break
						}
						lockB[b].Unlock(t)
						b = (b + 1) % numBlocks
					}
				}
				lockI[i].Unlock(t)
			})
		}
	}
}

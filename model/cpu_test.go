package model

import (
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

var (
	nop5   = []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}
	call32 = []byte{0xe8, 0xe7, 0x57, 0x07, 0x00}
)

// reach explores prog exhaustively and reports whether the check, run at
// the end of an execution, held in some execution.
func reach(t *testing.T, fetch FetchModel, addr uint64, body func(s *explore.System, m *Machine) func() bool) bool {
	t.Helper()
	l, err := NewLayout(fetch, []SiteSpec{{Addr: addr, Old: nop5, New: call32}}, false)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	prog := func(s *explore.System) {
		m := NewMachine(s, l, Config{CPUs: 2})
		check := body(s, m)
		s.AtEnd("reach", func() error {
			found = found || check()
			return nil
		})
	}
	r := explore.Explore(prog, explore.Options{Strategy: explore.Exhaustive, MaxSteps: 500})
	if r.Verdict != explore.Safe {
		t.Fatalf("%s: %v", r.Verdict, r.Failure)
	}
	return found
}

// TestBoundaryTakesEveryPendingIPI: a CPU at the instruction boundary
// before its first fetch can acknowledge two sync rounds one after the
// other (IRET returns to the same boundary, where the next pending IPI is
// taken) and only then fetch. A boundary that took at most one IPI could
// not: the writer's second round needs a second acknowledgement before
// the fetch.
func TestBoundaryTakesEveryPendingIPI(t *testing.T) {
	const site = 0xffffffff81000020
	ok := reach(t, FetchModel{Bytewise, 1}, site, func(s *explore.System, m *Machine) func() bool {
		afterSecond := int32(-1)
		s.Go("writer", func(t *explore.Thread) {
			m.SyncEachCPU(t, m.CPUs[0], "a", nil)
			m.SyncEachCPU(t, m.CPUs[0], "b", nil)
			t.Op("after b", explore.Local)
			afterSecond = int32(m.S.Step() - 1)
		})
		s.Go("cpu1", m.Executor(m.CPUs[1], 1, 0))
		return func() bool {
			return len(m.Execs) == 1 && afterSecond >= 0 && m.Execs[0].Begin > afterSecond
		}
	})
	if !ok {
		t.Error("no execution where cpu1 acknowledges both syncs at its first boundary and then fetches the site")
	}
}

// TestPreludeFillsStaleLine: under stale:64 an executor's prelude can
// leave the site's line in the cache with bytes memory no longer holds,
// so its first (and only) call executes a line read before a store; with
// prelude 0 the first fetch always reads memory.
func TestPreludeFillsStaleLine(t *testing.T) {
	const site = 0xffffffff81000020
	for _, c := range []struct {
		prelude int
		want    bool
	}{{1, true}, {0, false}} {
		got := reach(t, FetchModel{Stale, 64}, site, func(s *explore.System, m *Machine) func() bool {
			s.Go("writer", func(t *explore.Thread) {
				t.Op("store", m.WriteFP(site, len(call32)))
				m.Store(site, call32)
			})
			s.Go("cpu1", m.Executor(m.CPUs[1], 1, c.prelude))
			return func() bool {
				return len(m.Execs) == 1 && m.Execs[0].Fill < m.Execs[0].Begin && m.Execs[0].Decoded == ClassOld && m.Mem(site) == call32[0]
			}
		})
		if got != c.want {
			t.Errorf("prelude %d: an old execution from a line filled before the store reachable = %v, want %v", c.prelude, got, c.want)
		}
	}
}

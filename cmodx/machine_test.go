package cmodx_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/klpcheck/klpcheck/arch/arm64"
	"github.com/klpcheck/klpcheck/arch/riscv"
	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
)

// outcomes explores prog exhaustively (plain enumeration and DPOR) and
// returns the sorted set of what its threads reported; both must agree.
func outcomes(t *testing.T, build func(sys *explore.System, report func(string))) []string {
	var sets [2]map[string]bool
	for i, s := range []explore.Strategy{explore.Exhaustive, explore.DPOR} {
		seen := map[string]bool{}
		prog := func(sys *explore.System) {
			var got string
			build(sys, func(s string) { got += s })
			sys.AtEnd("collect", func() error { seen[got] = true; return nil })
		}
		r := explore.Explore(prog, explore.Options{Strategy: s})
		if r.Verdict != explore.Safe {
			t.Fatalf("%s: %s %v", s, r.Verdict, r.Failure)
		}
		sets[i] = seen
	}
	var out []string
	for k := range sets[0] {
		out = append(out, k)
	}
	sort.Strings(out)
	if fmt.Sprint(out) != fmt.Sprint(keys(sets[1])) {
		t.Fatalf("exhaustive %v, DPOR %v", out, keys(sets[1]))
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func arm64Layout() *cmodx.Layout {
	l := &cmodx.Layout{Base: arm64.Base, Unit: 4, Image: append(arm64.Word(arm64.NOP), arm64.Word(arm64.RET)...)}
	if err := cmodx.FinishLayout(arm64.ISA{}, l); err != nil {
		panic(err)
	}
	return l
}

func name(b []byte) string {
	if b[0] == 0x1f {
		return "old"
	}
	return "new"
}

// TestArm64Maintenance: after a store, another CPU may fetch the old or
// the new instruction; after the writer's dc cvau + ic ivau it may still
// run a prefetched old copy until its own isb; after the isb only the new.
func TestArm64Maintenance(t *testing.T) {
	b, _ := arm64.Branch(arm64.Base, arm64.Base+4, false)
	for _, c := range []struct {
		name      string
		dc, ic    bool
		readerISB bool
		want      string
	}{
		{"no maintenance", false, false, false, "[new old]"},
		{"no maintenance, isb", false, false, true, "[new old]"},
		{"dc+ic, no isb", true, true, false, "[new old]"},
		{"ic only, isb", false, true, true, "[new old]"},
		{"dc+ic, isb", true, true, true, "[new]"},
	} {
		got := outcomes(t, func(sys *explore.System, report func(string)) {
			m := cmodx.NewMachine(sys, arm64.ISA{}, arm64Layout(), cmodx.Config{CPUs: 2})
			done := explore.NewVar(sys, "done", false)
			sys.Go("writer", func(th *explore.Thread) {
				m.Store(th, arm64.Base, arm64.Word(b))
				if c.dc {
					m.DCCVAU(th, arm64.Base, 4)
				}
				if c.ic {
					m.ICIVAU(th, arm64.Base, 4)
				}
				done.Store(th, true)
			})
			sys.Go("reader", func(th *explore.Thread) {
				done.Await(th, "wait for the writer", func(v bool) bool { return v })
				if c.readerISB {
					m.CPUs[1].ISB(th)
				}
				w, ok := m.CPUs[1].FetchInsn(th, arm64.Base)
				if !ok {
					report("unpredictable")
					return
				}
				report(name(w))
			})
		})
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}

// TestRiscvFenceI: a hart sees a stale word until its own fence.i;
// another hart's fence.i does not help it.
func TestRiscvFenceI(t *testing.T) {
	a, _ := riscv.CallT0(riscv.Base, riscv.FtraceCaller)
	for _, c := range []struct {
		name string
		self bool
		want string
	}{
		{"writer's fence.i only", false, "[new old]"},
		{"the reader's fence.i", true, "[new]"},
	} {
		got := outcomes(t, func(sys *explore.System, report func(string)) {
			l := &cmodx.Layout{Base: riscv.Base, Unit: 4, Image: append(riscv.Word(riscv.NOP), riscv.Word(riscv.RET)...)}
			if err := cmodx.FinishLayout(riscv.ISA{}, l); err != nil {
				t.Fatal(err)
			}
			m := cmodx.NewMachine(sys, riscv.ISA{}, l, cmodx.Config{CPUs: 2})
			done := explore.NewVar(sys, "done", false)
			sys.Go("writer", func(th *explore.Thread) {
				m.Store(th, riscv.Base, riscv.Word(a))
				m.CPUs[0].FenceI(th)
				done.Store(th, true)
			})
			sys.Go("reader", func(th *explore.Thread) {
				done.Await(th, "wait", func(v bool) bool { return v })
				if c.self {
					m.CPUs[1].FenceI(th)
				}
				w, _ := m.CPUs[1].FetchInsn(th, riscv.Base)
				if w[0] == 0x13 {
					report("old")
				} else {
					report("new")
				}
			})
		})
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}

// TestArm64Unpredictable: a fetch that may see two encodings outside the
// CMODX set is refused (recorded): with no maintenance the old nop is
// never lost, so every fetch after the store of the mov may see both; one
// that may see NOP and B executes either.
func TestArm64Unpredictable(t *testing.T) {
	b, _ := arm64.Branch(arm64.Base, arm64.Base+4, false)
	for _, c := range []struct {
		insn uint32
		want string
	}{{b, "[new old]"}, {arm64.MovX9, "[old unpredictable]"}} {
		got := outcomes(t, func(sys *explore.System, report func(string)) {
			m := cmodx.NewMachine(sys, arm64.ISA{}, arm64Layout(), cmodx.Config{CPUs: 2})
			sys.Go("writer", func(th *explore.Thread) { m.Store(th, arm64.Base, arm64.Word(c.insn)) })
			sys.Go("reader", func(th *explore.Thread) {
				w, ok := m.CPUs[1].FetchInsn(th, arm64.Base)
				switch {
				case !ok:
					report("unpredictable")
				default:
					report(name(w))
				}
			})
		})
		if fmt.Sprint(got) != c.want {
			t.Errorf("%08x: %v, want %s", c.insn, got, c.want)
		}
	}
}

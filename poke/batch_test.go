package poke

import (
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
	"github.com/klpcheck/klpcheck/props"
)

// TestBatchAddKeepsTheVectorSorted: two single pokes queued in descending
// address order through BatchAdd — the second add flushes the first batch,
// as smp_text_poke_batch_add does — with an executor calling both sites:
// every interleaving is safe and both sites end up new.
func TestBatchAddKeepsTheVectorSorted(t *testing.T) {
	call := []byte{0xe8, 0xe7, 0x57, 0x07, 0x00}
	hi, lo := uint64(0xffffffff81000030), uint64(0xffffffff81000020)
	specs := []model.SiteSpec{{Addr: lo, Old: NOP5, New: call}, {Addr: hi, Old: NOP5, New: call}}
	l, err := model.NewLayout(model.FetchModel{Kind: model.Bytewise, N: 1}, specs, false)
	if err != nil {
		t.Fatal(err)
	}
	eHi, err := NewEntry(hi, call)
	if err != nil {
		t.Fatal(err)
	}
	eLo, err := NewEntry(lo, call)
	if err != nil {
		t.Fatal(err)
	}
	patch, errs := NewPatch(BP, nil, nil)
	if patch == nil {
		t.Fatal(errs)
	}
	var batches int
	prog := func(s *explore.System) {
		m := model.NewMachine(s, l, model.Config{CPUs: 2})
		k := Install(m, patch, 2).inst.(*TextPokeArray)
		props.InstallX86(s, m)
		s.Go("writer", func(t *explore.Thread) {
			k.BatchAdd(t, eHi)
			k.BatchAdd(t, eLo) // lower address: flushes the queued entry first
			if k.NrEntries() != 1 {
				t.Fail("test", "BatchAdd did not flush before adding a lower address")
			}
			k.BatchFinish(t)
			t.Op("return", m.ReturnFP())
			m.WriterDone()
		})
		s.Go("cpu1", m.Executor(m.CPUs[1], 1, 0))
		s.AtEnd("syncs", func() error {
			batches = m.Syncs
			return nil
		})
	}
	r := explore.Explore(prog, explore.Options{MaxSteps: 2000})
	if r.Verdict != explore.Safe {
		t.Fatalf("%s: %v", r.Verdict, r.Failure)
	}
	if batches != 6 {
		t.Errorf("%d syncs, want 6 (two batches of three)", batches)
	}
}

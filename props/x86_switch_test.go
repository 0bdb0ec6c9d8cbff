package props

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/klpcheck/klpcheck/model"
	"pgregory.net/rapid"
)

// TestSwitchCheckAgreesWithPorcupine: the direct linearizability test of
// atomic-switch decides exactly as porcupine on random histories.
func TestSwitchCheckAgreesWithPorcupine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sites := rapid.IntRange(1, 2).Draw(t, "sites")
		done := int32(rapid.IntRange(0, 30).Draw(t, "done"))
		n := rapid.IntRange(0, 6).Draw(t, "execs")
		var execs []model.SiteExec
		for i := 0; i < n; i++ {
			fill := int32(rapid.IntRange(0, 40).Draw(t, "fill"))
			end := fill + int32(rapid.IntRange(0, 10).Draw(t, "len"))
			out := []model.Outcome{model.OutOld, model.OutNew, model.OutOld, model.OutNew, model.OutOther}[rapid.IntRange(0, 4).Draw(t, "outcome")]
			execs = append(execs, model.SiteExec{CPU: i % 3, Site: rapid.IntRange(0, sites-1).Draw(t, "site"), Fill: fill, Begin: fill, End: end, Outcome: out})
		}
		site, _, _ := switchViolation(sites, done, execs)
		direct := site < 0
		por := porcupine.CheckOperations(AtomicSwitchModel(), switchHistory(sites, 3, done, execs))
		if direct != por {
			t.Fatalf("direct check says linearizable=%v, porcupine says %v, for done=%d execs=%+v", direct, por, done, execs)
		}
	})
}

func TestSwitchInversionIsCaught(t *testing.T) {
	// cpu1 runs new over [5,8]; cpu2 then reads old bytes at 10: new→old.
	execs := []model.SiteExec{{CPU: 1, Fill: 5, End: 8, Outcome: model.OutNew}, {CPU: 2, Fill: 10, End: 12, Outcome: model.OutOld}}
	if site, old, nw := switchViolation(1, 20, execs); site != 0 || old.CPU != 2 || nw.CPU != 1 {
		t.Fatalf("inversion not caught: %d %v %v", site, old, nw)
	}
	if porcupine.CheckOperations(AtomicSwitchModel(), switchHistory(1, 3, 20, execs)) {
		t.Fatal("porcupine accepts a new→old inversion")
	}
	// Overlapping executions may see either value.
	execs[1].Fill = 6
	if site, _, _ := switchViolation(1, 20, execs); site >= 0 {
		t.Fatal("overlapping old and new executions flagged")
	}
}

func TestCatalogHasEveryX86Property(t *testing.T) {
	for _, id := range X86 {
		if Meaning(id) == "" {
			t.Errorf("property %s has no meaning", id)
		}
	}
}

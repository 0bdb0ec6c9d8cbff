package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
	"github.com/klpcheck/klpcheck/poke"
)

// The worked example of docs/your-change.md: a kernel developer's change
// to smp_text_poke_batch_finish, checked the way the document says. The
// variant is a copy of the current protocol (poke/poke.go: the
// TextPokeArray state, BatchFinish and the int3 handler) written against
// poke's exported building blocks, registered in one call per variant
// (in the tree it would be one line of poke's protocols table), and
// explored on a scenario file, testdata/yourchange.json.

func init() {
	for _, v := range []struct {
		name    poke.Variant
		meaning string
		edited  bool
	}{
		{"example-copy", "docs/your-change.md: a copy of smp_text_poke_batch_finish, unedited", false},
		{"example-no-second-sync", "docs/your-change.md: the copy without the sync after the tails", true},
	} {
		poke.Register(poke.Protocol{
			Name: v.name, Meaning: v.meaning, Kernel: "your tree", Takes: "old/new or sites",
			Validate: poke.Int3Site,
			New: func(k *poke.Poker, capacity int) poke.Instance {
				return newMyTextPoke(k, capacity, v.edited)
			},
		})
	}
}

// myTextPoke is the copy: text_poke_array, its per-CPU refs, and the
// change under test (edited: no second sync).
type myTextPoke struct {
	*poke.Poker
	refsObj explore.Obj
	refs    []int32
	descObj explore.Obj
	nr      int
	vec     []poke.Entry
	edited  bool
}

func newMyTextPoke(k *poke.Poker, capacity int, edited bool) poke.Instance {
	m := k.Machine()
	capacity = max(capacity, len(k.Entries()), 1)
	a := &myTextPoke{Poker: k, refs: make([]int32, len(m.CPUs)), vec: make([]poke.Entry, capacity), edited: edited}
	a.refsObj = m.S.Objects("text_poke_array_refs", len(m.CPUs))
	a.descObj = m.S.Objects("text_poke_array", 1+capacity)
	a.nr = copy(a.vec, k.Entries())
	return a
}

// Writer is smp_text_poke_batch_finish, copied from poke.BatchFinish.
func (a *myTextPoke) Writer(t *explore.Thread) {
	if a.nr == 0 {
		return
	}
	vec := a.vec[:a.nr]
	a.Step(t, poke.StepRefsSet, explore.WRange(a.refsObj, len(a.refs)), func() {
		for cpu := range a.refs {
			a.refs[cpu] = 1
		}
	})
	// First step: add an INT3 trap to the address that will be patched.
	a.PokeInt3s(t, vec)
	a.Sync(t, poke.StepSync1)
	// Second step: update all but the first byte of the patched range.
	if a.PokeTails(t, vec) && !a.edited {
		a.Sync(t, poke.StepSync2) // the line the edit removes
	}
	// Third step: replace the first byte (INT3) by the first byte of
	// the replacing opcode.
	if a.PokeFirstBytes(t, vec) {
		a.Sync(t, poke.StepSync3)
	}
	// Remove and wait for refs to be zero.
	m := a.Machine()
	for cpu := range a.refs {
		ref := a.refsObj + explore.Obj(cpu)
		t.Op("refs-drain: atomic_dec_and_test", explore.W(ref))
		m.SetWriterStep(t, poke.StepRefsDrain)
		a.refs[cpu]--
		a.NMI(t)
		if a.refs[cpu] != 0 {
			t.Await("refs-drain: wait for refs == 0", explore.R(ref), func() bool { return a.refs[cpu] == 0 })
			a.NMI(t)
		}
	}
	a.Step(t, "nr_entries = 0", explore.W(a.descObj), func() { a.nr = 0 })
}

// Int3 is smp_text_poke_int3_handler, copied from poke.TextPokeArray.Int3.
func (a *myTextPoke) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	ref := a.refsObj + explore.Obj(c.ID)
	t.Op("int3: try_get_text_poke_array", explore.W(ref))
	if a.refs[c.ID] == 0 {
		return false
	}
	a.refs[c.ID]++
	t.Op("int3: search text_poke_array", explore.RRange(a.descObj, 1+len(a.vec)))
	if a.nr == 0 {
		a.Machine().ReportHandlerFault(c, "the handler holds a reference but text_poke_array was already cleared")
	}
	tpl := poke.FindEntry(a.vec, a.nr, regs.IP-1)
	handled := tpl != nil && poke.Emulate(a.Machine(), c, tpl, regs)
	t.Op("int3: put_text_poke_array", explore.W(ref))
	a.refs[c.ID]--
	poke.NoteHandled(t, c, regs, handled)
	return handled
}

// TestYourChangeWorkedExample runs docs/your-change.md's scenario file:
// each verdict is computed by exploring and must be the file's
// expectation (the copy safe, the edit a torn decode); the copy explores
// exactly what text_poke_bp does on the same scenario, and the edit
// fails exactly as text_poke_bp with sync2 disabled, with the same
// counterexample.
func TestYourChangeWorkedExample(t *testing.T) {
	scenarios, err := LoadFile("testdata/yourchange.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) != 2 {
		t.Fatalf("%d scenarios in testdata/yourchange.json, want 2", len(scenarios))
	}
	for _, s := range scenarios {
		r := exploreScenario(t, s)
		if got := verdict(r); got != s.Expect {
			t.Errorf("%s: %s, the file expects %s", s.Name, got, s.Expect)
		}
		// The same scenario on the real protocol: text_poke_bp, with
		// sync2 disabled where the copy was edited.
		var p X86Params
		if err := json.Unmarshal(s.Params, &p); err != nil {
			t.Fatal(err)
		}
		if p.Variant == "example-no-second-sync" {
			p.Disable = []string{poke.StepSync2}
		}
		p.Variant = string(poke.BP)
		ref := s
		ref.Params, _ = json.Marshal(p)
		want := exploreScenario(t, ref)
		if verdict(r) != verdict(want) || r.Stats.Executions != want.Stats.Executions || r.Schedule.String() != want.Schedule.String() {
			t.Errorf("%s: %s in %d executions (schedule %s); text_poke_bp%v: %s in %d (schedule %s)", s.Name,
				verdict(r), r.Stats.Executions, r.Schedule, p.Disable, verdict(want), want.Stats.Executions, want.Schedule)
		}
		if r.Failure != nil && !strings.Contains(r.Failure.Message, "decoded a torn instruction") {
			t.Errorf("%s: the message does not say what tore:\n%s", s.Name, r.Failure.Message)
		}
		t.Logf("%s: %s, %d executions", s.Name, verdict(r), r.Stats.Executions)
	}
}

func exploreScenario(t *testing.T, s Scenario) *explore.Result {
	t.Helper()
	prog, opts, err := Prepare(s)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return explore.Explore(prog, opts)
}

// TestYourChangeListed: a registered variant appears in the scenario-file
// format that `klpcheck list format` prints.
func TestYourChangeListed(t *testing.T) {
	if doc := FileFormat(); !strings.Contains(doc, "example-no-second-sync") {
		t.Fatal("klpcheck list format does not list the registered variant example-no-second-sync")
	}
}

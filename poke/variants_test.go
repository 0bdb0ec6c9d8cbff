package poke

import (
	"errors"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/model"
)

// TestTableIsComplete: every variant says what it is, which kernel, what
// it takes, and can be looked up by name; names are unique.
func TestTableIsComplete(t *testing.T) {
	seen := map[Variant]bool{}
	for _, p := range Protocols() {
		if p.Meaning == "" || p.Kernel == "" || p.Takes == "" || p.Validate == nil || p.New == nil {
			t.Errorf("%s: incomplete entry %+v", p.Name, p)
		}
		if seen[p.Name] {
			t.Errorf("%s is in the table twice", p.Name)
		}
		seen[p.Name] = true
		if v, err := ParseVariant(string(p.Name)); err != nil || v != p.Name {
			t.Errorf("ParseVariant(%q) = %q, %v", p.Name, v, err)
		}
	}
	if _, err := ParseVariant("text_poke_bp-v9"); err == nil || !strings.Contains(err.Error(), string(BP)) {
		t.Errorf("unknown variant: %v, want an error listing the variants", err)
	}
}

// TestParseStepsAgainstTheVariant: a step is accepted only by a variant
// that lists it, and the error says which can.
func TestParseStepsAgainstTheVariant(t *testing.T) {
	for _, c := range []struct {
		v     Variant
		steps []string
		want  string // "" for no error
	}{
		{BP, []string{StepSync1, StepRefsDrain}, ""},
		{Flag2013, []string{StepSync3}, ""},
		{Flag2013, []string{StepSync1}, "text_poke_bp-v3.12 cannot disable sync1 (it can disable sync3)"},
		{NaiveCopy, []string{StepSync1}, "steps can be disabled only in text_poke_bp: refs-set, sync1, sync2, sync3, refs-drain; text_poke_bp-v3.12: sync3"},
		{BP, []string{"sync4"}, `unknown step "sync4"`},
	} {
		got, err := ParseSteps(c.v, c.steps)
		switch {
		case c.want == "" && (err != nil || len(got) != len(c.steps)):
			t.Errorf("ParseSteps(%s, %v) = %v, %v", c.v, c.steps, got, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("ParseSteps(%s, %v): %v, want an error containing %q", c.v, c.steps, err, c.want)
		}
	}
}

// TestNewPatchNamesTheField: validation errors are *model.FieldError
// with the site's index and the field the variant cannot patch.
func TestNewPatchNamesTheField(t *testing.T) {
	call := []byte{0xe8, 0xe7, 0x57, 0x07, 0x00}
	bad := []byte{0x0f, 0x1f, 0x44, 0x07, 0x00}
	ok := model.SiteSpec{Addr: pc, Old: NOP5, New: call}
	for _, c := range []struct {
		v     Variant
		site  model.SiteSpec
		field string
	}{
		{BP, model.SiteSpec{Addr: pc + 0x10, Old: NOP5, New: bad}, "new"},
		{BP, model.SiteSpec{Addr: pc + 0x10, Old: NOP5, New: call, Emulate: bad}, "emulate"},
		{BP, model.SiteSpec{Addr: pc + 0x10, Old: NOP5, New: call, Emulate: NOP2}, "emulate"},
		{BP, model.SiteSpec{Addr: pc + 0x10, Old: NOP2, New: []byte{0xeb, 0x10}, Emulate: []byte{0x74, 0x10}}, "emulate"},
		{NaiveAtomic, model.SiteSpec{Addr: pc + 0x1e, Old: NOP5, New: call}, "addr"},
		{KprobeRCU, model.SiteSpec{Addr: pc + 0x10, Old: NOP5, New: call}, "new"},
		{FtraceSkip, model.SiteSpec{Addr: pc + 0x10, Old: NOP2, New: []byte{0xeb, 0x10}}, "new"},
		{StopMachine2008, model.SiteSpec{Addr: pc + 0x10, Old: NOP5, New: call, Emulate: call}, "emulate"},
	} {
		first := ok
		if c.v == KprobeRCU {
			first = model.SiteSpec{Addr: pc, Old: []byte{0x90}, New: []byte{0x90}}
		}
		p, errs := NewPatch(c.v, []model.SiteSpec{first, c.site}, nil)
		var fe *model.FieldError
		if p != nil || len(errs) != 2 || errs[0] != nil || !errors.As(errs[1], &fe) || fe.Site != 1 || fe.Field != c.field {
			t.Errorf("%s %+v: %v, %v; want a FieldError for sites[1].%s", c.v, c.site, p, errs, c.field)
		}
	}
}

// TestNewEntryRefusesJcc: the kernel emulates a Jcc from the trapped
// context's EFLAGS; the model has none, so the site is refused with why.
func TestNewEntryRefusesJcc(t *testing.T) {
	for _, b := range [][]byte{{0x74, 0x10}, {0x0f, 0x84, 0x00, 0x10, 0x00, 0x00}} {
		_, err := NewEntry(pc, b)
		if err == nil || !strings.Contains(err.Error(), "int3_emulate_jcc") && !strings.Contains(err.Error(), "1..5 bytes") {
			t.Errorf("NewEntry(% x) = %v, want a refusal", b, err)
		}
	}
	if _, err := NewEntry(pc, []byte{0x74, 0x10}); err == nil || !strings.Contains(err.Error(), "EFLAGS") {
		t.Errorf("Jcc.d8: %v, want the reason (EFLAGS)", err)
	}
}

// TestRegisterRefusesBadEntries: a duplicate name or a missing function
// is a programming error at init time.
func TestRegisterRefusesBadEntries(t *testing.T) {
	for _, p := range []Protocol{
		{Name: BP, Meaning: "again", Validate: Int3Site, New: newTextPokeArray},
		{Name: "no-new", Meaning: "m", Validate: Int3Site},
		{Name: "bad-step", Meaning: "m", Validate: Int3Site, New: newTextPokeArray, Steps: []string{"sync4"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", p.Name)
				}
			}()
			Register(p)
		}()
	}
	if Lookup("no-new") != nil || Lookup("bad-step") != nil {
		t.Error("a refused entry is in the table")
	}
}

// TestPokerIsNoVariant: every variant embeds *Poker, so Poker's own
// methods must not satisfy the optional Instance interfaces — else every
// variant would seem to have that method (a TakeCPU that calls itself).
func TestPokerIsNoVariant(t *testing.T) {
	var k any = &Poker{}
	if _, ok := k.(int3Handler); ok {
		t.Error("*Poker has an Int3 handler")
	}
	if _, ok := k.(nmiHooks); ok {
		t.Error("*Poker has NMI hooks")
	}
	if _, ok := k.(secondWriter); ok {
		t.Error("*Poker is a second writer")
	}
	if _, ok := k.(cpuTaker); ok {
		t.Error("*Poker takes CPUs")
	}
}

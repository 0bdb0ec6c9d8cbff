package arm64

import (
	"testing"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/model"
)

func sym(a uint64) string {
	if a == FtraceCaller {
		return "ftrace_caller"
	}
	return ""
}

// TestDisasm: GNU syntax as objdump prints it, branch targets absolute.
func TestDisasm(t *testing.T) {
	bl, _ := Branch(Base+4, FtraceCaller, true)
	b, _ := Branch(Base, Base+8, false)
	for _, c := range []struct {
		w    uint32
		pc   uint64
		want string
	}{
		{NOP, Base, "nop"},
		{MovX9, Base, "mov x9, x30"},
		{bl, Base + 4, "bl ffff800080020000 <ftrace_caller>"},
		{b, Base, "b ffff800080010008"},
		{ISB, Base, "isb"},
		{0, Base, ".inst 0x00000000 ; undefined"},
	} {
		if got := (ISA{}).Disasm(Word(c.w), c.pc, sym); got != c.want {
			t.Errorf("%08x: %q, want %q", c.w, got, c.want)
		}
	}
}

// TestCMODXSet: the ARM ARM's list, and nothing else.
func TestCMODXSet(t *testing.T) {
	bl, _ := Branch(Base, FtraceCaller, true)
	for _, c := range []struct {
		w  uint32
		ok bool
	}{
		{NOP, true}, {bl, true}, {0x14000002, true}, {ISB, true}, {0xd4200000, true}, {0xd4000001, true},
		{MovX9, false}, {0x54000040, false} /* b.eq */, {RET, false}, {0, false},
	} {
		if got := CMODX(Word(c.w)); got != c.ok {
			t.Errorf("%08x: CMODX %v, want %v", c.w, got, c.ok)
		}
	}
}

// TestExec: the effects the machine runs.
func TestExec(t *testing.T) {
	var regs cmodx.Regs
	bl, _ := Branch(Base+4, FtraceCaller, true)
	e, err := (ISA{}).Exec(Word(bl), Base+4, &regs)
	if err != nil || e.Kind != model.Call || e.Next != FtraceCaller || e.Pushed != Base+8 {
		t.Errorf("bl: %v %v", e, err)
	}
	if e, _ := (ISA{}).Exec(Word(RET), Base, &regs); e.Kind != model.Return {
		t.Errorf("ret: %v", e)
	}
	if _, err := (ISA{}).Exec(Word(0), Base, &regs); err == nil {
		t.Error("an undefined instruction executed")
	}
	if _, err := Branch(Base, Base+1<<28, false); err == nil {
		t.Error("an out-of-range branch was encoded")
	}
}

// TestLitmusErrors: malformed tests are refused with the offending part.
func TestLitmusErrors(t *testing.T) {
	for _, l := range []Litmus{
		{Name: "no code", Threads: [][]string{{"isb"}}, Exists: "0:X0=0"},
		{Name: "bad op", Code: map[string]string{"m": "B"}, Threads: [][]string{{"jump m"}}, Exists: "0:X0=0"},
		{Name: "bad loc", Code: map[string]string{"m": "B"}, Threads: [][]string{{"exec n X1"}}, Exists: "0:X1=0"},
		{Name: "bad insn", Code: map[string]string{"m": "BL"}, Threads: [][]string{{"exec m X1"}}, Exists: "0:X1=0"},
		{Name: "bad exists", Code: map[string]string{"m": "B"}, Threads: [][]string{{"exec m X1"}}, Exists: "1:X1=0"},
	} {
		if err := l.Validate(); err == nil {
			t.Errorf("%s: accepted", l.Name)
		}
	}
}

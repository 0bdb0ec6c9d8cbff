package riscv

import (
	"testing"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/model"
)

func nosym(uint64) string { return "" }

// TestDisasm: GNU syntax with ABI register names, as objdump prints it.
func TestDisasm(t *testing.T) {
	a, j := CallT0(Base, FtraceCaller)
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{Word(NOP), "nop"},
		{Word(a), "auipc t0,0x10"},
		{Word(j), "jalr t0,0(t0)"},
		{Word(RET), "ret"},
		{Half(CNOP), "nop"},
	} {
		if got := (ISA{}).Disasm(c.b, Base, nosym); got != c.want {
			t.Errorf("% x: %q, want %q", c.b, got, c.want)
		}
	}
}

// TestCallT0: the pair reaches its target from anywhere within ±2 GiB,
// and a jalr without its auipc is refused.
func TestCallT0(t *testing.T) {
	for _, target := range []uint64{FtraceCaller, Base + 0x7fc, Base + 0x800, Base - 0x12345678} {
		a, j := CallT0(Base, target)
		var regs cmodx.Regs
		isa := ISA{}
		if _, err := isa.Exec(Word(a), Base, &regs); err != nil {
			t.Fatal(err)
		}
		e, err := isa.Exec(Word(j), Base+4, &regs)
		if err != nil || e.Kind != model.Call || e.Next != target {
			t.Errorf("call to %#x: %v %v", target, e, err)
		}
		var fresh cmodx.Regs
		if _, err := isa.Exec(Word(j), Base+4, &fresh); err == nil {
			t.Errorf("jalr without its auipc ran")
		}
	}
	if (ISA{}).InsnLen(Half(CNOP)) != 2 || (ISA{}).InsnLen(Word(NOP)) != 4 {
		t.Error("InsnLen")
	}
	e, err := (ISA{}).Exec(Word(JumpTo(Base, Base+8)), Base, &cmodx.Regs{})
	if err != nil || e.Kind != model.Jump || e.Next != Base+8 {
		t.Errorf("j: %v %v", e, err)
	}
}

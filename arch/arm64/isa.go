// Package arm64 is klpcheck's arm64 text patching: the A64 instruction
// set for the cmodx machine (decoding with golang.org/x/arch's arm64asm,
// printed as objdump prints it; the ARM ARM's concurrent modification and
// execution rule), the kernel's patching code (aarch64_insn_patch_text_
// nosync, aarch64_insn_patch_text under stop_machine, jump labels before
// and after the 2024 fix, ftrace), and instruction-fetch litmus tests.
//
// It drives the cmodx machine and records nothing itself; the properties
// live in props. It must not know the scenario format (catalog).
package arm64

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/model"
	"golang.org/x/arch/arm64/arm64asm"
)

// Encodings the protocols use.
const (
	NOP   = 0xd503201f
	ISB   = 0xd5033fdf
	RET   = 0xd65f03c0
	MovX9 = 0xaa1e03e9 // mov x9, x30: the first instruction of an ftrace patch site
)

// Word returns an instruction's little-endian bytes.
func Word(insn uint32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, insn)
	return b
}

// Branch mirrors aarch64_insn_gen_branch_imm(pc, target, NOLINK/LINK): B
// or BL with a 26-bit word offset.
func Branch(pc, target uint64, link bool) (uint32, error) {
	off := int64(target - pc)
	if off&3 != 0 || off < -(1<<27) || off >= 1<<27 {
		return 0, fmt.Errorf("branch from %#x to %#x is out of range", pc, target)
	}
	op := uint32(0x14000000)
	if link {
		op = 0x94000000
	}
	return op | uint32(off>>2)&0x03ffffff, nil
}

// ISA is the A64 instruction set. IDC is CTR_EL0.IDC: the data cache
// clean to the point of unification is not required for instruction to
// data coherence, so a refill never reads older data (DC CVAU is not
// needed; IC IVAU still is, since DIC is 0 in every scenario).
type ISA struct{ IDC bool }

func (ISA) Name() string          { return "arm64" }
func (ISA) InsnLen(b []byte) int  { return 4 }
func (ISA) SyncOnException() bool { return true }
func (i ISA) Coherent() bool      { return i.IDC }
func decode(b []byte) (arm64asm.Inst, error) {
	if len(b) < 4 {
		return arm64asm.Inst{}, fmt.Errorf("short")
	}
	return arm64asm.Decode(b[:4])
}

var pcrel = regexp.MustCompile(`\.([+-])0x([0-9a-f]+)`)

// Disasm prints one instruction as objdump -d does: GNU syntax, branch
// targets as absolute addresses with their symbol.
func (ISA) Disasm(b []byte, addr uint64, sym func(uint64) string) string {
	inst, err := decode(b)
	if err != nil {
		return fmt.Sprintf(".inst 0x%08x ; undefined", binary.LittleEndian.Uint32(b))
	}
	s := strings.TrimSpace(arm64asm.GNUSyntax(inst))
	return pcrel.ReplaceAllStringFunc(s, func(m string) string {
		p := pcrel.FindStringSubmatch(m)
		off, _ := strconv.ParseUint(p[2], 16, 64)
		t := addr + off
		if p[1] == "-" {
			t = addr - off
		}
		if name := sym(t); name != "" {
			return fmt.Sprintf("%x <%s>", t, name)
		}
		return fmt.Sprintf("%x", t)
	})
}

// cmodxOK mirrors the ARM ARM's list (B2.2.5, "Concurrent modification and
// execution of instructions"): B, BL, BRK, HVC, ISB, NOP, SMC and SVC may
// be concurrently modified into one another (B.cond may not: a fetch may
// combine the old condition with the new target).
func cmodxOK(b []byte) bool {
	inst, err := decode(b)
	if err != nil {
		return false
	}
	switch inst.Op {
	case arm64asm.B:
		_, cond := inst.Args[0].(arm64asm.Cond)
		return !cond
	case arm64asm.BL, arm64asm.BRK, arm64asm.HVC, arm64asm.ISB, arm64asm.NOP, arm64asm.SMC, arm64asm.SVC:
		return true
	}
	return false
}

// CMODX reports whether an encoding is in the concurrent-modification set.
func CMODX(b []byte) bool { return cmodxOK(b) }

// ConcurrentOK: every encoding the fetch may return is in the CMODX set;
// otherwise the behaviour is CONSTRAINED UNPREDICTABLE.
func (ISA) ConcurrentOK(vals [][]byte) bool {
	for _, v := range vals {
		if !cmodxOK(v) {
			return false
		}
	}
	return true
}

// Exec is the control-flow effect of the instructions the scenarios run.
func (ISA) Exec(b []byte, pc uint64, regs *cmodx.Regs) (model.Effect, error) {
	inst, err := decode(b)
	if err != nil {
		return model.Effect{}, fmt.Errorf("undefined instruction %08x at %#x", binary.LittleEndian.Uint32(b), pc)
	}
	next := model.Effect{Kind: model.FallThrough, Next: pc + 4}
	switch inst.Op {
	case arm64asm.B, arm64asm.BL:
		if _, cond := inst.Args[0].(arm64asm.Cond); cond {
			return next, nil // not taken: the scenarios' flags are clear
		}
		off := int64(inst.Args[0].(arm64asm.PCRel))
		t := uint64(int64(pc) + off)
		if inst.Op == arm64asm.BL {
			return model.Effect{Kind: model.Call, Next: t, Pushed: pc + 4}, nil
		}
		return model.Effect{Kind: model.Jump, Next: t}, nil
	case arm64asm.RET:
		return model.Effect{Kind: model.Return}, nil
	case arm64asm.BRK:
		return model.Effect{}, fmt.Errorf("brk at %#x: a debug exception nobody handles", pc)
	}
	return next, nil
}

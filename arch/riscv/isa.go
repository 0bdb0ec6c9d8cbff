// Package riscv is klpcheck's RISC-V text patching: the RV64GC
// instruction set for the cmodx machine (decoding with golang.org/x/arch's
// riscv64asm, printed as objdump prints it with ABI register names; Ziccif
// atomic fetch of aligned words, or 2-byte parcels without it), and the
// kernel's code: patch_text_nosync/patch_text (arch/riscv/kernel/patch.c)
// before and after c97bf629963e, dynamic ftrace's AUIPC+JALR pair under
// stop_machine, and the 2025 scheme that patches only the JALR word.
//
// It drives the cmodx machine and records nothing itself; the properties
// live in props. It must not know the scenario format (catalog).
package riscv

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/model"
	"golang.org/x/arch/riscv64/riscv64asm"
)

// Encodings the protocols use.
const (
	NOP  = 0x00000013 // addi x0, x0, 0
	RET  = 0x00008067 // jalr x0, 0(ra)
	CNOP = 0x0001     // c.nop
	T0   = 5
)

// Word returns a 32-bit instruction's little-endian bytes.
func Word(insn uint32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, insn)
	return b
}

// Half returns a 16-bit (compressed) instruction's bytes.
func Half(insn uint16) []byte { return []byte{byte(insn), byte(insn >> 8)} }

// CallT0 mirrors make_call_t0(): "auipc t0, hi; jalr t0, lo(t0)" from pc
// to target (±2 GiB).
func CallT0(pc, target uint64) (auipc, jalr uint32) {
	off := int64(target - pc)
	hi := (off + 0x800) >> 12
	lo := off - hi<<12
	return uint32(hi<<12)&0xfffff000 | T0<<7 | 0x17, uint32(lo&0xfff)<<20 | T0<<15 | T0<<7 | 0x67
}

// JumpTo is "jal x0, target" (the enabled form of a jump label).
func JumpTo(pc, target uint64) uint32 {
	off := uint32(int64(target - pc))
	return (off>>20&1)<<31 | (off>>1&0x3ff)<<21 | (off>>11&1)<<20 | (off>>12&0xff)<<12 | 0x6f
}

// ISA is RV64GC. Unit is the fetch unit (4 with Ziccif, 2 without); it
// does not change what an instruction means.
type ISA struct{}

func (ISA) Name() string { return "riscv" }

// InsnLen: a parcel whose low two bits are 11 starts a 32-bit
// instruction; otherwise it is a 16-bit compressed one.
func (ISA) InsnLen(b []byte) int {
	if len(b) > 0 && b[0]&3 == 3 {
		return 4
	}
	return 2
}
func (ISA) SyncOnException() bool { return false }
func (ISA) Coherent() bool        { return true }

// ConcurrentOK: an aligned fetch unit is read atomically (Ziccif), so a
// fetch returns one of the versions; instructions spanning units are
// judged as torn or not by the machine.
func (ISA) ConcurrentOK([][]byte) bool { return true }

var abi = [32]string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
	"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
	"s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"}

var xreg = regexp.MustCompile(`\bx([0-9]+)\b`)

// Disasm prints one instruction as objdump -d does: GNU syntax with ABI
// register names (riscv64asm prints x5 where objdump prints t0).
func (ISA) Disasm(b []byte, addr uint64, sym func(uint64) string) string {
	inst, err := riscv64asm.Decode(b)
	if err != nil || inst.Len != len(b) {
		if len(b) == 2 {
			return fmt.Sprintf(".insn 2, 0x%04x", binary.LittleEndian.Uint16(b))
		}
		return fmt.Sprintf(".insn 4, 0x%08x", binary.LittleEndian.Uint32(b))
	}
	return xreg.ReplaceAllStringFunc(riscv64asm.GNUSyntax(inst), func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		return abi[n]
	})
}

// Exec is the control-flow effect of the instructions the scenarios run.
func (ISA) Exec(b []byte, pc uint64, regs *cmodx.Regs) (model.Effect, error) {
	next := model.Effect{Kind: model.FallThrough, Next: pc + uint64(len(b))}
	if len(b) == 2 {
		switch binary.LittleEndian.Uint16(b) {
		case 0x8082: // c.jr ra
			return model.Effect{Kind: model.Return}, nil
		case 0x9002: // c.ebreak
			return model.Effect{}, fmt.Errorf("c.ebreak at %#x: a breakpoint nobody handles", pc)
		}
		return next, nil
	}
	w := binary.LittleEndian.Uint32(b)
	rd, rs1 := int(w>>7&31), int(w>>15&31)
	switch w & 0x7f {
	case 0x17: // auipc
		regs.Put(rd, pc+uint64(int64(int32(w&0xfffff000))))
	case 0x67: // jalr
		if rd == 0 && rs1 == 1 && w>>20 == 0 {
			return model.Effect{Kind: model.Return}, nil
		}
		base, ok := regs.Get(rs1)
		if !ok {
			return model.Effect{}, fmt.Errorf("jalr at %#x jumps through %s, which no auipc of this run set (its auipc was not executed): a jump to a garbage address", pc, abi[rs1])
		}
		t := (base + uint64(int64(int32(w)>>20))) &^ 1
		if rd != 0 {
			regs.Put(rd, pc+4)
			return model.Effect{Kind: model.Call, Next: t, Pushed: pc + 4}, nil
		}
		return model.Effect{Kind: model.Jump, Next: t}, nil
	case 0x6f: // jal
		imm := int64(int32(w&0x80000000)>>11) | int64(w&0xff000) | int64(w>>9&0x800) | int64(w>>20&0x7fe)
		t := uint64(int64(pc) + imm)
		if rd != 0 {
			regs.Put(rd, pc+4)
			return model.Effect{Kind: model.Call, Next: t, Pushed: pc + 4}, nil
		}
		return model.Effect{Kind: model.Jump, Next: t}, nil
	case 0x73:
		if w == 0x00100073 {
			return model.Effect{}, fmt.Errorf("ebreak at %#x: a breakpoint nobody handles", pc)
		}
	}
	return next, nil
}

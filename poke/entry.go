package poke

import (
	"bytes"
	"fmt"

	"github.com/klpcheck/klpcheck/model"
	"golang.org/x/arch/x86/x86asm"
)

// Opcodes the handler dispatches on (arch/x86/include/asm/text-patching.h).
const (
	INT3Opcode  = 0xcc
	RETOpcode   = 0xc3
	CALLOpcode  = 0xe8
	JMP32Opcode = 0xe9
	JMP8Opcode  = 0xeb
	// MaxOpcodeSize is TEXT_POKE_MAX_OPCODE_SIZE.
	MaxOpcodeSize = 5
	// PageSize is the x86 page size: text_poke must stay within a page.
	PageSize = 4096
)

// The kernel's 2- and 5-byte NOPs (x86_nops[2], x86_nops[5] on x86-64).
var (
	NOP2 = []byte{0x66, 0x90}
	NOP5 = []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}
)

// Entry mirrors struct smp_text_poke_loc: one site of the batch.
type Entry struct {
	Addr   uint64
	Len    int
	Opcode byte  // what the handler emulates (NOPs mapped to JMP+0)
	Disp   int32 // branch displacement of the emulated instruction
	Text   []byte
	Old    byte // the first byte before the int3 went in
}

// NewEntry mirrors __smp_text_poke_batch_add's checks and decoding: it
// decodes the instruction to emulate (the new bytes) and maps it to what
// the int3 handler will do. Where the kernel would BUG() it returns an
// error saying why.
func NewEntry(addr uint64, opcode []byte) (Entry, error) {
	e := Entry{Addr: addr, Len: len(opcode), Text: append([]byte(nil), opcode...)}
	if len(opcode) == 0 || len(opcode) > MaxOpcodeSize {
		return e, fmt.Errorf("%d bytes: the int3 protocol patches 1..%d bytes (TEXT_POKE_MAX_OPCODE_SIZE)", len(opcode), MaxOpcodeSize)
	}
	d := model.Decode(opcode, addr)
	if d.Status != model.Complete {
		return e, fmt.Errorf("%s does not decode (%s): the kernel's insn_decode_kernel fails and __smp_text_poke_batch_add BUGs", model.Hex(opcode), d.Text)
	}
	e.Opcode = opcode[0]
	switch e.Opcode {
	case RETOpcode, JMP32Opcode, JMP8Opcode:
		// Control flow without fall-through may be padded with INT3.
		for i := d.Len; i < len(opcode); i++ {
			if opcode[i] != INT3Opcode {
				return e, fmt.Errorf("%s: %s is %d bytes and may be padded only with int3 (cc), not %#02x", model.Hex(opcode), d.Text, d.Len, opcode[i])
			}
		}
	default:
		if d.Len != len(opcode) {
			return e, fmt.Errorf("%s: %s is %d bytes, not %d: the handler requires the length to match (BUG_ON(len != insn.length))", model.Hex(opcode), d.Text, d.Len, len(opcode))
		}
	}
	switch {
	case e.Opcode == INT3Opcode, e.Opcode == RETOpcode:
	case e.Opcode == CALLOpcode, e.Opcode == JMP32Opcode, e.Opcode == JMP8Opcode, e.Opcode >= 0x70 && e.Opcode <= 0x7f:
		rel, ok := d.Inst.Args[0].(x86asm.Rel)
		if !ok {
			return e, fmt.Errorf("%s: %s has no relative displacement", model.Hex(opcode), d.Text)
		}
		e.Disp = int32(rel)
	default: // assume NOP
		switch len(opcode) {
		case 2:
			if !bytes.Equal(opcode, NOP2) {
				return e, fmt.Errorf("%s (%s): a 2-byte patch that is not CALL/JMP/RET/INT3 must be the kernel's NOP2 (%s), else the handler BUGs", model.Hex(opcode), d.Text, model.Hex(NOP2))
			}
			e.Opcode, e.Disp = JMP8Opcode, 0
		case 5:
			if !bytes.Equal(opcode, NOP5) {
				return e, fmt.Errorf("%s (%s): a 5-byte patch that is not CALL/JMP/RET/INT3 must be the kernel's NOP5 (%s), else the handler BUGs", model.Hex(opcode), d.Text, model.Hex(NOP5))
			}
			e.Opcode, e.Disp = JMP32Opcode, 0
		default:
			return e, fmt.Errorf("%s (%s): the int3 handler cannot emulate this instruction (only RET, CALL, JMP, Jcc, INT3, NOP2, NOP5); __smp_text_poke_batch_add BUGs", model.Hex(opcode), d.Text)
		}
	}
	return e, nil
}

// CheckTextPoke enforces text_poke's documented constraint for a write
// that must be atomic: "the size must be writable atomically and the
// address must be aligned in a way that permits an atomic write. It also
// makes sure we fit on a single page." The model takes that as: the bytes
// lie within one naturally aligned 8-byte quadword (one store) and one page.
func CheckTextPoke(addr uint64, n int) error {
	if n < 1 || n > 8 {
		return fmt.Errorf("text_poke of %d bytes at %#x: an atomic write is 1..8 bytes", n, addr)
	}
	end := addr + uint64(n) - 1
	if addr/PageSize != end/PageSize {
		return fmt.Errorf("text_poke of %d bytes at %#x crosses a page boundary (%#x)", n, addr, end&^(PageSize-1))
	}
	if addr/8 != end/8 {
		return fmt.Errorf("text_poke of %d bytes at %#x crosses an aligned 8-byte boundary (%#x): it cannot be one atomic store", n, addr, end&^7)
	}
	return nil
}

package poke

import (
	"bytes"
	"fmt"
	"slices"

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

// isJcc reports whether b starts with a conditional jump: Jcc.d8 (70..7f)
// or Jcc.d32 (0f 80..8f), which __smp_text_poke_batch_add maps to Jcc.d8.
func isJcc(b []byte) bool {
	return b[0] >= 0x70 && b[0] <= 0x7f || len(b) > 1 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f
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
	case isJcc(opcode):
		// The kernel emulates a Jcc (int3_emulate_jcc) by testing the
		// condition on the trapped context's EFLAGS; the model has no
		// flags to test, so it refuses the site rather than pick a branch.
		return e, fmt.Errorf("%s (%s): a conditional jump; the int3 handler emulates it from the trapped CPU's EFLAGS (int3_emulate_jcc), which the model does not have", model.Hex(opcode), d.Text)
	case e.Opcode == CALLOpcode, e.Opcode == JMP32Opcode, e.Opcode == JMP8Opcode:
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
			return e, fmt.Errorf("%s (%s): the int3 handler cannot emulate this instruction (only RET, CALL, JMP, INT3, NOP2, NOP5; Jcc needs EFLAGS the model lacks); __smp_text_poke_batch_add BUGs", model.Hex(opcode), d.Text)
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

// The validators of the variant table (Protocol.Validate): each checks one
// site for what its writer and handler can do, and returns its entry or a
// *model.FieldError naming the site's field.

func fieldError(field string, err error) error { return &model.FieldError{Field: field, Err: err} }

// Int3Site is a site the int3 protocol can patch: NewEntry accepts the
// new bytes, or, with Emulate (smp_text_poke_batch_add's emulate
// argument, as static_call uses it), the handler emulates those while the
// text gets the new bytes.
func Int3Site(s model.SiteSpec) (Entry, error) {
	e, err := NewEntry(s.Addr, s.New)
	if err != nil || s.Emulate == nil {
		return e, fieldIf("new", err)
	}
	if len(s.Emulate) != len(s.New) {
		return e, fieldError("emulate", fmt.Errorf("emulate is %d bytes, the site is %d", len(s.Emulate), len(s.New)))
	}
	if e, err = NewEntry(s.Addr, s.Emulate); err != nil {
		return e, fieldError("emulate", err)
	}
	e.Text = slices.Clone(s.New)
	return e, nil
}

// fieldIf is fieldError, or nil for no error.
func fieldIf(field string, err error) error {
	if err == nil {
		return nil
	}
	return fieldError(field, err)
}

// atomicSite is an Int3Site that text_poke can also write as one store.
func atomicSite(s model.SiteSpec) (Entry, error) {
	e, err := Int3Site(s)
	if err == nil {
		err = fieldIf("addr", CheckTextPoke(s.Addr, len(s.New)))
	}
	return e, err
}

// rawEntry is the site's new bytes as they are, for the writers that
// only copy them and have no emulating handler.
func rawEntry(s model.SiteSpec) Entry {
	return Entry{Addr: s.Addr, Len: len(s.New), Text: slices.Clone(s.New)}
}

// anySite is any site: stop_machine's writers copy any bytes, and no
// handler emulates anything.
func anySite(s model.SiteSpec) (Entry, error) {
	if s.Emulate != nil {
		return rawEntry(s), fieldError("emulate", fmt.Errorf("stop_machine copies the new bytes and no int3 handler emulates anything"))
	}
	return rawEntry(s), nil
}

// kprobeSite is a kprobe's probed byte: the int3 goes over one byte and
// comes off, the same 1-byte instruction before and after.
func kprobeSite(s model.SiteSpec) (Entry, error) {
	e := rawEntry(s)
	switch {
	case s.Emulate != nil:
		return e, fieldError("emulate", fmt.Errorf("a kprobe single-steps the probed byte; nothing is emulated"))
	case len(s.New) != 1 || len(s.Old) != 1 || s.Old[0] != s.New[0] || s.New[0] == INT3Opcode:
		return e, fieldError("new", fmt.Errorf("a kprobe arms and disarms one probed byte: old and new must be the same 1-byte instruction, not int3"))
	}
	return e, fieldIf("addr", CheckTextPoke(s.Addr, 1))
}

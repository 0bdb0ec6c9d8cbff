package model

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/arch/x86/x86asm"
)

// DecodeStatus says what a fetch window holds.
type DecodeStatus uint8

const (
	// Complete: the window starts with one whole, valid instruction.
	Complete DecodeStatus = iota
	// NeedMore: the window ends inside an instruction.
	NeedMore
	// Invalid: the window starts with bytes that are no instruction.
	Invalid
)

func (s DecodeStatus) String() string {
	switch s {
	case Complete:
		return "complete"
	case NeedMore:
		return "need-more"
	}
	return "invalid"
}

// Insn is a decoded fetch window.
type Insn struct {
	Status DecodeStatus
	Len    int       // length of the instruction (or of the invalid bytes)
	Op     x86asm.Op // 0 unless Complete
	Inst   x86asm.Inst
	Text   string // GNU syntax (as objdump prints it), or a description
}

// MaxInsnLen is the longest x86 instruction.
const MaxInsnLen = 15

// Decode decodes the instruction at the start of window, located at pc,
// in 64-bit mode. x86asm returns err == nil, Len 1, Op 0 for a non-empty
// window that ends mid-instruction, so err != nil || Op == 0 is treated as
// not-an-instruction: NeedMore while the window is shorter than 15 bytes,
// Invalid otherwise. Callers that want a verdict on the bytes of memory
// decode from the full padded image (DecodeImage).
func Decode(window []byte, pc uint64) Insn {
	if len(window) == 0 {
		return Insn{Status: NeedMore, Len: 1, Text: "(no bytes)"}
	}
	if len(window) > MaxInsnLen {
		window = window[:MaxInsnLen]
	}
	inst, err := x86asm.Decode(window, 64)
	if err == nil && inst.Op != 0 {
		for _, p := range inst.Prefix {
			if p == 0 {
				break
			}
			if p&x86asm.PrefixInvalid != 0 {
				return Insn{Status: Invalid, Len: inst.Len, Inst: inst, Text: "(invalid prefix) " + x86asm.GNUSyntax(inst, pc, nil)}
			}
		}
		return Insn{Status: Complete, Len: inst.Len, Op: inst.Op, Inst: inst, Text: x86asm.GNUSyntax(inst, pc, nil)}
	}
	if err == nil || errors.Is(err, x86asm.ErrTruncated) || (err != nil && strings.Contains(err.Error(), "truncated")) {
		if len(window) < MaxInsnLen {
			return Insn{Status: NeedMore, Len: len(window) + 1, Text: "(truncated)"}
		}
	}
	n := inst.Len
	if n < 1 {
		n = 1
	}
	msg := "(bad)"
	if err != nil {
		msg = fmt.Sprintf("(bad: %v)", err)
	}
	return Insn{Status: Invalid, Len: n, Inst: inst, Text: msg}
}

// DecodeImage decodes at pc from a full image window (at least 15 bytes
// when the caller has them): a truncated result is then Invalid.
func DecodeImage(image []byte, pc uint64) Insn {
	d := Decode(image, pc)
	if d.Status == NeedMore {
		d.Status = Invalid
		d.Text = "(bad: runs past the end of the image)"
	}
	return d
}

// Disasm prints the instruction(s) in b at pc in GNU syntax, as objdump
// would, e.g. "callq 0xffffffff810757ec" or "movntq %mm2,0x7(%rdi); (bad)".
func Disasm(b []byte, pc uint64) string {
	var parts []string
	for off := 0; off < len(b); {
		d := Decode(b[off:], pc+uint64(off))
		switch d.Status {
		case Complete:
			parts = append(parts, d.Text)
			off += d.Len
		case NeedMore:
			parts = append(parts, "(truncated)")
			off = len(b)
		default:
			parts = append(parts, d.Text)
			off += d.Len
		}
	}
	return strings.Join(parts, "; ")
}

// Hex prints bytes as "0f 1f 44 00 00".
func Hex(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", x)
	}
	return sb.String()
}

// decodeKey is a memo key: the window bytes, their count and the pc.
type decodeKey struct {
	n  uint8
	b  [MaxInsnLen]byte
	pc uint64
}

// DecodeCache memoises Decode. It is safe for concurrent use (exploration
// workers share one per program) and pure: it never changes a result, so
// sharing it between executions keeps them deterministic.
type DecodeCache struct{ m sync.Map }

// Decode is Decode, memoised.
func (c *DecodeCache) Decode(window []byte, pc uint64) Insn {
	if len(window) > MaxInsnLen {
		window = window[:MaxInsnLen]
	}
	var k decodeKey
	k.n = uint8(len(window))
	copy(k.b[:], window)
	k.pc = pc
	if v, ok := c.m.Load(k); ok {
		return v.(Insn)
	}
	d := Decode(window, pc)
	c.m.Store(k, d)
	return d
}

package arm64

import (
	"fmt"

	"github.com/klpcheck/klpcheck/cmodx"
)

// Addresses of the scenarios' text: the patched function and the targets
// outside it.
const (
	Base         = 0xffff800080010000
	FtraceCaller = 0xffff800080020000
)

// Site kinds: the code around a patch site.
const (
	SiteJumpLabel = "jump-label" // nop ↔ b l_yes (a static branch)
	SiteFtrace    = "ftrace"     // mov x9, x30; nop ↔ bl ftrace_caller
	SiteInsn      = "insn"       // a given instruction ↔ another
)

// SiteKinds lists the site kinds.
var SiteKinds = []string{SiteJumpLabel, SiteFtrace, SiteInsn}

// FunctionLayout builds the text of a function with one patch site:
//
//	jump-label: f: nop|b f+8; ret; f+8 (l_yes): ret
//	ftrace:     f: mov x9, x30; nop|bl ftrace_caller; ret
//	insn:       f: old|new; ret
//
// enable says the site goes from its disabled form (nop) to its enabled
// one; old and new give the insn kind's instructions. entries > 1 (the
// jump-label kind only) repeats the function (g, h…) 16 bytes apart, each
// with its own site: the jump entries of one key.
func FunctionLayout(kind string, enable bool, old, new uint32, entries int) (*cmodx.Layout, error) {
	if entries > 1 {
		if kind != SiteJumpLabel {
			return nil, fmt.Errorf("several entries are for the jump-label site only")
		}
		return jumpLabelEntries(enable, entries)
	}
	var words []uint32
	var siteAt uint64
	var off, on uint32
	switch kind {
	case SiteJumpLabel:
		b, err := Branch(Base, Base+8, false)
		if err != nil {
			return nil, err
		}
		off, on, siteAt = NOP, b, Base
		words = []uint32{0, RET, RET, NOP}
	case SiteFtrace:
		bl, err := Branch(Base+4, FtraceCaller, true)
		if err != nil {
			return nil, err
		}
		off, on, siteAt = NOP, bl, Base+4
		words = []uint32{MovX9, 0, RET, NOP}
	case SiteInsn:
		off, on, siteAt = old, new, Base
		words = []uint32{0, RET, NOP, NOP}
		enable = true
	default:
		return nil, fmt.Errorf("unknown site kind %q (want one of %v)", kind, SiteKinds)
	}
	if !enable {
		off, on = on, off
	}
	l := &cmodx.Layout{Base: Base, Unit: 4, Syms: map[uint64]string{Base: "f", FtraceCaller: "ftrace_caller"}}
	if kind == SiteJumpLabel {
		l.Syms[Base+8] = "f_l_yes"
	}
	for _, w := range words {
		if uint64(len(l.Image)) == siteAt-Base {
			w = off
		}
		l.Image = append(l.Image, Word(w)...)
	}
	l.Sites = []cmodx.Site{{Name: kind, Addr: siteAt, Slots: []cmodx.Slot{{Addr: siteAt, Old: Word(off), New: Word(on)}}}}
	if err := cmodx.FinishLayout(ISA{}, l); err != nil {
		return nil, err
	}
	return l, nil
}

// jumpLabelEntries lays out n functions f, g, … each "nop|b l_yes; ret;
// l_yes: ret; nop", the jump entries of one static key.
func jumpLabelEntries(enable bool, n int) (*cmodx.Layout, error) {
	l := &cmodx.Layout{Base: Base, Unit: 4, Syms: map[uint64]string{}}
	for i := 0; i < n; i++ {
		fn := uint64(Base) + uint64(16*i)
		name := string(rune('f' + i))
		b, err := Branch(fn, fn+8, false)
		if err != nil {
			return nil, err
		}
		off, on := uint32(NOP), b
		if !enable {
			off, on = on, off
		}
		for _, w := range []uint32{off, RET, RET, NOP} {
			l.Image = append(l.Image, Word(w)...)
		}
		l.Syms[fn], l.Syms[fn+8] = name, name+"_l_yes"
		l.Entries = append(l.Entries, fn)
		l.Sites = append(l.Sites, cmodx.Site{Name: SiteJumpLabel + " in " + name, Addr: fn, Slots: []cmodx.Slot{{Addr: fn, Old: Word(off), New: Word(on)}}})
	}
	if err := cmodx.FinishLayout(ISA{}, l); err != nil {
		return nil, err
	}
	return l, nil
}

package model

import (
	"fmt"
	"slices"
	"sort"

	"golang.org/x/arch/x86/x86asm"
)

// Opcode bytes the model and the protocol name.
const (
	INT3 = 0xcc
	RET  = 0xc3
	Pad  = INT3 // text outside instructions is padded with int3, as the kernel pads functions
)

// EffectKind is what an instruction does to control flow.
type EffectKind uint8

const (
	FallThrough EffectKind = iota + 1 // NOP: continue after it
	Call                              // push the return address, jump to the target
	Jump                              // jump to the target
	Return                            // pop the return address and go there
	Trap                              // INT3: enter the int3 handler
)

func (k EffectKind) String() string {
	return [...]string{"?", "fall through", "call", "jump", "return", "trap"}[k]
}

// Effect is the control-flow effect of executing one instruction at an
// address: the emulation property compares an int3 handler's effect with
// the old and the new instruction's.
type Effect struct {
	Kind   EffectKind
	Next   uint64 // next IP (FallThrough, Call, Jump)
	Pushed uint64 // return address pushed (Call)
}

func (e Effect) String() string {
	switch e.Kind {
	case FallThrough:
		return fmt.Sprintf("fall through to %#x", e.Next)
	case Call:
		return fmt.Sprintf("push %#x and jump to %#x", e.Pushed, e.Next)
	case Jump:
		return fmt.Sprintf("jump to %#x", e.Next)
	case Return:
		return "return"
	case Trap:
		return "trap"
	}
	return "?"
}

// Same reports whether two effects are the same control transfer: falling
// through to X and jumping to X are the same.
func (e Effect) Same(o Effect) bool {
	c := func(x Effect) Effect {
		if x.Kind == FallThrough {
			x.Kind = Jump
		}
		return x
	}
	return c(e) == c(o)
}

// EffectOf is the effect of the decoded instruction at addr, for the
// instructions the model executes: NOPs, CALL/JMP rel, RET, INT3.
func EffectOf(d Insn, addr uint64) (Effect, error) {
	if d.Status != Complete {
		return Effect{}, fmt.Errorf("%s is not an instruction", d.Text)
	}
	end := addr + uint64(d.Len)
	rel, hasRel := d.Inst.Args[0].(x86asm.Rel)
	switch d.Op {
	case x86asm.NOP:
		return Effect{Kind: FallThrough, Next: end}, nil
	case x86asm.CALL:
		if hasRel {
			return Effect{Kind: Call, Next: end + uint64(int64(rel)), Pushed: end}, nil
		}
	case x86asm.JMP:
		if hasRel {
			return Effect{Kind: Jump, Next: end + uint64(int64(rel))}, nil
		}
	case x86asm.RET:
		if d.Inst.Args[0] == nil {
			return Effect{Kind: Return}, nil
		}
	case x86asm.INT:
		if d.Len == 1 {
			return Effect{Kind: Trap}, nil
		}
	}
	return Effect{}, fmt.Errorf("%q is not an instruction the model executes (NOP, CALL rel32, JMP rel8/rel32, RET, INT3)", d.Text)
}

// Site is a patch site: the instruction at Addr changes from Old to New.
type Site struct {
	Addr                 uint64
	Old, New             []byte
	OldInsn, NewInsn     Insn
	OldEffect, NewEffect Effect
}

// End is the first address after the site.
func (s *Site) End() uint64 { return s.Addr + uint64(len(s.Old)) }

// SiteSpec is a site as a scenario states it.
type SiteSpec struct {
	Addr     uint64
	Old, New []byte
	// Emulate, if set, is what the protocol's int3 handler emulates
	// instead of New (the model ignores it).
	Emulate []byte
}

// Layout is the immutable text image of a scenario: the padded code
// region holding the sites, the `ret` landing pads after them and at jump
// targets inside the region, and the optional kprobe'd function. It is
// built once per program and shared by its executions.
type Layout struct {
	Fetch FetchModel
	Base  uint64 // first address of the region
	Image []byte // initial bytes
	// WinLo and WinHi bound the addresses that are explore objects (one
	// per byte): the fetch units holding site bytes. Other bytes never
	// change, so reading them conflicts with nothing.
	WinLo, WinHi uint64
	Sites        []Site
	// Entries are the addresses executors call: every site not reached by
	// falling through from another site.
	Entries []uint64
	// Kprobe is the entry of a function whose first byte is a kprobe's
	// int3 (an unrelated int3 source), 0 if none. The probed instruction
	// is a 1-byte nop.
	Kprobe uint64
	// SiteLines are the aligned fetch lines holding site bytes, in
	// address order, under stale:N (nil otherwise): the lines an
	// executor's prelude may fill.
	SiteLines []uint64
	Decoder   *DecodeCache
	fixed     []uint64 // addresses of fixed instructions clear of the sites
}

// SiteAt returns the index of the site starting at addr, or -1.
func (l *Layout) SiteAt(addr uint64) int {
	for i := range l.Sites {
		if l.Sites[i].Addr == addr {
			return i
		}
	}
	return -1
}

// SiteCovering returns the index of the site whose bytes include addr, or -1.
func (l *Layout) SiteCovering(addr uint64) int {
	for i := range l.Sites {
		if addr >= l.Sites[i].Addr && addr < l.Sites[i].End() {
			return i
		}
	}
	return -1
}

// constInsn reports whether the instruction at addr is one of the
// layout's fixed instructions (a landing pad, the kprobe's) whose bytes
// overlap no site: its bytes never change.
func (l *Layout) constInsn(addr uint64) bool {
	for _, a := range l.fixed {
		if a == addr {
			return true
		}
	}
	return false
}

// In reports whether addr is inside the region.
func (l *Layout) In(addr uint64) bool { return addr >= l.Base && addr < l.Base+uint64(len(l.Image)) }

func alignDown(a uint64, n int) uint64 { return a &^ uint64(n-1) }
func alignUp(a uint64, n int) uint64   { return (a + uint64(n) - 1) &^ uint64(n-1) }

// NewLayout checks the sites and lays out the region. Its errors are
// *FieldError: the site's index and field, for callers to map to their
// own input.
func NewLayout(fetch FetchModel, specs []SiteSpec, kprobe bool) (*Layout, error) {
	if len(specs) == 0 {
		return nil, fieldErr(-1, "", "no patch site")
	}
	dec := &DecodeCache{}
	sites := make([]Site, len(specs))
	for i, sp := range specs {
		s := Site{Addr: sp.Addr, Old: sp.Old, New: sp.New}
		if len(sp.Old) == 0 || len(sp.New) == 0 {
			return nil, fieldErr(i, "", "old and new bytes are required")
		}
		if len(sp.Old) != len(sp.New) {
			return nil, fieldErr(i, "new", "old is %d bytes, new is %d: a site keeps its length", len(sp.Old), len(sp.New))
		}
		var err error
		if s.OldInsn, s.OldEffect, err = decodeOne(sp.Old, sp.Addr); err != nil {
			return nil, &FieldError{Site: i, Field: "old", Err: err}
		}
		if s.NewInsn, s.NewEffect, err = decodeOne(sp.New, sp.Addr); err != nil {
			return nil, &FieldError{Site: i, Field: "new", Err: err}
		}
		sites[i] = s
	}
	sort.SliceStable(sites, func(a, b int) bool { return sites[a].Addr < sites[b].Addr })
	for i := 1; i < len(sites); i++ {
		if sites[i].Addr < sites[i-1].End() {
			return nil, fieldErr(-1, "", "sites at %#x and %#x overlap", sites[i-1].Addr, sites[i].Addr)
		}
	}
	lo, hi := sites[0].Addr, sites[len(sites)-1].End()
	// In-region targets: fall-through ends and near jump targets.
	var pads []uint64
	near := func(a uint64) bool { return a+256 >= lo && a < hi+256 }
	for _, s := range sites {
		for _, e := range []Effect{s.OldEffect, s.NewEffect} {
			switch e.Kind {
			case FallThrough:
				pads = append(pads, e.Next)
			case Call:
				pads = append(pads, e.Pushed)
				if near(e.Next) {
					pads = append(pads, e.Next)
				}
			case Jump:
				if near(e.Next) {
					pads = append(pads, e.Next)
				}
			}
		}
	}
	for _, p := range pads {
		lo, hi = min(lo, p), max(hi, p+1)
	}
	base := alignDown(lo, 64)
	if base >= 64 {
		base -= 64
	}
	end := alignUp(hi+MaxInsnLen+1, 64) + 64
	kp := uint64(0)
	if kprobe {
		kp = end
		end += 64
	}
	img := make([]byte, end-base)
	for i := range img {
		img[i] = Pad
	}
	l := &Layout{Fetch: fetch, Base: base, Image: img, Sites: sites, Kprobe: kp, Decoder: dec}
	for _, s := range sites {
		copy(img[s.Addr-base:], s.Old)
	}
	for _, p := range pads {
		if l.SiteAt(p) >= 0 {
			continue
		}
		if i := l.SiteCovering(p); i >= 0 {
			return nil, fieldErr(specIndex(specs, sites[i].Addr), "", "control reaches %#x, inside the site at %#x", p, sites[i].Addr)
		}
		img[p-base] = RET
	}
	if kp != 0 {
		img[kp-base] = INT3 // the kprobe's int3 over a 1-byte nop
		img[kp+1-base] = RET
	}
	for _, p := range append(pads, kp, kp+1) {
		if p != 0 && l.SiteCovering(p) < 0 {
			l.fixed = append(l.fixed, p)
		}
	}
	// Entries: sites not reached by falling through from another site.
	for _, s := range sites {
		reached := false
		for _, o := range sites {
			if o.OldEffect.Kind == FallThrough && o.OldEffect.Next == s.Addr {
				reached = true
			}
		}
		if !reached {
			l.Entries = append(l.Entries, s.Addr)
		}
	}
	if fetch.Kind == Stale {
		for _, s := range sites {
			for a := alignDown(s.Addr, fetch.N); a < s.End(); a += uint64(fetch.N) {
				if n := len(l.SiteLines); n == 0 || l.SiteLines[n-1] < a {
					l.SiteLines = append(l.SiteLines, a)
				}
			}
		}
	}
	u := fetch.Unit()
	l.WinLo, l.WinHi = alignDown(sites[0].Addr, u), alignUp(sites[len(sites)-1].End(), u)
	return l, nil
}

// specIndex is the index in specs of the site at addr (sites are sorted,
// errors name the site as the caller gave it).
func specIndex(specs []SiteSpec, addr uint64) int {
	return slices.IndexFunc(specs, func(sp SiteSpec) bool { return sp.Addr == addr })
}

func decodeOne(b []byte, addr uint64) (Insn, Effect, error) {
	d := Decode(b, addr)
	switch {
	case d.Status == NeedMore:
		return d, Effect{}, fmt.Errorf("%s is a truncated instruction", Hex(b))
	case d.Status == Invalid:
		return d, Effect{}, fmt.Errorf("%s does not decode: %s", Hex(b), d.Text)
	case d.Len != len(b):
		return d, Effect{}, fmt.Errorf("%s is not one instruction: it decodes as %s (%d bytes) followed by %d more bytes", Hex(b), d.Text, d.Len, len(b)-d.Len)
	}
	e, err := EffectOf(d, addr)
	if err != nil {
		return d, e, err
	}
	if e.Kind == Return || e.Kind == Trap {
		// RET and INT3 sites are accepted by the handler but the executors
		// model only fall-through/call/jump sites for now.
		return d, e, fmt.Errorf("%s (%s): the model's executors run only NOP, CALL and JMP sites", Hex(b), d.Text)
	}
	return d, e, nil
}

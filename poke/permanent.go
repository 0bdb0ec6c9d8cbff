package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// PermanentCurrent, PermanentTwo and PermanentParallel are hpa's
// proposal (LKML, 12 Jan 2010, on text_poke_fixup): a permanent int3
// handler, no sync after the tail, no sync after the first byte
// (deferred to the next poke's int3 sync), and no handler teardown.
// PermanentCurrent's handler remembers only the current site;
// PermanentTwo's the current and the previous one, with the pokes
// serialised; PermanentParallel has the same handler but two
// unserialised writers.
const (
	PermanentCurrent  Variant = "permanent-int3-current"
	PermanentTwo      Variant = "permanent-int3-two"
	PermanentParallel Variant = "permanent-int3-two-parallel"
)

// permanent holds the sites the permanent handler claims (indexes into
// the entries, -1 for none) and whether the second writer finished (the
// head).
type permanent struct {
	*Poker
	globals
	cur, prev  int
	remembers2 bool // the handler remembers the previous site too
	secondDone bool
}

func newPermanent(k *Poker, two bool) *permanent {
	return &permanent{Poker: k, globals: newGlobals(k), cur: -1, prev: -1, remembers2: two}
}

func newPermanentCurrent(k *Poker, _ int) Instance { return newPermanent(k, false) }
func newPermanentTwo(k *Poker, _ int) Instance     { return newPermanent(k, true) }
func newPermanentParallel(k *Poker, _ int) Instance {
	return &permanentParallel{newPermanent(k, true)}
}

// Writer pokes the sites in order, serialised.
func (p *permanent) Writer(t *explore.Thread) {
	for i := range p.Entries() {
		p.Poke(t, i)
	}
}

// Poke is one poke of hpa's scheme (text_poke_fixup's steps 1–4 with his
// two simplifications): tell the permanent handler about the site (for
// the two-site handler the current site becomes the previous one), write
// the int3 and sync all CPUs (step 2, which also completes the previous
// poke), write the tail (step 3, no sync), write the first byte (step 4,
// its sync deferred to the next poke).
func (p *permanent) Poke(t *explore.Thread, i int) {
	e := p.Entries()[i]
	p.Step(t, "int3 handler: current site", explore.W(p.head), func() {
		if p.remembers2 {
			p.prev = p.cur
		}
		p.cur = i
	})
	p.PokeByte(t, "int3", e.Addr, INT3Opcode)
	p.Machine().SyncEachCPU(t, p.Machine().CPUs[0], "sync", func() { p.NMI(t) })
	if e.Len > 1 {
		p.Memcpy(t, "tail", e.Addr+1, e.Text[1:])
	}
	p.PokeByte(t, "first-byte", e.Addr, e.Text[0])
}

// Int3 is the permanent handler hpa described: an int3 at the current
// (or, for the two-site handler, the previous) site is emulated as the
// site's new instruction; anything else is not mine.
func (p *permanent) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	ip := regs.IP - 1
	t.Op("int3: permanent handler looks up the current/previous site", explore.R(p.head))
	for _, i := range [2]int{p.cur, p.prev} {
		if i >= 0 && p.Entries()[i].Addr == ip {
			ok := Emulate(p.Machine(), c, &p.Entries()[i], regs)
			if t.Tracing() {
				t.Notef("cpu%d: permanent handler: site %d, continue at %#x", c.ID, i, regs.IP)
			}
			return ok
		}
	}
	if t.Tracing() {
		t.Notef("cpu%d: permanent handler: not mine (current %d, previous %d)", c.ID, p.cur, p.prev)
	}
	return false
}

// permanentParallel is the two-site handler with two writers that take
// no lock against each other: the even-indexed sites are the first
// writer's, the odd ones the second's.
type permanentParallel struct{ *permanent }

// Writer pokes the even-indexed sites, then waits for the second writer.
func (p permanentParallel) Writer(t *explore.Thread) {
	for i := 0; i < len(p.Entries()); i += 2 {
		p.Poke(t, i)
	}
	t.Await("wait for the second writer", explore.R(p.head), func() bool { return p.secondDone })
}

// SecondWriter pokes the odd-indexed sites.
func (p permanentParallel) SecondWriter(t *explore.Thread) {
	for i := 1; i < len(p.Entries()); i += 2 {
		p.Poke(t, i)
	}
	p.Step(t, "second writer done", explore.W(p.head), func() { p.secondDone = true })
}

package poke

import (
	"slices"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

const (
	// KprobeRCU is a kprobe arm and disarm before 5c02ece81848 (v5.5):
	// arch_arm_kprobe and arch_disarm_kprobe are plain text_pokes, and
	// unregister_kprobe relies on synchronize_rcu before the probe is
	// gone.
	KprobeRCU Variant = "kprobe-disarm-rcu"
	// KprobeSync is arm/disarm after 5c02ece81848: each text_poke is
	// followed by text_poke_sync(); then the grace period.
	KprobeSync Variant = "kprobe-disarm-sync"
)

// kprobe holds whether the probe is still in kprobe_table (the head).
type kprobe struct {
	*Poker
	globals
	registered bool
	synced     bool // 5c02ece81848's text_poke_sync after each poke
}

func newKprobeRCU(k *Poker, _ int) Instance {
	return &kprobe{Poker: k, globals: newGlobals(k), registered: true}
}

func newKprobeSync(k *Poker, _ int) Instance {
	return &kprobe{Poker: k, globals: newGlobals(k), registered: true, synced: true}
}

// Writer mirrors a kprobe's life on one probed byte: register_kprobe (the
// probe is in kprobe_table from the start) → arm_kprobe →
// arch_arm_kprobe: text_poke(addr, INT3), followed since 5c02ece81848 by
// text_poke_sync(); then unregister_kprobe → __disarm_kprobe →
// arch_disarm_kprobe: text_poke(addr, &p->opcode), followed since
// 5c02ece81848 by text_poke_sync(); then synchronize_rcu() and the probe
// leaves kprobe_table (it is freed). The grace period is a named step
// with no other effect: every int3 handler is one atomic operation of the
// model, so no handler can be inside an RCU read-side section across it
// — and a grace period does not serialize any CPU's instruction stream,
// which is the bug.
func (p *kprobe) Writer(t *explore.Thread) {
	poke := func(addr uint64, b []byte) {
		if err := p.TextPoke(t, addr, b); err != nil {
			panic(err) // kprobeSite checked it
		}
		if p.synced {
			p.Machine().SyncEachCPU(t, p.Machine().CPUs[0], "text_poke_sync", func() { p.NMI(t) })
		}
	}
	for _, e := range p.Entries() {
		poke(e.Addr, []byte{INT3Opcode})
		poke(e.Addr, e.Text)
	}
	p.Step(t, "synchronize_rcu", explore.Local, func() {})
	p.Step(t, "kprobe removed from kprobe_table and freed", explore.W(p.head), func() { p.registered = false })
}

// Int3 mirrors kprobe_int3_handler without the "int3 vanished" fallback
// (as since 8e791f7eba4c): get_kprobe(addr) finds the probe → it runs and
// the probed instruction is single-stepped (the 1-byte instruction's
// effect: continue after it); no probe → not mine (and nobody else claims
// the int3: "Oops: int3").
func (p *kprobe) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	ip := regs.IP - 1
	t.Op("int3: kprobe_int3_handler: get_kprobe", explore.R(p.head))
	if !p.registered || !isSite(p.Entries(), ip) {
		if t.Tracing() {
			t.Notef("cpu%d: kprobe_int3_handler: no kprobe at %#x", c.ID, ip)
		}
		return false
	}
	regs.IP = ip + 1
	if t.Tracing() {
		t.Notef("cpu%d: kprobe_int3_handler: probe hit, single-stepped, continue at %#x", c.ID, regs.IP)
	}
	return true
}

// isSite reports whether ip is the address of one of the entries.
func isSite(es []Entry, ip uint64) bool {
	return slices.ContainsFunc(es, func(e Entry) bool { return e.Addr == ip })
}

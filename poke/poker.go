package poke

import (
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Poker is the text patching of one execution: the machine, the patch and
// the variant's own state (its Instance). Its exported methods are the
// building blocks a variant's writer is written with — one text_poke of
// a byte, a memcpy, smp_text_poke_sync_each_cpu, one operation on the
// variant's state — so that a variant can be written, or copied and
// edited, in any package (docs/your-change.md).
type Poker struct {
	m     *model.Machine
	patch *Patch
	inst  Instance
}

// Install makes the patch's variant state on the machine (its New) and
// installs its int3 handler and NMI hooks. capacity, if given, is
// TEXT_POKE_ARRAY_MAX for the variants that keep text_poke_array: the
// vector holds at least that many entries.
func Install(m *model.Machine, p *Patch, capacity ...int) *Poker {
	k := &Poker{m: m, patch: p}
	c := 0
	if len(capacity) > 0 {
		c = capacity[0]
	}
	k.inst = p.protocol.New(k, c)
	m.Int3 = nil
	if h, ok := k.inst.(int3Handler); ok {
		m.Int3 = h.Int3
	}
	if h, ok := k.inst.(nmiHooks); ok {
		m.NMIEnter, m.NMIExit = h.NMIEnter, h.NMIExit
	}
	return k
}

// Machine is the machine the patch is applied on.
func (k *Poker) Machine() *model.Machine { return k.m }

// Entries are the patch's sites, sorted by address.
func (k *Poker) Entries() []Entry { return k.patch.Entries }

// Enabled reports whether a named step is in the protocol (not disabled
// by the scenario).
func (k *Poker) Enabled(step string) bool { return !k.patch.Disabled[step] }

// Writer returns the body of the patch writer, which runs on CPU 0: the
// variant's writer, then its return (a write of the whole window: the
// caller goes on to run the new text).
func (k *Poker) Writer() func(t *explore.Thread) {
	return func(t *explore.Thread) {
		k.inst.Writer(t)
		t.Op("return", k.m.ReturnFP())
		k.m.WriterDone()
		if t.Tracing() {
			t.Note("writer: returns")
		}
	}
}

// SecondWriter returns the body of the variant's second, unserialised
// writer, or nil if it has none.
func (k *Poker) SecondWriter() func(t *explore.Thread) {
	if w, ok := k.inst.(secondWriter); ok {
		return w.SecondWriter
	}
	return nil
}

// CPU returns the body the variant runs on another CPU instead of the
// scenario's (a CPU parked by stop_machine, or stopped by the crash path),
// or nil if it leaves the CPU to the scenario.
func (k *Poker) CPU(c *model.CPU) func(t *explore.Thread) {
	if o, ok := k.inst.(cpuTaker); ok {
		return o.TakeCPU(c)
	}
	return nil
}

// NMI is the writer CPU's NMI point after each of its operations.
func (k *Poker) NMI(t *explore.Thread) { k.m.CPUs[0].NMIPoint(t) }

// Step is one operation of the writer on the variant's own state (a
// global it sets, a pointer it publishes): the operation named as the
// kernel's line, its footprint, its effect, then the NMI point.
func (k *Poker) Step(t *explore.Thread, name string, fp explore.Footprint, f func()) {
	t.Op(name, fp)
	k.m.SetWriterStep(t, name)
	f()
	k.NMI(t)
}

// store is one store of the writer into text: b at addr as one operation,
// serializing the writer's CPU afterwards if asked; it returns the byte
// that was at addr.
func (k *Poker) store(t *explore.Thread, step string, addr uint64, b []byte, serialize bool) byte {
	m := k.m
	t.Op(step, m.WriteFP(addr, len(b)))
	m.SetWriterStep(t, step)
	old := m.Mem(addr)
	m.Store(addr, b)
	if serialize {
		m.CPUs[0].Serialize()
	}
	k.NMI(t)
	return old
}

// PokeByte is text_poke of one byte (an int3, or the first byte over
// it): one store, then the serializing switch back from the poking mm on
// the writer's CPU. It returns the byte it replaced.
func (k *Poker) PokeByte(t *explore.Thread, step string, addr uint64, b byte) byte {
	return k.store(t, step, addr, []byte{b}, true)
}

// Memcpy stores b one byte at a time, ascending (memcpy gives no
// atomicity), then serializes the writer's CPU: the copy of
// text_poke_early, or of text_poke for a tail.
func (k *Poker) Memcpy(t *explore.Thread, step string, addr uint64, b []byte) {
	for i := range b {
		k.store(t, step, addr+uint64(i), b[i:i+1], i == len(b)-1)
	}
}

// TextPoke mirrors text_poke for an atomic write: it checks the
// documented constraint (CheckTextPoke) and writes the bytes as one store.
func (k *Poker) TextPoke(t *explore.Thread, addr uint64, b []byte) error {
	if err := CheckTextPoke(addr, len(b)); err != nil {
		return err
	}
	k.store(t, "text_poke", addr, b, true)
	return nil
}

// Sync is smp_text_poke_sync_each_cpu — on_each_cpu(do_sync_core, NULL,
// 1), which waits for every CPU's acknowledgement — named as the step it
// is, unless the scenario disabled that step.
func (k *Poker) Sync(t *explore.Thread, step string) {
	if k.Enabled(step) {
		k.m.SyncEachCPU(t, k.m.CPUs[0], step, func() { k.NMI(t) })
	}
}

// PokeInt3s is the first step of smp_text_poke_batch_finish: an INT3
// at the address of every entry (remembering the byte it replaced, as
// text_poke_array.vec[i].old).
func (k *Poker) PokeInt3s(t *explore.Thread, vec []Entry) {
	for i := range vec {
		vec[i].Old = k.PokeByte(t, "int3", vec[i].Addr, INT3Opcode)
	}
}

// PokeTails is the second step: all but the first byte of every entry.
// It reports whether it wrote any (the kernel's do_sync).
func (k *Poker) PokeTails(t *explore.Thread, vec []Entry) bool {
	wrote := false
	for _, e := range vec {
		if e.Len > 1 {
			k.Memcpy(t, "tail", e.Addr+1, e.Text[1:])
			wrote = true
		}
	}
	return wrote
}

// PokeFirstBytes is the third step: the first byte of every entry over
// its INT3, unless the new instruction is itself an INT3. It reports
// whether it wrote any.
func (k *Poker) PokeFirstBytes(t *explore.Thread, vec []Entry) bool {
	wrote := false
	for _, e := range vec {
		if e.Text[0] != INT3Opcode {
			k.PokeByte(t, "first-byte", e.Addr, e.Text[0])
			wrote = true
		}
	}
	return wrote
}

// int3Steps are the three steps of BatchFinish with their syncs, for the
// older writers that had the same three around other code (text_poke_bp
// since v3.12, text_poke_bp_batch, ftrace's breakpoint method).
func (k *Poker) int3Steps(t *explore.Thread, vec []Entry) {
	k.PokeInt3s(t, vec)
	k.Sync(t, StepSync1)
	if k.PokeTails(t, vec) {
		k.Sync(t, StepSync2)
	}
	if k.PokeFirstBytes(t, vec) {
		k.Sync(t, StepSync3)
	}
}

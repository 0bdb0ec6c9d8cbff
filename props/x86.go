package props

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// x86 property ids (TornDecode, FinalText and Deadlock are shared).
const (
	StrayInt3     = "stray-int3"
	HandlerMemory = "handler-memory"
	Emulation     = "emulation"
	AtomicSwitch  = "atomic-switch"
	SyncCompletes = "sync-completes"
)

// X86Properties is the property table of the x86 kinds, in DESIGN.md §5
// order, which is also the order Install checks them in. Every record
// the Step checks read is sticky (made once, never retracted) and
// decided by the footprints of the operation that makes it; final-text's
// "later fetch" half orders fetches after the writer's return by
// ReturnFP. So the checks add no dependencies (see explore.Sticky).
var X86Properties = []Property[*model.Machine]{
	{TornDecode, "no CPU decodes an instruction that is neither old, new nor the int3", record(TornMessage)},
	{StrayInt3, "every int3 the protocol placed is claimed by its handler (no \"Oops: int3\")", record(strayMessage)},
	{HandlerMemory, "the handler never reads a cleared, freed or out-of-bounds descriptor/vector", record(faultMessage)},
	{Emulation, "an int3 hit has the effect of the old or the new instruction (CALL pushes)", record(emulationMessage)},
	{FinalText, "after the writer returns, memory holds the new bytes and every later fetch decodes new", x86FinalText},
	{AtomicSwitch, "site executions are linearizable against an atomic old→new switch (porcupine)", func(m *model.Machine) Check {
		return Check{End: func() string { return CheckAtomicSwitch(m) }}
	}},
	{SyncCompletes, "every text_poke sync IPI round completes; else stuck, naming each CPU that never acknowledges", nil}, // InstallX86Quiescent
	{Deadlock, deadlockMeaning, nil}, // the engine's
}

// X86 lists the ids of X86Properties.
var X86 = IDs(X86Properties)

// InstallX86 registers every x86 property on an execution's system.
func InstallX86(s *explore.System, m *model.Machine) { InstallX86Ignoring(s, m, nil) }

// InstallX86Ignoring registers X86Properties on an execution of the x86
// machine without the properties ignore names: a scenario that ignores
// emulation, say, lets a wrong int3 emulation run on and shows what it
// leads to (a livepatch task in the wrong function version).
func InstallX86Ignoring(s *explore.System, m *model.Machine, ignore []string) {
	Install(s, "x86", X86Properties, m, ignore)
}

// x86FinalText checks final-text: every fetch that begins after the
// writer returned decodes the new instruction (Step), and the final
// memory holds the new bytes (End).
func x86FinalText(m *model.Machine) Check {
	seen := 0 // m.Execs already judged
	return Check{
		Step: func() string {
			if !m.Writer.Done {
				return ""
			}
			for ; seen < len(m.Execs); seen++ {
				e := &m.Execs[seen]
				s := &m.L.Sites[e.Site]
				// A site whose old and new bytes are equal (a kprobe's
				// probed byte) decodes as old.
				if e.Begin > m.Writer.DoneAt && e.Decoded != model.ClassNew && !(e.Decoded == model.ClassOld && bytes.Equal(s.Old, s.New)) {
					return fmt.Sprintf(
						"cpu%d%s fetched site %d (%#x) at step %d, after the writer returned at step %d, and decoded %s, not the new %s (%s)%s.",
						e.CPU, nmiTag(e.NMI), e.Site, s.Addr, e.Begin, m.Writer.DoneAt, e.Decoded, s.NewInsn.Text, model.Hex(s.New), staleTag(e))
				}
			}
			return ""
		},
		End: func() string {
			if !m.Writer.Done {
				return "" // judged only once the writer has returned
			}
			for i := range m.L.Sites {
				st := &m.L.Sites[i]
				if got := m.Bytes(st.Addr, len(st.New)); !bytes.Equal(got, st.New) {
					return fmt.Sprintf(
						"after the writer returned, site %d (%#x) holds %s (%s), not the new %s (%s).",
						i, st.Addr, model.Hex(got), model.Disasm(got, st.Addr), model.Hex(st.New), st.NewInsn.Text)
				}
			}
			return ""
		},
	}
}

func nmiTag(nmi bool) string {
	if nmi {
		return " (in an NMI)"
	}
	return ""
}

func staleTag(e *model.SiteExec) string {
	if e.Fill < e.Begin {
		return fmt.Sprintf(" from bytes last read from memory at step %d", e.Fill)
	}
	return ""
}

// TornMessage explains the machine's torn decode ("" if none): the CPU,
// each byte it fetched and when, the decoding in GNU syntax next to the
// old and new instructions, and the writer's last named step.
func TornMessage(m *model.Machine) string {
	r := m.Torn
	if r == nil {
		return ""
	}
	var b strings.Builder
	where := fmt.Sprintf("%#x", r.Addr)
	if r.Site >= 0 {
		where = fmt.Sprintf("site %d (%#x)", r.Site, r.Addr)
	}
	fmt.Fprintf(&b, "cpu%d%s decoded a torn instruction at %s under fetch model %s.\n", r.CPU, nmiTag(r.NMI), where, r.Fetch)
	b.WriteString("  fetched:")
	var raw []byte
	for _, x := range r.Bytes {
		raw = append(raw, x.Value)
		fmt.Fprintf(&b, " %02x@%d", x.Value, x.Step)
		if x.Stale {
			fmt.Fprintf(&b, "(stale line read at step %d)", x.Fill)
		}
	}
	b.WriteString(" (byte@step)\n")
	fmt.Fprintf(&b, "  decodes as: %s [%s]\n", describe(r.Insn, raw), model.Hex(raw[:min(len(raw), max(r.Insn.Len, 1))]))
	if r.Site >= 0 {
		s := &m.L.Sites[r.Site]
		fmt.Fprintf(&b, "  old: %s [%s]\n  new: %s [%s]\n", s.OldInsn.Text, model.Hex(s.Old), s.NewInsn.Text, model.Hex(s.New))
	}
	fmt.Fprintf(&b, "  when it had fetched them, %s.", r.Writer)
	return b.String()
}

func describe(d model.Insn, raw []byte) string {
	switch d.Status {
	case model.Complete:
		return fmt.Sprintf("%s (%d bytes)", d.Text, d.Len)
	case model.NeedMore:
		return fmt.Sprintf("an unfinished instruction after %d bytes", len(raw))
	}
	return d.Text
}

func strayMessage(m *model.Machine) string {
	r := m.Stray
	if r == nil {
		return ""
	}
	where := fmt.Sprintf("%#x", r.Addr)
	if i := m.L.SiteAt(r.Addr); i >= 0 {
		s := &m.L.Sites[i]
		where = fmt.Sprintf("site %d (%#x, %s → %s)", i, r.Addr, s.OldInsn.Text, s.NewInsn.Text)
	}
	return fmt.Sprintf("cpu%d%s executed an int3 at %s and no handler claimed it (Oops: int3) at step %d; %s.",
		r.CPU, nmiTag(r.NMI), where, r.Step, r.Writer)
}

func faultMessage(m *model.Machine) string {
	switch r := m.Fault; {
	case r == nil:
		return ""
	case r.InWriter:
		return fmt.Sprintf("the writer at step %d: %s.", r.Step, r.What)
	default:
		return fmt.Sprintf("cpu%d in the int3 handler at step %d: %s; %s.", r.CPU, r.Step, r.What, r.Writer)
	}
}

func emulationMessage(m *model.Machine) string {
	r := m.BadEmu
	if r == nil {
		return ""
	}
	s := &m.L.Sites[r.Site]
	return fmt.Sprintf("cpu%d hit the int3 at site %d (%#x) at step %d and the handler's effect was %q; old %s (%s) would %s, new %s (%s) would %s; %s.",
		r.CPU, r.Site, s.Addr, r.Step, r.Got, s.OldInsn.Text, model.Hex(s.Old), s.OldEffect, s.NewInsn.Text, model.Hex(s.New), s.NewEffect, r.Writer)
}

package props

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// InstallX86 registers the x86 properties on an execution's system: an
// invariant after every step for torn-decode, stray-int3, handler-memory,
// emulation and the "later fetch" half of final-text, and end checks for
// the final memory and atomic-switch. They only read what the machine and
// the protocol recorded.
func InstallX86(s *explore.System, m *model.Machine) { InstallX86Ignoring(s, m, nil) }

// InstallX86Ignoring is InstallX86 without the properties ignore names:
// a scenario that ignores emulation, say, lets a wrong int3 emulation
// run on and shows what it leads to (a livepatch task in the wrong
// function version).
func InstallX86Ignoring(s *explore.System, m *model.Machine, ignore []string) {
	judge := func(prop string) bool {
		for _, p := range ignore {
			if p == prop {
				return false
			}
		}
		return true
	}
	torn, stray, memory, emulation, final, atomic := judge(TornDecode), judge(StrayInt3), judge(HandlerMemory), judge(Emulation), judge(FinalText), judge(AtomicSwitch)
	seen := 0
	// Every record below is sticky (made once, never retracted) and
	// decided by the footprints of the operation that makes it; the
	// final-text half orders fetches after the writer's return by
	// ReturnFP. So the check adds no dependencies (see explore.Sticky).
	s.Sticky("x86", func() error {
		if r := m.Torn; r != nil && torn {
			return &explore.Failure{Property: TornDecode, Message: TornMessage(m, r), Thread: -1}
		}
		if r := m.Stray; r != nil && stray {
			return &explore.Failure{Property: StrayInt3, Message: strayMessage(m, r), Thread: -1}
		}
		if r := m.Fault; r != nil && r.InWriter && memory {
			return &explore.Failure{Property: HandlerMemory, Message: fmt.Sprintf("the writer at step %d: %s.", r.Step, r.What), Thread: -1}
		}
		if r := m.Fault; r != nil && memory {
			return &explore.Failure{Property: HandlerMemory, Message: fmt.Sprintf("cpu%d in the int3 handler at step %d: %s; %s.", r.CPU, r.Step, r.What, r.Writer), Thread: -1}
		}
		if r := m.BadEmu; r != nil && emulation {
			s := &m.L.Sites[r.Site]
			return &explore.Failure{Property: Emulation, Message: fmt.Sprintf(
				"cpu%d hit the int3 at site %d (%#x) at step %d and the handler's effect was %q; old %s (%s) would %s, new %s (%s) would %s; %s.",
				r.CPU, r.Site, s.Addr, r.Step, r.Got, s.OldInsn.Text, model.Hex(s.Old), s.OldEffect, s.NewInsn.Text, model.Hex(s.New), s.NewEffect, r.Writer), Thread: -1}
		}
		if m.Writer.Done && final {
			for ; seen < len(m.Execs); seen++ {
				e := &m.Execs[seen]
				s := &m.L.Sites[e.Site]
				// A site whose old and new bytes are equal (a kprobe's
				// probed byte) decodes as old.
				if e.Begin > m.Writer.DoneAt && e.Decoded != model.ClassNew && !(e.Decoded == model.ClassOld && bytes.Equal(s.Old, s.New)) {
					return &explore.Failure{Property: FinalText, Message: fmt.Sprintf(
						"cpu%d%s fetched site %d (%#x) at step %d, after the writer returned at step %d, and decoded %s, not the new %s (%s)%s.",
						e.CPU, nmiTag(e.NMI), e.Site, s.Addr, e.Begin, m.Writer.DoneAt, e.Decoded, s.NewInsn.Text, model.Hex(s.New), staleTag(e)), Thread: -1}
				}
			}
		}
		return nil
	})
	if final {
		s.AtEnd(FinalText, func() error {
			if !m.Writer.Done {
				return nil // judged only once the writer has returned
			}
			for i := range m.L.Sites {
				st := &m.L.Sites[i]
				if got := m.Bytes(st.Addr, len(st.New)); !bytes.Equal(got, st.New) {
					return &explore.Failure{Property: FinalText, Message: fmt.Sprintf(
						"after the writer returned, site %d (%#x) holds %s (%s), not the new %s (%s).",
						i, st.Addr, model.Hex(got), model.Disasm(got, st.Addr), model.Hex(st.New), st.NewInsn.Text), Thread: -1}
				}
			}
			return nil
		})
	}
	if !atomic {
		return
	}
	s.AtEnd(AtomicSwitch, func() error {
		if msg := CheckAtomicSwitch(m); msg != "" {
			return &explore.Failure{Property: AtomicSwitch, Message: msg, Thread: -1}
		}
		return nil
	})
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

// TornMessage explains a torn decode: the CPU, each byte it fetched and
// when, the decoding in GNU syntax next to the old and new instructions,
// and the writer's last named step.
func TornMessage(m *model.Machine, r *model.DecodeRecord) string {
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

func strayMessage(m *model.Machine, r *model.TrapRecord) string {
	where := fmt.Sprintf("%#x", r.Addr)
	if i := m.L.SiteAt(r.Addr); i >= 0 {
		s := &m.L.Sites[i]
		where = fmt.Sprintf("site %d (%#x, %s → %s)", i, r.Addr, s.OldInsn.Text, s.NewInsn.Text)
	}
	return fmt.Sprintf("cpu%d%s executed an int3 at %s and no handler claimed it (Oops: int3) at step %d; %s.",
		r.CPU, nmiTag(r.NMI), where, r.Step, r.Writer)
}

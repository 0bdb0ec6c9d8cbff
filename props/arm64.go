package props

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// Properties of the fixed-size instruction sets (arm64, RISC-V), judged on
// the cmodx machine. torn-decode and final-text keep their x86 ids with
// the meaning a fixed-size ISA gives them.
const (
	CMODX          = "cmodx"
	MixedPair      = "mixed-pair"
	StaleAfterSync = "stale-after-sync"
	Exists         = "exists"
)

// FixedProperties is the property table of the arm64 and RISC-V kinds,
// in the order Install checks them (stale-after-sync before final-text:
// an old instruction run after the writer's synchronisation is reported
// as that, not as a late fetch).
var FixedProperties = []Property[*cmodx.Machine]{
	{CMODX, "no CPU fetches an instruction while it may see two encodings that are not both in the ARM ARM's concurrent-modification set (B, BL, BRK, HVC, ISB, NOP, SMC, SVC): anything else is CONSTRAINED UNPREDICTABLE", record(unpredictableMessage)},
	{TornDecode, "no hart executes an instruction assembled from fetches of two versions (a 4-byte instruction fetched as two parcels)", record(fixedTornMessage)},
	{MixedPair, "no CPU runs a patch site whose effect is neither the old nor the new site's (an AUIPC of one version with the JALR of another)", record(wildMessage)},
	{StaleAfterSync, "no CPU executes an old site instruction after taking a synchronisation (IPI, isb, fence.i) that the writer issued after its last store", record(staleSyncMessage)},
	{FinalText, "after the writer returns, memory holds the new text and every later fetch of a site executes the new instruction", fixedFinalText},
	{Deadlock, deadlockMeaning, nil}, // the engine's
}

// LitmusProperties are the properties of a litmus scenario (judged by
// the litmus program's end check, arm64.LitmusProgram).
var LitmusProperties = []Property[*cmodx.Machine]{
	{Exists, "the litmus test's final condition is reachable: \"violation\" means the outcome is allowed by the model, \"safe\" that it is forbidden", nil},
}

// InstallFixed registers FixedProperties on an execution of the cmodx
// machine, except those in ignore: a sticky check over the machine's
// records (each made once by the operation that decides it, final-text's
// "later fetch" half ordered by the writer's return, which conflicts
// with every fetch) and an end check of the final memory.
func InstallFixed(s *explore.System, m *cmodx.Machine, ignore []string) {
	Install(s, m.ISA.Name(), FixedProperties, m, ignore)
}

// fixedFinalText checks final-text on the cmodx machine: every fetch
// that begins after the writer returned executes the new instruction
// (Step), and the final memory holds the new text (End).
func fixedFinalText(m *cmodx.Machine) Check {
	seen := 0 // m.Execs already judged
	return Check{
		Step: func() string {
			if !m.Writer.Done {
				return ""
			}
			for ; seen < len(m.Execs); seen++ {
				e := &m.Execs[seen]
				if e.Begin > m.Writer.DoneAt && e.Class != cmodx.ClassNew {
					sl := m.L.Sites[e.Site].Slots[e.Slot]
					return fmt.Sprintf(
						"cpu%d fetched %#x at step %d, after the writer returned at step %d, and executed the %s %s (%s)%s, not the new %s (%s).",
						e.CPU, sl.Addr, e.Begin, m.Writer.DoneAt, e.Class, e.Text, model.Hex(e.Bytes), staleNote(e), m.Disasm(sl.New, sl.Addr), model.Hex(sl.New))
				}
			}
			return ""
		},
		End: func() string {
			if !m.Writer.Done {
				return ""
			}
			for _, st := range m.L.Sites {
				for _, sl := range st.Slots {
					if got := m.Mem(sl.Addr, len(sl.New)); !bytes.Equal(got, sl.New) {
						return fmt.Sprintf("after the writer returned, %#x holds %s (%s), not the new %s (%s).",
							sl.Addr, model.Hex(got), m.Disasm(got, sl.Addr), model.Hex(sl.New), m.Disasm(sl.New, sl.Addr))
					}
				}
			}
			return ""
		},
	}
}

func staleNote(e *cmodx.SlotExec) string {
	if e.Stale {
		return " from a stale copy (its instruction side had not lost it)"
	}
	return ""
}

func unpredictableMessage(m *cmodx.Machine) string {
	r := m.Unpredictable
	if r == nil {
		return ""
	}
	var alts []string
	for _, c := range r.Cands {
		alts = append(alts, fmt.Sprintf("%s (%s)", m.Disasm(c, r.Addr), model.Hex(c)))
	}
	return fmt.Sprintf("cpu%d fetched %#x at step %d while it could still see %s: not all of them are in the concurrent-modification set (B, BL, BRK, HVC, ISB, NOP, SMC, SVC), so the ARM ARM makes the fetch CONSTRAINED UNPREDICTABLE; %s.",
		r.CPU, r.Addr, r.Step, strings.Join(alts, " and "), r.Writer)
}

func fixedTornMessage(m *cmodx.Machine) string {
	r := m.Torn
	if r == nil {
		return ""
	}
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, fmt.Sprint(s))
	}
	return fmt.Sprintf("hart%d executed a torn instruction at %#x: %s (%s), fetched in %d pieces at steps %s; old %s (%s), new %s (%s); %s.",
		r.CPU, r.Addr, model.Hex(r.Bytes), m.Disasm(r.Bytes, r.Addr), len(r.Steps), strings.Join(steps, ", "),
		m.Disasm(r.Old, r.Addr), model.Hex(r.Old), m.Disasm(r.New, r.Addr), model.Hex(r.New), r.Writer)
}

func wildMessage(m *cmodx.Machine) string {
	r := m.Wild
	if r == nil {
		return ""
	}
	st := &m.L.Sites[r.Site]
	var ran []string
	for i, t := range r.Texts {
		ran = append(ran, fmt.Sprintf("%s (%s)", t, r.Classes[i]))
	}
	return fmt.Sprintf("cpu%d ran site %s at %#x as [%s]: %s; the old site would %s, the new one %s; %s.",
		r.CPU, st.Name, st.Addr, strings.Join(ran, "; "), r.Effect, st.OldEffect, st.NewEffect, r.Writer)
}

func staleSyncMessage(m *cmodx.Machine) string {
	r := m.StaleSync
	if r == nil {
		return ""
	}
	e := r.Exec
	return fmt.Sprintf("cpu%d took the writer's synchronisation at step %d and then, at step %d, executed the old %s at %#x (%s)%s; %s.",
		r.CPU, r.SyncedAt, e.Begin, e.Text, m.L.Sites[e.Site].Slots[e.Slot].Addr, model.Hex(e.Bytes), staleNote(&e), r.Writer)
}

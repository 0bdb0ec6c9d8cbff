package arm64

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
)

// Protocol is one of the kernel's ways of rewriting arm64 text, as a
// value of the protocol table.
type Protocol struct {
	Name string
	// Mirrors names the kernel code (and commit) it follows.
	Mirrors string
	// StopMachine: the protocol runs under stop_machine.
	StopMachine bool
	// Site is the site kind the protocol patches by default.
	Site  string
	write func(w *writer, t *explore.Thread)
}

// Protocols is the table of protocols, by name.
var Protocols = []Protocol{
	{Name: "nosync", Site: SiteInsn, Mirrors: "aarch64_insn_patch_text_nosync() for each site, nothing else", write: (*writer).nosyncAll},
	{Name: "patch-text", Site: SiteInsn, Mirrors: "aarch64_insn_patch_text(): stop_machine, the last CPU to arrive patches, the others spin then isb", StopMachine: true, write: (*writer).patchText},
	{Name: "patch-text-first-cpu", Site: SiteInsn, Mirrors: "aarch64_insn_patch_text_cb() as introduced by ae16480785de (2013): the first CPU to arrive patches, then atomic_set(&cpu_count, -1); the others spin until they read -1", StopMachine: true, write: (*writer).patchTextFirst},
	{Name: "jump-label-2024", Site: SiteJumpLabel, Mirrors: "arch_jump_label_transform() before cfb00a357864 (v6.11): aarch64_insn_patch_text_nosync() per jump entry and no synchronisation of the other CPUs", write: (*writer).jumpLabelOld},
	{Name: "jump-label", Site: SiteJumpLabel, Mirrors: "cfb00a357864 \"arm64: jump_label: Ensure patched jump_labels are visible to all CPUs\" (Will Deacon, 2024): arch_jump_label_transform_queue() patches with aarch64_insn_patch_text_nosync(), arch_jump_label_transform_apply() calls kick_all_cpus_sync()", write: (*writer).jumpLabel},
	{Name: "ftrace", Site: SiteFtrace, Mirrors: "ftrace_modify_all_code() → ftrace_make_call()/ftrace_make_nop() → ftrace_modify_code(): validate the old instruction, aarch64_insn_patch_text_nosync(); no stop_machine since 81a6a146e88e (2015) and no synchronisation of the other CPUs", write: (*writer).ftrace},
}

// ProtocolNames lists the protocols, sorted.
func ProtocolNames() []string {
	var out []string
	for _, p := range Protocols {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// FindProtocol looks a protocol up by name.
func FindProtocol(name string) (*Protocol, error) {
	for i := range Protocols {
		if Protocols[i].Name == name {
			return &Protocols[i], nil
		}
	}
	return nil, fmt.Errorf("unknown arm64 protocol %q (want one of %v)", name, ProtocolNames())
}

// Step is a named synchronisation step of the protocols that a scenario
// can disable, to see what it is for.
type Step = cmodx.Step

// Steps are the named steps.
var Steps = []Step{
	{Name: "dc", Meaning: "the dc cvau; dsb ish of caches_clean_inval_pou()"},
	{Name: "ic", Meaning: "the ic ivau; dsb ish of caches_clean_inval_pou()"},
	{Name: "kick", Meaning: "arch_jump_label_transform_apply()'s kick_all_cpus_sync()"},
}

// ParseSteps checks a list of step names.
func ParseSteps(names []string) (map[string]bool, error) { return cmodx.ParseSteps(Steps, names) }

// writer is the patching thread of one execution, on CPU 0.
type writer struct {
	m        *cmodx.Machine
	c        *cmodx.CPU
	cpuCount *explore.Var[int]
	disabled map[string]bool
}

// Writer returns the body of the thread that runs protocol p on CPU 0 of
// m, rewriting every site of m's layout to its new text, without the
// named steps in disabled.
func Writer(p *Protocol, m *cmodx.Machine, disabled map[string]bool) func(t *explore.Thread) {
	w := &writer{m: m, c: m.CPUs[0], disabled: disabled}
	if p.StopMachine {
		w.cpuCount = explore.NewVar(m.S, "cpu_count", 0)
	}
	return func(t *explore.Thread) {
		p.write(w, t)
		m.WriterDone(t, "return")
	}
}

func (w *writer) slots() []cmodx.Slot {
	var out []cmodx.Slot
	for _, s := range w.m.L.Sites {
		out = append(out, s.Slots...)
	}
	return out
}

// patchTextNosync mirrors aarch64_insn_patch_text_nosync(): refuse an
// unaligned address (-EINVAL), aarch64_insn_write() (one 32-bit store
// through the FIX_TEXT_POKE0 alias under patch_lock), then
// caches_clean_inval_pou() over the word: dc cvau, dsb ish, ic ivau, dsb
// ish, isb — the isb only on the writing CPU.
func (w *writer) patchTextNosync(t *explore.Thread, c *cmodx.CPU, addr uint64, insn []byte) error {
	if addr&3 != 0 {
		return fmt.Errorf("aarch64_insn_patch_text_nosync(%#x): -EINVAL (unaligned)", addr)
	}
	w.m.Store(t, addr, insn)
	w.m.SetWriterStep(t, "aarch64_insn_write")
	// caches_clean_inval_pou()
	if !w.disabled["dc"] {
		w.m.DCCVAU(t, addr, 4)
	}
	if !w.disabled["ic"] {
		w.m.ICIVAU(t, addr, 4)
	}
	c.ISB(t)
	return nil
}

func (w *writer) nosyncAll(t *explore.Thread) {
	for _, sl := range w.slots() {
		if err := w.patchTextNosync(t, w.c, sl.Addr, sl.New); err != nil {
			panic(err)
		}
	}
}

// patchText mirrors aarch64_insn_patch_text(): stop_machine_cpuslocked(
// aarch64_insn_patch_text_cb) on every online CPU.
func (w *writer) patchText(t *explore.Thread) {
	n := len(w.m.CPUs)
	w.m.StopMachineCall(t, w.c, "aarch64_insn_patch_text", func(t *explore.Thread, c *cmodx.CPU) {
		// aarch64_insn_patch_text_cb: the last CPU becomes master.
		if w.cpuCount.Update(t, fmt.Sprintf("cpu%d: atomic_inc_return(&cpu_count)", c.ID), func(v int) int { return v + 1 }) == n {
			for _, sl := range w.slots() {
				if err := w.patchTextNosync(t, c, sl.Addr, sl.New); err != nil {
					panic(err)
				}
			}
			// Notify the other processors with an additional increment.
			w.cpuCount.Update(t, fmt.Sprintf("cpu%d: atomic_inc(&cpu_count)", c.ID), func(v int) int { return v + 1 })
			return
		}
		c.SpinUntil(t, fmt.Sprintf("cpu%d: while (cpu_count <= num_online_cpus()) cpu_relax()", c.ID), explore.R(w.cpuCount.Obj()),
			func() bool { return w.cpuCount.Peek() > n })
		c.ISB(t)
		c.MarkWriterSync()
	})
}

// patchTextFirst is the 2013 callback: the first CPU to arrive patches
// and sets cpu_count to -1; a CPU that arrives after that increments -1
// to 0 and then waits for -1 for ever.
func (w *writer) patchTextFirst(t *explore.Thread) {
	w.m.StopMachineCall(t, w.c, "aarch64_insn_patch_text (first CPU master)", func(t *explore.Thread, c *cmodx.CPU) {
		if w.cpuCount.Update(t, fmt.Sprintf("cpu%d: atomic_inc_return(&cpu_count)", c.ID), func(v int) int { return v + 1 }) == 1 {
			for _, sl := range w.slots() {
				if err := w.patchTextNosync(t, c, sl.Addr, sl.New); err != nil {
					panic(err)
				}
			}
			w.cpuCount.Store(t, -1)
			return
		}
		c.SpinUntil(t, fmt.Sprintf("cpu%d: while (cpu_count != -1) cpu_relax()", c.ID), explore.R(w.cpuCount.Obj()),
			func() bool { return w.cpuCount.Peek() == -1 })
		c.ISB(t)
		c.MarkWriterSync()
	})
}

// jumpLabelOld mirrors static_key_enable() → jump_label_update() →
// __jump_label_update() with the pre-2024 arch_jump_label_transform():
// each entry patched with aarch64_insn_patch_text_nosync(), and nothing
// makes the other CPUs synchronise.
func (w *writer) jumpLabelOld(t *explore.Thread) {
	for _, sl := range w.slots() {
		if err := w.patchTextNosync(t, w.c, sl.Addr, sl.New); err != nil {
			panic(err)
		}
		w.m.SetWriterStep(t, "arch_jump_label_transform")
	}
}

// jumpLabel mirrors the batched update since cfb00a357864: each entry
// through arch_jump_label_transform_queue() (aarch64_insn_patch_text_
// nosync()), then arch_jump_label_transform_apply(): kick_all_cpus_sync(),
// an IPI to every other CPU, waited for; taking it is a context
// synchronisation event.
func (w *writer) jumpLabel(t *explore.Thread) {
	for _, sl := range w.slots() {
		if err := w.patchTextNosync(t, w.c, sl.Addr, sl.New); err != nil {
			panic(err)
		}
		w.m.SetWriterStep(t, "arch_jump_label_transform_queue")
	}
	if !w.disabled["kick"] {
		w.m.SendIPIs(t, w.c, cmodx.IPISync, "arch_jump_label_transform_apply: kick_all_cpus_sync")
	}
}

// ftrace mirrors ftrace_modify_all_code() updating each record:
// ftrace_modify_code(pc, old, new, validate=true) reads the instruction
// back (aarch64_insn_read) and refuses a mismatch (-EINVAL), then
// aarch64_insn_patch_text_nosync().
func (w *writer) ftrace(t *explore.Thread) {
	for _, sl := range w.slots() {
		t.Op(fmt.Sprintf("ftrace_modify_code: aarch64_insn_read %#x", sl.Addr), explore.Local)
		if got := w.m.Mem(sl.Addr, 4); !bytes.Equal(got, sl.Old) {
			panic(fmt.Sprintf("ftrace_modify_code: -EINVAL: %#x holds %x, expected %x", sl.Addr, got, sl.Old))
		}
		if err := w.patchTextNosync(t, w.c, sl.Addr, sl.New); err != nil {
			panic(err)
		}
	}
}

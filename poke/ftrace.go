package poke

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// ftrace's own breakpoint method (arch/x86/kernel/ftrace.c, 2012–2019,
// replaced by text_poke_bp in 768ae4406a5c): ftrace rewrote its 5-byte
// fentry call sites itself, with its own int3 handler.
const (
	// FtraceSkip is 08d636b6d4fb's scheme as it stood until v5.1: the
	// handler sends a CPU that hit the int3 past the site ("treat it just
	// like it was a nop").
	FtraceSkip Variant = "ftrace-int3-skip"
	// FtraceEmulate is the v5.2 fix (9e298e860408 "ftrace/x86_64:
	// Emulate call function while updating in breakpoint handler", with
	// 4b33dadf3766 and 2700fefdb2d9's stack gap): the handler emulates a
	// call to ftrace_regs_caller, which calls every registered ops.
	FtraceEmulate Variant = "ftrace-int3-emulate-call"
)

// FtraceRegsCaller is the address of ftrace_regs_caller in the model's
// text: outside the patched region, so a call to it "runs another
// function and returns". A scenario that switches a fentry site to
// ftrace_regs_caller calls this address.
const FtraceRegsCaller uint64 = 0xffffffff81e00000

// McountInsnSize is MCOUNT_INSN_SIZE: an fentry site is a 5-byte call
// (or the 5-byte nop).
const McountInsnSize = 5

// IsFtrace reports whether v is ftrace's own breakpoint method (the
// variants that rewrite fentry sites besides text_poke_bp).
func IsFtrace(v Variant) bool { return v == FtraceSkip || v == FtraceEmulate }

// ftrace holds modifying_ftrace_code (the head).
type ftrace struct {
	*Poker
	globals
	modifying int
	emulate   bool // 9e298e860408: emulate the call instead of skipping
}

func newFtraceSkip(k *Poker, _ int) Instance { return &ftrace{Poker: k, globals: newGlobals(k)} }
func newFtraceEmulate(k *Poker, _ int) Instance {
	return &ftrace{Poker: k, globals: newGlobals(k), emulate: true}
}

// Writer mirrors arch_ftrace_update_code of 2012–2019:
// atomic_inc(&modifying_ftrace_code); ftrace_modify_all_code →
// ftrace_replace_code: add_breakpoints on every record, run_sync,
// add_update (the tails), run_sync, finish_update (the first bytes),
// run_sync; atomic_dec(&modifying_ftrace_code). run_sync is
// on_each_cpu(do_sync_core) as in text_poke_bp (sync1..sync3).
func (f *ftrace) Writer(t *explore.Thread) {
	f.Step(t, "atomic_inc(&modifying_ftrace_code)", explore.W(f.head), func() { f.modifying++ })
	f.int3Steps(t, append([]Entry(nil), f.Entries()...))
	f.Step(t, "atomic_dec(&modifying_ftrace_code)", explore.W(f.head), func() { f.modifying-- })
}

// Int3 mirrors do_int3's call of ftrace_int3_handler (only while
// modifying_ftrace_code is set) in the 2012–2019 kernels: ip =
// regs->ip - INT3_INSN_SIZE; if ip is an ftrace record (ftrace_location),
// FtraceSkip sets regs->ip += MCOUNT_INSN_SIZE - 1 and FtraceEmulate does
// int3_emulate_call(regs, ftrace_regs_caller). Anything else is not
// ftrace's (the kprobe's int3 falls through to its own handler).
func (f *ftrace) Int3(t *explore.Thread, c *model.CPU, regs *model.Regs) bool {
	t.Op("int3: do_int3 reads modifying_ftrace_code", explore.R(f.head))
	ip := regs.IP - 1
	if f.modifying == 0 || !isSite(f.Entries(), ip) {
		if t.Tracing() {
			t.Notef("cpu%d: ftrace_int3_handler: not ftrace's (modifying_ftrace_code=%d)", c.ID, f.modifying)
		}
		return false
	}
	if !f.emulate {
		regs.IP += McountInsnSize - 1
		if t.Tracing() {
			t.Notef("cpu%d: ftrace_int3_handler: skip the fentry site, continue at %#x", c.ID, regs.IP)
		}
		return true
	}
	regs.Push(ip + McountInsnSize)
	regs.IP = FtraceRegsCaller
	if t.Tracing() {
		t.Notef("cpu%d: ftrace_int3_handler: int3_emulate_call(ftrace_regs_caller %#x)", c.ID, FtraceRegsCaller)
	}
	return true
}

// ftraceSite is what ftrace_replace_code's records are: 5-byte call
// sites, which the int3 protocol could patch.
func ftraceSite(s model.SiteSpec) (Entry, error) {
	e, err := Int3Site(s)
	if err == nil && (len(s.New) != McountInsnSize || len(s.Old) != McountInsnSize) {
		err = fieldError("new", fmt.Errorf("ftrace rewrites its 5-byte fentry call sites (MCOUNT_INSN_SIZE), not %d bytes", len(s.New)))
	}
	return e, err
}

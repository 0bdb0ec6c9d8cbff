package model

import "github.com/klpcheck/klpcheck/explore"

// NOHZ_FULL CPUs with deferred sync IPIs, as proposed in the
// context_tracking series "Defer some IPIs until a user->kernel
// transition" (Valentin Schneider, RFC v8, March 2026): a sync
// (on_each_cpu(do_sync_core)) does not interrupt a NOHZ_FULL CPU that
// runs in user mode; it records deferred work instead, and the CPU runs
// a catch-up sequence (here: sync_core) early in its next kernel entry.
// Kernel code that runs on entry before the catch-up executes text that
// may have been patched meanwhile without the CPU having serialized; the
// series' rule is that such code is noinstr and holds no patchable site.

// NohzExecutor returns the body of a NOHZ_FULL executor CPU: its prelude
// and the patched code in the kernel (which may leave the site's lines in
// its cache), a return to user mode (SYSRET: not serializing, the lines
// stay), a kernel entry (SYSCALL: not serializing either) that takes the
// deferred work, the early entry code, the catch-up sync_core if a sync
// was deferred, and the patched code again. siteInEntry places the
// second call in the early entry code, before the catch-up (the noinstr
// rule broken); otherwise it comes after the catch-up.
func (m *Machine) NohzExecutor(c *CPU, prelude int, siteInEntry bool) func(t *explore.Thread) {
	c.nohz = true
	callAll := func(t *explore.Thread) bool {
		for _, e := range m.L.Entries {
			if !c.call(t, e) {
				return false
			}
		}
		return true
	}
	return func(t *explore.Thread) {
		c.Prelude(t, prelude)
		if !callAll(t) {
			return
		}
		c.boundary(t)
		m.OpIPIs(t, c, "exit to user mode (sysret)")
		if m.ipiGen[c.ID] > c.seen {
			// An IPI queued before the exit interrupts user mode at once.
			c.seen = m.ipiGen[c.ID]
			c.Serialize()
			m.ackGen[c.ID] = c.seen
			m.IPIsTook++
		} else {
			c.user = true
		}
		if t.Tracing() {
			t.Notef("cpu%d: in user mode (user=%v)", c.ID, c.user)
		}
		m.OpIPIs(t, c, "enter the kernel (syscall): ct_kernel_enter takes the deferred work")
		deferred := c.deferred
		c.user, c.deferred = false, false
		c.IF = false // early entry code runs with interrupts disabled
		if t.Tracing() {
			t.Notef("cpu%d: kernel entry, deferred sync_core: %v", c.ID, deferred)
		}
		if siteInEntry && !callAll(t) {
			return
		}
		t.Op("entry: deferred-work catch-up", explore.Local)
		if deferred {
			c.Serialize()
		}
		c.IF = true
		if !siteInEntry && !callAll(t) {
			return
		}
		if c.NMILeft > 0 {
			c.boundary(t)
		}
		m.spawnIdle(c)
	}
}

package props

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/model"
)

// InstallX86Quiescent judges x86 executions in which no thread can move
// although the writer has not returned: when the writer waits in a sync
// for acknowledgements that can never come, the verdict is stuck on
// sync-completes, naming each CPU that never acknowledges and why (the
// model's Halted reason); any other quiescent end is a deadlock naming
// every blocked operation, as the engine would report it.
func InstallX86Quiescent(s *explore.System, m *model.Machine) {
	s.OnQuiescent(func(blocked []*explore.Thread) *explore.Failure {
		var b strings.Builder
		for _, t := range blocked {
			if t.Name() != "writer" || !strings.HasSuffix(t.Pending(), "wait for acks") {
				continue
			}
			for _, id := range m.Unacked(m.CPUs[0]) {
				why := m.Halted[id]
				if why == "" {
					why = "it cannot take the IPI"
				}
				fmt.Fprintf(&b, "; cpu%d never acknowledges (%s)", id, why)
			}
			if b.Len() > 0 {
				return &explore.Failure{Property: SyncCompletes, Stuck: true, Thread: -1, Message: fmt.Sprintf(
					"the writer waits forever at %q (on_each_cpu(do_sync_core, wait=1) over cpu_online_mask)%s.", t.Pending(), b.String())}
			}
		}
		b.WriteString("no thread can proceed; blocked:")
		for _, t := range blocked {
			fmt.Fprintf(&b, " %s at %q;", t.Name(), t.Pending())
		}
		return &explore.Failure{Property: Deadlock, Message: strings.TrimSuffix(b.String(), ";"), Thread: -1}
	})
}

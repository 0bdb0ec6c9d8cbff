package props

import (
	"fmt"
	"math"
	"sort"

	"github.com/anishathalye/porcupine"
	"github.com/klpcheck/klpcheck/model"
)

// SwitchInput is an operation of the atomic-switch history: the writer's
// switch of a site, or one execution of it.
type SwitchInput struct {
	Site   int
	Switch bool // the writer's old→new switch
	CPU    int
	NMI    bool
}

// AtomicSwitchModel is the specification atomic-switch checks site
// executions against: each site is a register that switches once,
// atomically, from old to new, somewhere inside the writer's call; an
// execution observes the current value. Its state is "switched"; outputs
// of executions are model.Outcome values. Partitioned by site.
func AtomicSwitchModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[int][]porcupine.Operation{}
			var keys []int
			for _, op := range h {
				k := op.Input.(SwitchInput).Site
				if _, ok := by[k]; !ok {
					keys = append(keys, k)
				}
				by[k] = append(by[k], op)
			}
			sort.Ints(keys)
			out := make([][]porcupine.Operation, len(keys))
			for i, k := range keys {
				out[i] = by[k]
			}
			return out
		},
		Init: func() interface{} { return false },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			sw := state.(bool)
			in := input.(SwitchInput)
			if in.Switch {
				return !sw, true
			}
			switch output.(model.Outcome) {
			case model.OutOld:
				return !sw, sw
			case model.OutNew:
				return sw, sw
			}
			return false, sw
		},
		DescribeOperation: func(input, output interface{}) string {
			in := input.(SwitchInput)
			if in.Switch {
				return fmt.Sprintf("switch site %d", in.Site)
			}
			return fmt.Sprintf("cpu%d%s runs site %d → %v", in.CPU, nmiTag(in.NMI), in.Site, output)
		},
		DescribeState: func(state interface{}) string {
			if state.(bool) {
				return "new"
			}
			return "old"
		},
	}
}

// AtomicSwitchHistory is the history atomic-switch checks, in porcupine's
// form (for the trace tooling's HTML): per site, the writer's switch over
// [0, the step it returned] on client len(CPUs), and each execution over
// [the step its bytes were last read from memory, the step its effect
// completed] on its CPU's client. A stale line's bytes count from when the
// line was read: that is when the execution read memory.
func AtomicSwitchHistory(m *model.Machine) []porcupine.Operation {
	done := int32(-1)
	if m.Writer.Done {
		done = m.Writer.DoneAt
	}
	return switchHistory(len(m.L.Sites), len(m.CPUs), done, m.Execs)
}

func switchHistory(sites, cpus int, doneAt int32, execs []model.SiteExec) []porcupine.Operation {
	var h []porcupine.Operation
	ret := int64(math.MaxInt64)
	if doneAt >= 0 {
		ret = int64(doneAt)
	}
	for i := 0; i < sites; i++ {
		h = append(h, porcupine.Operation{ClientId: cpus, Input: SwitchInput{Site: i, Switch: true}, Call: 0, Return: ret, Output: model.OutNew})
	}
	for _, e := range execs {
		h = append(h, porcupine.Operation{ClientId: e.CPU, Input: SwitchInput{Site: e.Site, CPU: e.CPU, NMI: e.NMI}, Call: int64(e.Fill), Return: int64(e.End), Output: e.Outcome})
	}
	return h
}

// switchViolation is the direct test: for each site, every execution must
// have the old or the new effect, and a switch point p in [0, doneAt] must
// exist with every old execution starting at or before p and every new
// one ending at or after p. It returns the first site without one and the
// two executions that rule it out (for an execution with neither effect,
// that execution as the first and nil).
func switchViolation(sites int, doneAt int32, execs []model.SiteExec) (int, *model.SiteExec, *model.SiteExec) {
	for i := 0; i < sites; i++ {
		for k := range execs {
			if e := &execs[k]; e.Site == i && e.Outcome != model.OutOld && e.Outcome != model.OutNew {
				return i, e, nil
			}
		}
		lo, hi := int32(0), doneAt
		var lastOld, firstNew *model.SiteExec
		for k := range execs {
			e := &execs[k]
			if e.Site != i {
				continue
			}
			switch e.Outcome {
			case model.OutOld:
				if lastOld == nil || e.Fill > lo {
					lo = max(lo, e.Fill)
					lastOld = e
				}
			case model.OutNew:
				if firstNew == nil || e.End < hi {
					hi = min(hi, e.End)
					firstNew = e
				}
			}
		}
		if lo > hi {
			return i, lastOld, firstNew
		}
	}
	return -1, nil, nil
}

// CheckAtomicSwitch returns "" if the execution's site executions are
// linearizable against an atomic switch, else the violation message. The
// direct test (switchViolation) decides on every execution; porcupine
// confirms every violation, and the two must agree (the tests compare
// them on random histories).
func CheckAtomicSwitch(m *model.Machine) string {
	if !m.Writer.Done {
		return ""
	}
	i, lastOld, firstNew := switchViolation(len(m.L.Sites), m.Writer.DoneAt, m.Execs)
	if i < 0 {
		return ""
	}
	if porcupine.CheckOperations(AtomicSwitchModel(), AtomicSwitchHistory(m)) {
		return fmt.Sprintf("internal error: the direct atomic-switch check and porcupine disagree on site %d", i)
	}
	s := &m.L.Sites[i]
	if lastOld != nil && firstNew == nil && lastOld.Outcome != model.OutOld {
		e := lastOld
		return fmt.Sprintf("site %d (%#x, %s → %s) is not an atomic switch: cpu%d%s executed it over steps %d–%d with the effect %q, neither the old nor the new instruction's; porcupine finds no linearization.",
			i, s.Addr, s.OldInsn.Text, s.NewInsn.Text, e.CPU, nmiTag(e.NMI), e.Fill, e.End, e.Effect)
	}
	if lastOld == nil || firstNew == nil {
		return fmt.Sprintf("site %d (%#x) is not an atomic switch inside the writer's call (step 0 to %d); porcupine finds no linearization.", i, s.Addr, m.Writer.DoneAt)
	}
	old := "it read the old bytes"
	if lastOld.Decoded == model.ClassInt3 {
		old = "its int3 was handled as the old instruction"
	}
	return fmt.Sprintf("site %d (%#x, %s → %s) is not an atomic switch: cpu%d%s finished executing the new instruction at step %d, yet cpu%d%s executed the old one later, from bytes read at step %d (%s); porcupine finds no linearization.",
		i, s.Addr, s.OldInsn.Text, s.NewInsn.Text, firstNew.CPU, nmiTag(firstNew.NMI), firstNew.End, lastOld.CPU, nmiTag(lastOld.NMI), lastOld.Fill, old)
}

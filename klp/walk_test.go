package klp

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// finalState is a fingerprint of everything an execution leaves behind that
// the transition code and the tasks share: DPOR must reach every final
// state that plain enumeration reaches (executions it skips are equivalent
// to explored ones, and equivalent executions end in the same state). The
// event log is left out: messages of different threads are appended
// without a footprint, so its order is not a property of the class.
func finalState(k *Kernel) string {
	var b strings.Builder
	fmt.Fprintf(&b, "target=%v transition=%v hook=%v armed=%v attempts=%d signals=%d releasing=%d/%v |",
		k.target, k.transition != nil, k.hookEnabled, k.workArmed, k.attemptsTotal, k.signalsCnt, k.releasingCnt, k.trackReleasing)
	for _, p := range k.Patches {
		fmt.Fprintf(&b, " %s enabled=%v", p.Name, p.Enabled)
	}
	for _, m := range k.modules {
		fmt.Fprintf(&b, " module %s", m.Name)
	}
	for _, tk := range k.Tasks {
		fmt.Fprintf(&b, " | %s %v %v pending=%v linked=%v released=%v counted=%v switched=%v epoch=%d stack=%d",
			tk.Name, tk.State, tk.PatchState, tk.PatchPending, tk.linked, tk.released, tk.releasing, tk.switched, tk.epoch, len(tk.Stack))
	}
	return b.String()
}

// finalStates explores cfg (without a monitor: no property ends an
// execution early) and returns how often each final state was reached.
func finalStates(t *testing.T, cfg Config, opts explore.Options) (map[string]int, *explore.Result) {
	t.Helper()
	seen := map[string]int{}
	prog, err := Program(&cfg, nil, func(k *Kernel) {
		k.System().AtEnd("final state", func() error {
			seen[finalState(k)]++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 2000
	}
	res := explore.Explore(prog, opts)
	return seen, res
}

// walkRace is a small world and the preemption bound of the enumeration it
// is compared with (-1: every interleaving).
type walkRace struct {
	name        string
	preemptions int
	cfg         Config
}

// walkRaces are small worlds in which klp_try_complete_transition's
// task-list walk races tasks leaving and joining the list: a self-reaping
// exit in the middle of a patched function (release_task), a plain exit,
// a fork (also with every walk split per task under tasklist_lock), and
// the proposed releasing count.
func walkRaces() []walkRace {
	p := func(name string, funcs ...string) PatchConfig {
		var fs []FuncConfig
		for _, f := range funcs {
			fs = append(fs, FuncConfig{OldName: f})
		}
		return patchOf(name, fs...)
	}
	user := func(name string, prog ...string) TaskConfig {
		return TaskConfig{Name: name, Kind: "user", Program: prog}
	}
	return []walkRace{
		{"release_task", -1, Config{Functions: []string{"f"}, Patches: []PatchConfig{p("P", "f")},
			Tasks:  []TaskConfig{user("X", "release_task")},
			Script: []string{"load_lp_nowait P"}}},
		{"exit", -1, Config{Functions: []string{"f"}, Patches: []PatchConfig{p("P", "f")},
			Tasks:  []TaskConfig{user("X")},
			Script: []string{"load_lp_nowait P"}}},
		{"fork", 3, Config{Functions: []string{"f"}, Patches: []PatchConfig{p("P", "f")},
			Tasks: []TaskConfig{user("T", "fork C"),
				{Name: "C", Kind: "user", Child: true}},
			Script: []string{"load_lp_nowait P"}}},
		{"fork, per-task walks", 3, Config{Functions: []string{"f"}, Patches: []PatchConfig{p("P", "f")},
			Tasks: []TaskConfig{user("T", "fork C"),
				{Name: "C", Kind: "user", Child: true}},
			Script:  []string{"load_lp_nowait P"},
			Disable: []Step{AtomicTaskWalk}}},
		{"releasing count", -1, Config{Functions: []string{"f"}, Patches: []PatchConfig{p("P", "f")},
			Tasks:    []TaskConfig{user("X", "release_task")},
			Script:   []string{"load_lp_nowait P"},
			Proposed: []Proposal{ReleasingTasksCount}}},
	}
}

// TestWalkRacesDPORAgainstEnumeration checks the footprints of the walk,
// of fork and of exit: DPOR must reach exactly the final states that plain
// enumeration of every interleaving reaches (for the fork, whose
// enumeration is too long, at least those of every interleaving with at
// most three preemptions). A read of the task list (or
// of klp_releasing_tasks_cnt) outside any footprint lets DPOR skip an
// order of the walk and an exit that ends differently.
func TestWalkRacesDPORAgainstEnumeration(t *testing.T) {
	for _, c := range walkRaces() {
		t.Run(c.name, func(t *testing.T) {
			ref := explore.Options{Strategy: explore.Exhaustive, MaxExecutions: 200_000}
			if c.preemptions >= 0 {
				ref = explore.Options{Strategy: explore.Bounded, MaxPreemptions: c.preemptions, MaxExecutions: 200_000}
			}
			all, resAll := finalStates(t, c.cfg, ref)
			if resAll.Verdict != explore.Safe {
				t.Fatalf("%s: %s (%s) after %d executions", ref.Strategy, resAll.Verdict, resAll.Reason, resAll.Stats.Executions)
			}
			red, resRed := finalStates(t, c.cfg, explore.Options{Strategy: explore.DPOR})
			if resRed.Verdict != explore.Safe {
				t.Fatalf("dpor: %s (%s)", resRed.Verdict, resRed.Reason)
			}
			t.Logf("%s: %d executions, %d final states; dpor: %d executions, %d final states",
				resAll.Bounds, resAll.Stats.Executions, len(all), resRed.Stats.Executions, len(red))
			var missing, extra []string
			for s := range all {
				if red[s] == 0 {
					missing = append(missing, s)
				}
			}
			for s := range red {
				if all[s] == 0 {
					extra = append(extra, s)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			for _, s := range missing {
				t.Errorf("DPOR misses a final state that enumeration reaches:\n  %s", s)
			}
			for _, s := range extra {
				if c.preemptions < 0 { // a bounded enumeration may miss some
					t.Errorf("DPOR reaches a final state enumeration does not:\n  %s", s)
				}
			}
			if len(all) < 2 {
				t.Errorf("only %d final state: the scenario does not race", len(all))
			}
		})
	}
}

// TestExitOfUnswitchedTaskRetries checks the retry model: before v6.1 a
// child can be linked with neither TIF_PATCH_PENDING nor the target state
// (its flag copied before klp_start_transition, its patch_state after),
// and block the transition while it runs. Its exit is the change that lets
// the next attempt succeed; if the delayed work did not retry after it,
// some executions would end with the transition stuck.
func TestExitOfUnswitchedTaskRetries(t *testing.T) {
	cfg := Config{Functions: []string{"f", "g", "h"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
		Tasks: []TaskConfig{
			{Name: "T", Kind: "user", Program: []string{"call h", "fork C", "ret", "user"}},
			{Name: "C", Kind: "user", Child: true, Program: []string{"call g", "ret"}},
		},
		Script:  []string{"load_lp P"},
		Disable: []Step{CopyProcessTIF}}
	blocked := false
	prog, err := Program(&cfg, nil, func(k *Kernel) {
		k.System().AtEnd("saw the unswitched child", func() error {
			c := k.taskNamed("C")
			blocked = blocked || (!c.switched && c.PatchState == Unpatched && !c.PatchPending)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	res := explore.Explore(prog, explore.Options{Strategy: explore.DPOR, MaxSteps: 2000})
	if res.Verdict != explore.Safe {
		t.Fatalf("%s: %v\n%s", res.Verdict, res.Failure, explore.Explain(prog, res))
	}
	if !blocked {
		t.Errorf("no execution left C linked without the flag and outside the target state: the test does not exercise the retry")
	}
	t.Logf("%d executions", res.Stats.Executions)
}

// TestReleasingCountBlocksCompletion checks what Petr Mladek's POC does
// guarantee: a task counted by klp_get_releasing_task (released while a
// transition is in progress) keeps the transition from completing until
// its klp_put_releasing_task. (What it misses, a task released before the
// transition began, is the history row's counterexample.)
func TestReleasingCountBlocksCompletion(t *testing.T) {
	cfg := Config{Functions: []string{"f"}, Patches: []PatchConfig{patchOf("P", FuncConfig{OldName: "f"})},
		Tasks:    []TaskConfig{{Name: "X", Kind: "user", Program: []string{"call f", "release_task", "ret"}}},
		Script:   []string{"load_lp_nowait P"},
		Proposed: []Proposal{ReleasingTasksCount}}
	counted, completedAfter := false, false
	prog, err := Program(&cfg, nil, func(k *Kernel) {
		x := k.taskNamed("X")
		k.System().Invariant("counted task blocks completion", func() error {
			counted = counted || x.releasing
			if k.transition == nil && x.releasing {
				return fmt.Errorf("the transition completed while X, counted in klp_releasing_tasks_cnt, still runs (stack %d frames)", len(x.Stack))
			}
			return nil
		})
		k.System().AtEnd("completed by the last put", func() error {
			for _, l := range k.Log() {
				completedAfter = completedAfter || strings.Contains(l, "the last releasing task is gone")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	res := explore.Explore(prog, explore.Options{Strategy: explore.DPOR, MaxSteps: 2000})
	if res.Verdict != explore.Safe {
		t.Fatalf("%s: %v\n%s", res.Verdict, res.Failure, explore.Explain(prog, res))
	}
	if !counted || !completedAfter {
		t.Errorf("no execution counted X (%v) or completed the transition from klp_put_releasing_task (%v): the test does not exercise the count", counted, completedAfter)
	}
	t.Logf("%d executions", res.Stats.Executions)
}

// With the exiting-tasks-list proposal the livepatch walks visit a task
// that release_task unhashed but that has not reached do_task_dead: one
// that never gets there keeps P2's transition from completing, and the
// stuck message names it; without the proposal P2 completes at once.
func TestExitingTasksListIsWalked(t *testing.T) {
	cfg := func(proposed ...Proposal) Config {
		p2 := PatchConfig{Name: "P2", Replace: true, Objects: []ObjectConfig{{Name: "vmlinux", Funcs: []FuncConfig{{OldName: "do_exit"}}}}}
		return Config{Functions: []string{"do_exit"},
			Patches: []PatchConfig{{Name: "P1", Objects: []ObjectConfig{{Name: "vmlinux", Funcs: []FuncConfig{{OldName: "do_exit"}}}}}, p2},
			Tasks:   []TaskConfig{{Name: "X", Kind: "user", Program: []string{"user", "call do_exit", "release_task", "block-d"}}},
			Script:  []string{"load_lp P1", "wait-sleeping X", "load_lp_nowait P2"}, Proposed: proposed}
	}
	_, rec := runRaw(t, cfg(ExitingTasksList))
	if rec.Failure == nil || !rec.Failure.Stuck || !strings.Contains(rec.Failure.Message, "X:100 is sleeping on function do_exit") {
		t.Fatalf("with the exit list: %+v, want P2 stuck on X", rec.Failure)
	}
	_, rec = runRaw(t, cfg())
	if rec.Failure != nil {
		t.Fatalf("without it: %s: %s", rec.Failure.Property, rec.Failure.Message)
	}
}

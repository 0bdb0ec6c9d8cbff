package catalog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/explore"
)

// checkFixedBuiltin explores a fixed-ISA kind's built-in scenarios with
// their own bounds and compares each verdict with Expect (the 2-executor
// column only without -short). Every counterexample must replay to the
// same property, with its disassembly in the rendered notes.
func checkFixedBuiltin(t *testing.T, k Kind, disasm ...string) {
	n := 0
	for _, s := range k.Builtin() {
		if strings.Contains(s.Name, "/litmus/") || (testing.Short() && strings.HasSuffix(s.Name, "/2cpu")) {
			continue
		}
		n++
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		if v := verdict(r); v != s.Expect {
			t.Errorf("%s: %s, expected %s", s.Name, v, s.Expect)
			if r.Failure != nil {
				t.Logf("%s", r.Failure.Message)
			}
			continue
		}
		if r.Failure == nil {
			continue
		}
		rec, err := explore.Replay(prog, r.Schedule, explore.ReplayOptions{MaxSteps: opts.MaxSteps, Trace: true})
		if err != nil {
			t.Fatalf("%s: replay: %v", s.Name, err)
		}
		if rec.Failure == nil || rec.Failure.Property != r.Failure.Property {
			t.Errorf("%s: the replay does not fail %s: %+v", s.Name, r.Failure.Property, rec.Failure)
		}
		found := false
		for _, note := range rec.Notes {
			for _, d := range disasm {
				found = found || strings.Contains(note.Text, d)
			}
		}
		if !found && r.Failure.Property != "deadlock" {
			t.Errorf("%s: no note of the replay shows a disassembly among %q", s.Name, disasm)
		}
	}
	if n < 8 {
		t.Fatalf("only %d scenarios", n)
	}
}

func TestArm64Builtin(t *testing.T) { checkFixedBuiltin(t, Arm64(), "nop") }

// TestArm64LitmusAgreement explores every transcribed herdtools7 test and
// counts agreements with herd's verdict: the documented disagreements
// (docs/litmus.md) and no others.
func TestArm64LitmusAgreement(t *testing.T) {
	tests := arm64LitmusTests()
	agree := 0
	for _, lt := range tests {
		s := arm64Scenario("litmus/"+lt.litmus.Name, LitmusTable, lt.litmus.Name, "", "", Arm64Params{Litmus: &lt.litmus}, "")
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		if r.Verdict == explore.Incomplete {
			t.Fatalf("%s: incomplete", lt.litmus.Name)
		}
		got := "Forbidden"
		if r.Failure != nil {
			if r.Failure.Property != "exists" {
				t.Fatalf("%s: %s: %s", lt.litmus.Name, r.Failure.Property, r.Failure.Message)
			}
			got = "Allowed"
		}
		want := lt.herd
		if lt.model != "" {
			want = lt.model
		}
		if got != want {
			t.Errorf("%s: klpcheck computes %s; the catalogue documents %s (herd: %s)", lt.litmus.Name, got, want, lt.herd)
		}
		if got == lt.herd {
			agree++
		}
	}
	t.Logf("%d of %d agree with herd", agree, len(tests))
	// The IDC1 versions: every one agrees.
	idc, nIDC := 0, 0
	for _, lt := range tests {
		l := lt.litmus
		l.IDC = true
		s := arm64Scenario("litmus-idc1/"+l.Name, LitmusTableIDC1, l.Name, "", "", Arm64Params{Litmus: &l}, "")
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		r := explore.Explore(prog, opts)
		got := "Forbidden"
		if r.Failure != nil {
			got = "Allowed"
		}
		want := idc1Verdicts[l.Name]
		if want == "" {
			continue // no IDC1 version in the catalogue
		}
		nIDC++
		if got == want {
			idc++
		} else {
			t.Errorf("IDC1.%s: klpcheck computes %s, herd %s", l.Name, got, want)
		}
	}
	t.Logf("IDC1: %d of %d agree with herd", idc, nIDC)
	for _, lt := range esopLitmusTests() {
		s := arm64Scenario("litmus-esop/"+lt.litmus.Name, LitmusTableESOP, lt.litmus.Name, "", "", Arm64Params{Litmus: &lt.litmus}, "")
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		got := "Forbidden"
		if explore.Explore(prog, opts).Failure != nil {
			got = "Allowed"
		}
		if got != lt.herd {
			t.Errorf("ESOP %s: klpcheck computes %s, the paper %s", lt.litmus.Name, got, lt.herd)
		}
	}
	if idc != nIDC || nIDC != 46 {
		t.Errorf("IDC1: %d of %d agree; docs/litmus.md says 46 of 46", idc, nIDC)
	}
	if agree != 45 || len(tests) != 47 {
		t.Errorf("%d of %d agree; docs/litmus.md says 45 of 47", agree, len(tests))
	}
}

// TestFixedExhaustiveAgrees is the differential check of the cmodx
// machine's footprints: plain exhaustive enumeration (no partial-order
// reduction) gives the same verdicts as DPOR on the one-executor
// scenarios and the litmus tests; where it would take more than 20,000
// executions, plain preemption-bounded search with ≤1 preemption does.
func TestFixedExhaustiveAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive enumeration")
	}
	checked := 0
	for _, k := range []Kind{Arm64(), Riscv()} {
		for _, s := range k.Builtin() {
			if strings.HasSuffix(s.Name, "/2cpu") {
				continue
			}
			checked++
			prog, opts, err := Prepare(s)
			if err != nil {
				t.Fatal(err)
			}
			e := explore.Explore(prog, explore.Options{Strategy: explore.Exhaustive, MaxSteps: opts.MaxSteps, MaxExecutions: 20_000})
			if e.Verdict == explore.Incomplete {
				// Too many interleavings to enumerate: plain
				// preemption-bounded search (no reduction), ≤1 preemption.
				e = explore.Explore(prog, explore.Options{Strategy: explore.Bounded, MaxPreemptions: 1, MaxSteps: opts.MaxSteps})
				t.Logf("%s: exhaustive enumeration too large; bounded (≤1 preemption, no reduction): %s, %d executions", s.Name, verdict(e), e.Stats.Executions)
			}
			if v := verdict(e); v != s.Expect {
				t.Errorf("%s: exhaustive enumeration says %s, DPOR's expected %s", s.Name, v, s.Expect)
			}
		}
	}
	if checked < 20 {
		t.Errorf("compared %d arm64 and RISC-V scenarios; want the catalog's one-executor ones (at least 20)", checked)
	}
}

// TestArm64ParamErrors: bad parameters name their field.
func TestArm64ParamErrors(t *testing.T) {
	for _, c := range []struct{ params, field string }{
		{`{}`, "params.protocol"},
		{`{"protocol":"jump-label","cpus":3}`, "params.cpus"},
		{`{"protocol":"nope"}`, "params.protocol"},
		{`{"protocol":"nosync","old":"d503"}`, "params.old"},
		{`{"protocol":"jump-label","old":"d503201f"}`, "params.old"},
		{`{"protocol":"ftrace","ignore":["cmodx"]}`, "params.ignore[0]"},
		{`{"litmus":{"name":"x","code":{"m0":"B"},"threads":[["exec m0 Y9"]],"exists":"0:X9=0"}}`, "params.litmus"},
		{`{"litmus":{"name":"x","code":{"m0":"B"},"threads":[["exec m0 X9"]],"exists":"0:X9=0"},"cpus":2}`, "params.litmus"},
		{`{"protocol":"jump-label","bogus":1}`, "unknown field"},
		{`{"protocol":"jump-label","disable_steps":["sync3"]}`, "params.disable_steps"},
		{`{"protocol":"ftrace","disable_steps":["kick"]}`, "params.disable_steps"},
		{`{"protocol":"jump-label","entries":3}`, "params.entries"},
		{`{"protocol":"ftrace","entries":2}`, "params.entries"},
	} {
		_, err := Arm64().Build(Scenario{Name: "t", Kind: "arm64", Params: []byte(c.params)})
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %s", c.params, err, c.field)
		}
	}
}

// TestFixedDeterministic: the same scenario explored with one worker and
// with two gives the same verdict, counts and counterexample.
func TestFixedDeterministic(t *testing.T) {
	for _, name := range []string{"arm64/jump-label/1cpu", "riscv/ftrace-pair-preempt/1cpu", "arm64/patch-text-first-cpu/2cpu"} {
		s, ok := Find(name)
		if !ok {
			t.Fatalf("%s: not in the catalog", name)
		}
		prog, opts, err := Prepare(s)
		if err != nil {
			t.Fatal(err)
		}
		opts.SplitDepth = 6
		var got [2]string
		for i, w := range []int{1, 2} {
			o := opts
			o.Workers = w
			r := explore.Explore(prog, o)
			got[i] = fmt.Sprintf("%s %d %v", verdict(r), r.Stats.Executions, r.Schedule)
		}
		if got[0] != got[1] {
			t.Errorf("%s: 1 worker %s, 2 workers %s", name, got[0], got[1])
		}
	}
}

// FuzzFixedParams: arbitrary arm64 and riscv params either build or fail
// with an error naming params, and built scenarios run without panics.
func FuzzFixedParams(f *testing.F) {
	for _, s := range append(Arm64().Builtin(), Riscv().Builtin()...) {
		f.Add(s.Kind == "riscv", string(s.Params))
	}
	f.Add(false, `{"litmus":{"name":"x","code":{"m":"B"},"threads":[["exec m X1","write y 2"]],"exists":"0:X1=0 /\\ y=2"}}`)
	f.Fuzz(func(t *testing.T, rv bool, params string) {
		k := Arm64()
		if rv {
			k = Riscv()
		}
		prog, err := k.Build(Scenario{Name: "fuzz", Kind: k.Name(), Params: []byte(params)})
		if err != nil {
			if !strings.Contains(err.Error(), "params") {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		r := explore.Explore(prog, explore.Options{Strategy: explore.Random, MaxExecutions: 3, MaxSteps: 400, Seed: 1})
		if r.Failure != nil && r.Failure.Property == "panic" {
			t.Fatalf("%s: %s", params, r.Failure.Message)
		}
	})
}

package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/poke"
	"github.com/klpcheck/klpcheck/props"
	"pgregory.net/rapid"
)

func x86(t *testing.T, name string, p X86Params) Scenario {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return Scenario{Name: name, Kind: "x86", Params: raw}
}

// exploreX86 explores a scenario exhaustively (DPOR on two workers).
func exploreX86(t *testing.T, s Scenario) *explore.Result {
	t.Helper()
	prog, err := Build(s)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return explore.Explore(prog, explore.Options{Strategy: explore.DPOR, MaxSteps: 2000, Workers: 2, SplitDepth: 8})
}

func verdict(r *explore.Result) string {
	if r.Failure != nil {
		return string(r.Verdict) + ":" + r.Failure.Property
	}
	return string(r.Verdict)
}

func single(old, new, fetch, placement string) X86Params {
	return X86Params{CPUs: 1, NMIs: 1, Old: old, New: new, Fetch: fetch, Placement: placement}
}

// TestX86CurrentProtocolSafe: text_poke_bp is safe under every fetch
// model and placement, with an executor that takes an NMI (and runs the
// default prelude), and with the unrelated-int3 CPU. The kprobe CPU's
// stale:64 cells are beyond exhaustive DPOR today (docs/x86.md); -short
// keeps bytewise and block:16.
func TestX86CurrentProtocolSafe(t *testing.T) {
	for _, f := range x86Fetches {
		for _, pl := range x86Placements {
			for _, kp := range []bool{false, true} {
				if (kp || testing.Short()) && f == "stale:64" {
					continue
				}
				p := single(hexNOP5, hexCALL32, f, pl)
				p.UnrelatedInt3 = kp
				name := fmt.Sprintf("bp/%s/%s/kprobe=%v", f, pl, kp)
				t.Run(name, func(t *testing.T) {
					r := exploreX86(t, x86(t, name, p))
					if r.Verdict != explore.Safe {
						t.Fatalf("%s: %s, want safe\n%v", name, verdict(r), r.Failure)
					}
					t.Logf("%s: safe, %d executions in %v", name, r.Stats.Executions, r.Stats.Elapsed)
				})
			}
		}
	}
}

// TestX86TwoExecutors: two executor CPUs (no NMIs) under the block and
// bytewise models.
func TestX86TwoExecutors(t *testing.T) {
	for _, f := range []string{"bytewise", "block:16"} {
		p := X86Params{CPUs: 2, Old: hexNOP5, New: hexCALL32, Fetch: f, Placement: "cross-16"}
		r := exploreX86(t, x86(t, "two/"+f, p))
		if r.Verdict != explore.Safe {
			t.Fatalf("%s: %s, want safe: %v", f, verdict(r), r.Failure)
		}
		t.Logf("%s: %d executions in %v", f, r.Stats.Executions, r.Stats.Elapsed)
	}
}

func TestX86NaiveCopyTornEverywhere(t *testing.T) {
	for _, f := range x86Fetches {
		for _, pl := range x86Placements {
			p := single(hexNOP5, hexCALL32, f, pl)
			p.Variant = "naive-copy"
			r := exploreX86(t, x86(t, "naive", p))
			if verdict(r) != "violation:torn-decode" {
				t.Errorf("naive-copy %s %s: %s, want violation:torn-decode", f, pl, verdict(r))
			}
		}
	}
}

func TestX86DroppedSyncs(t *testing.T) {
	for _, c := range []struct {
		disable, fetch, placement, want string
	}{
		{"sync1", "bytewise", "inside-line", "violation:torn-decode"},
		{"sync1", "block:16", "cross-16", "violation:torn-decode"},
		{"sync1", "stale:64", "cross-64", "violation:torn-decode"},
		{"sync3", "bytewise", "inside-line", "violation:stray-int3"},
		{"sync3", "block:16", "inside-line", "violation:stray-int3"},
		{"sync3", "stale:64", "inside-line", "violation:stray-int3"},
		{"sync2", "bytewise", "cross-64", "safe"},
		{"sync2", "block:16", "cross-16", "safe"},
		{"sync2", "stale:64", "inside-line", "safe"},
		{"sync2", "stale:64", "cross-64", "violation:torn-decode"},
	} {
		p := single(hexNOP5, hexCALL32, c.fetch, c.placement)
		p.Disable = []string{c.disable}
		r := exploreX86(t, x86(t, "drop", p))
		if got := verdict(r); got != c.want {
			msg := ""
			if r.Failure != nil {
				msg = r.Failure.Message
			}
			t.Errorf("no-%s %s %s: %s, want %s\n%s", c.disable, c.fetch, c.placement, got, c.want, msg)
		}
	}
}

// TestX86Metamorphic: coarser fetch blocks allow fewer behaviours, so a
// protocol safe under bytewise is safe under every block:N for the same
// placement.
func TestX86Metamorphic(t *testing.T) {
	checked := 0
	for _, v := range []struct {
		variant string
		disable []string
	}{{"", nil}, {"", []string{"sync2"}}, {"", []string{"refs-drain"}}, {"", []string{"sync1"}}} {
		for _, pl := range x86Placements {
			p := single(hexNOP5, hexJMP32, "bytewise", pl)
			p.NMIs, p.Variant, p.Disable = 0, v.variant, v.disable
			rb := exploreX86(t, x86(t, "meta", p))
			if rb.Verdict != explore.Safe {
				continue
			}
			for _, n := range []string{"block:8", "block:16", "block:64"} {
				p.Fetch = n
				if r := exploreX86(t, x86(t, "meta", p)); r.Verdict != explore.Safe {
					t.Errorf("%v %s: safe under bytewise but %s under %s", v.disable, pl, verdict(r), n)
				}
				checked++
			}
		}
	}
	// text_poke_bp and -sync2 are safe under bytewise in every placement:
	// 2 variants × 3 placements × 3 block sizes at least.
	if checked < 18 {
		t.Fatalf("checked %d bytewise-safe cases under block fetch, want at least 18", checked)
	}
}

func TestX86BadInput(t *testing.T) {
	for _, c := range []struct {
		params string
		want   string
	}{
		{`{"old":"0f1f440000","new":"0f04"}`, "params.new: "},
		{`{"old":"0f1f44","new":"e8e7570700"}`, "params.old: 0f 1f 44 is a truncated instruction"},
		{`{"old":"0f1f440000","new":"e8e75707"}`, "params.new: e8 e7 57 07 is 4 bytes, the site is 5"},
		{`{"old":"0f1f440000","new":"e8e7570700","len":4}`, "params.old: 0f 1f 44 00 00 is 5 bytes, the site is 4"},
		{`{"old":"9090","new":"6690"}`, "params.old: 90 90 is not one 2-byte instruction"},
		{`{"old":"0f1f440000","new":"0f1f440700"}`, "params.new: 0f 1f 44 07 00 (nopl (%rdi,%rax)): a 5-byte patch that is not CALL/JMP/RET/INT3 must be the kernel's NOP5"},
		{`{"old":"0f1f440000","new":"zz"}`, "params.new: \"zz\" is not hex bytes"},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"naive-atomic","addr":"0xffffffff81000ffe"}`, "params.addr: text_poke of 5 bytes at 0xffffffff81000ffe crosses a page boundary"},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"naive-atomic","placement":"cross-16"}`, "params.placement: text_poke of 5 bytes at 0xffffffff8100001e crosses an aligned 8-byte boundary"},
		{`{"old":"0f1f440000","new":"e8e7570700","cpus":9}`, "params.cpus: 9 executor CPUs; want 1..8"},
		{`{"old":"0f1f440000","new":"e8e7570700","executions":9}`, "params.executions: 9; want 1..8"},
		{`{"old":"0f1f440000","new":"e8e7570700","prelude":-1}`, "params.prelude: -1"},
		{`{"old":"0f1f440000","new":"e8e7570700","prelude":9}`, "params.prelude: 9"},
		{`{"old":"0f1f440000","new":"e8e7570700","kprobe_hits":1}`, "params.kprobe_hits: needs unrelated_int3"},
		{`{"old":"0f1f440000","new":"e8e7570700","unrelated_int3":true,"kprobe_hits":0}`, "params.kprobe_hits: 0; want 1..4"},
		{`{"old":"0f1f440000","new":"e8e7570700","site_in_entry":true}`, "params.site_in_entry: needs nohz_full"},
		{`{"old":"0f1f440000","new":"e8e7570700","nohz_full":true,"executions":2}`, "params.executions: 2; a nohz_full executor"},
		{`{"old":"0f1f440000","new":"e8e7570700","ignore":["deadlock"]}`, "params.ignore[0]: \"deadlock\" cannot be ignored"},
		{`{"old":"0f1f440000","new":"e8e7570700","ignore":["final-text","final-text"]}`, "params.ignore[1]: \"final-text\" is listed twice"},
		{`{"old":"0f1f440000","new":"e8e7570700","ignore":["torn-decode","stray-int3","handler-memory","emulation","final-text","atomic-switch"]}`, "params.ignore: every x86 property is ignored"},
		{`{"old":"0f1f440000","new":"e8e7570700","fetch":"block:12"}`, "params.fetch: fetch model \"block:12\""},
		{`{"old":"0f1f440000","new":"e8e7570700","disable":["sync4"]}`, "params.disable: unknown step \"sync4\""},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"naive-copy","disable":["sync1"]}`, "params.disable: naive-copy cannot disable sync1 (it has no step to disable; steps can be disabled only in text_poke_bp: refs-set"},
		{`{"old":"0f1f440000","new":"e8e7570700","variant":"text_poke_bp-v3.12","disable":["sync1"]}`, "params.disable: text_poke_bp-v3.12 cannot disable sync1 (it can disable sync3)"},
		{`{"old":"0f1f440000","new":"e8e7570700","placement":"middle"}`, "params.placement: unknown placement"},
		{`{"old":"0f1f440000","new":"e8e7570700","typo":1}`, "unknown field \"typo\""},
		{`{"new":"e8e7570700"}`, "params.old: "},
		{`{"sites":[{"addr":"0xffffffff81000000","old":"0f1f440000","new":"e8e7570700"},{"addr":"0xffffffff81000002","old":"6690","new":"eb10"}]}`, "params.sites: sites at 0xffffffff81000000 and 0xffffffff81000002 overlap"},
		{`{"sites":[{"addr":"xyz","old":"0f1f440000","new":"e8e7570700"}]}`, "params.sites[0].addr: "},
		{`{"sites":[{"addr":"0xffffffff81000000","old":"0f1f440000","new":"c3"}]}`, "params.sites[0].new: "},
		{`{"old":"90","new":"c3"}`, "params.new: c3 (retq): the model's executors run only NOP, CALL and JMP sites"},
		{`{"sites":[{"addr":"0xffffffff81000000","old":"0f1f440000","new":"e8e7570700"},{"addr":"0xffffffff81000010","old":"90","new":"c3"}]}`, "params.sites[1].new: c3 (retq)"},
		{`{"old":"6690","new":"eb10","emulate":"7410"}`, "params.emulate: 74 10 (je 0xffffffff81000032): a conditional jump; the int3 handler emulates it from the trapped CPU's EFLAGS"},
		{`{"old":"0f1f440000","new":"0f1f440700","emulate":"e8e7570700"}`, "params.new: 0f 1f 44 07 00"},
		{`{"old":"0f1f440000","new":"e8e7570700","emulate":"6690"}`, "params.emulate: emulate is 2 bytes, the site is 5"},
	} {
		_, err := Build(Scenario{Name: "bad", Kind: "x86", Params: json.RawMessage(c.params)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant an error containing %q", c.params, err, c.want)
		}
	}
}

func TestX86BuiltinBuilds(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range X86().Builtin() {
		if seen[s.Name] {
			t.Errorf("duplicate scenario %s", s.Name)
		}
		seen[s.Name] = true
		if s.Table == "" || s.Row == "" || s.Column == "" {
			t.Errorf("%s has no table cell", s.Name)
		}
		if _, err := Build(s); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

// TestX86CounterexampleMessageAndReplay: a torn decode names the CPU, the
// bytes it fetched with their steps, the GNU decodings of what it saw and
// of old and new, and the writer's last step; the counterexample replays.
func TestX86CounterexampleMessageAndReplay(t *testing.T) {
	p := single(hexNOP5, hexCALL32, "bytewise", "inside-line")
	p.Disable = []string{"sync1"}
	s := x86(t, "no-sync1", p)
	r := exploreX86(t, s)
	if verdict(r) != "violation:torn-decode" {
		t.Fatalf("got %s", verdict(r))
	}
	msg := r.Failure.Message
	for _, want := range []string{"cpu1", "fetched: 0f@", "decodes as: ", "old: nopl (%rax,%rax) [0f 1f 44 00 00]", "new: callq 0xffffffff8107580c [e8 e7 57 07 00]", "the writer's last step was"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	prog, _ := Build(s)
	rec, err := explore.Replay(prog, r.Schedule, explore.ReplayOptions{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Failure == nil || rec.Failure.Message != msg || rec.Failure.Step != r.Failure.Step {
		t.Fatalf("replay gave %+v, want %q at step %d", rec.Failure, msg, r.Failure.Step)
	}
	notes := 0
	for _, n := range rec.Notes {
		if strings.HasPrefix(n.Text, "writer: ") {
			notes++
		}
	}
	if notes == 0 {
		t.Error("the traced replay has no writer steps")
	}
}

// TestX86ObservedHistory: the machine of a replay gives porcupine's
// history of the atomic switch.
func TestX86ObservedHistory(t *testing.T) {
	prog, last, err := BuildX86Observed(x86(t, "obs", single(hexNOP5, hexCALL32, "bytewise", "inside-line")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := explore.Replay(prog, nil, explore.ReplayOptions{Extend: true}); err != nil {
		t.Fatal(err)
	}
	m := last()
	if m == nil || len(m.Execs) == 0 || !m.Writer.Done {
		t.Fatalf("no observed machine: %+v", m)
	}
	if h := props.AtomicSwitchHistory(m); len(h) != 1+len(m.Execs) {
		t.Errorf("history has %d operations, want %d", len(h), 1+len(m.Execs))
	}
	if !porcupine.CheckOperations(props.AtomicSwitchModel(), props.AtomicSwitchHistory(m)) {
		t.Error("a default run is not linearizable")
	}
}

// TestX86WriterNMIAndRepeatedCalls: an NMI on the writer's own CPU runs the
// site in the middle of the protocol (its int3 is handled locally), and an
// executor that calls the site twice (a stale line from its first call)
// stays safe; without sync1 the writer's NMI does not hide the tear.
func TestX86WriterNMIAndRepeatedCalls(t *testing.T) {
	for _, c := range []struct {
		p    X86Params
		want string
	}{
		{X86Params{CPUs: 1, WriterNMIs: 1, Old: hexNOP5, New: hexCALL32}, "safe"},
		{X86Params{CPUs: 1, WriterNMIs: 1, Old: hexNOP5, New: hexCALL32, Fetch: "stale:64", Placement: "cross-64"}, "safe"},
		{X86Params{CPUs: 1, Executions: 2, Old: hexNOP5, New: hexCALL32, Fetch: "stale:64"}, "safe"},
		{X86Params{CPUs: 1, WriterNMIs: 1, Old: hexNOP5, New: hexCALL32, Disable: []string{"sync1"}}, "violation:torn-decode"},
	} {
		if got := verdict(exploreX86(t, x86(t, "w", c.p))); got != c.want {
			t.Errorf("%+v: %s, want %s", c.p, got, c.want)
		}
	}
}

// FuzzX86Params: whatever the params, Build returns a program or an
// error that names a params field; it never panics.
func FuzzX86Params(f *testing.F) {
	for _, seed := range []string{
		`{"old":"0f1f440000","new":"e8e7570700"}`,
		`{"old":"0f1f440000","new":"e8e7570700","fetch":"stale:64","placement":"cross-64","disable":["sync2"],"nmis":1}`,
		`{"sites":[{"addr":"0xffffffff81000020","old":"6690","new":"eb10"}]}`,
		`{"old":"6690","new":"eb7f","addr":"0xffffffff81000ffe","variant":"naive-atomic"}`,
		`{"old":"e9fbffffff","new":"0f1f440000","emulate":"e8"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		_, err := Build(Scenario{Name: "fuzz", Kind: "x86", Params: params})
		if err != nil && !strings.Contains(err.Error(), "params") {
			t.Fatalf("error does not name a params field: %v", err)
		}
	})
}

// TestX86MustShowMinimalMachine (issue 11): with one executor calling
// the site once, no NMI and no kprobe, text_poke_bp without sync3 strays
// under every fetch model (the CPU acknowledges sync1 and sync2 at the
// same instruction boundary, then fetches the int3), and without sync2 it
// tears under stale:64 with the site crossing a line (the prelude left
// the old second line in the cache); the current protocol is safe. With
// the prelude forced to 0 the stale line cannot be there, which shows the
// prelude is what finds it.
func TestX86MustShowMinimalMachine(t *testing.T) {
	for _, f := range []string{"bytewise", "block:8", "block:16", "block:64", "stale:8", "stale:16", "stale:64"} {
		p := X86Params{CPUs: 1, Executions: 1, Fetch: f, Old: hexNOP5, New: hexCALL32, Disable: []string{"sync3"}}
		if got := verdict(exploreX86(t, x86(t, "minimal", p))); got != "violation:stray-int3" {
			t.Errorf("-sync3 %s: %s, want violation:stray-int3", f, got)
		}
		p.Disable = nil
		p.Placement = "cross-64"
		if got := verdict(exploreX86(t, x86(t, "minimal", p))); got != "safe" {
			t.Errorf("text_poke_bp %s cross-64: %s, want safe", f, got)
		}
	}
	p := X86Params{CPUs: 1, Executions: 1, Fetch: "stale:64", Placement: "cross-64", Old: hexNOP5, New: hexCALL32, Disable: []string{"sync2"}}
	if got := verdict(exploreX86(t, x86(t, "minimal", p))); got != "violation:torn-decode" {
		t.Errorf("-sync2 stale:64 cross-64: %s, want violation:torn-decode", got)
	}
	zero := 0
	p.Prelude = &zero
	if got := verdict(exploreX86(t, x86(t, "minimal", p))); got != "safe" {
		t.Errorf("-sync2 stale:64 cross-64 with prelude 0: %s, want safe (cold cache, one call)", got)
	}
}

// TestX86UnrelatedInt3CPU: the kprobe CPU traps at any point of the
// protocol: after sync3 it holds a reference while a writer that does not
// drain the refcounts clears the vector (handler-memory); the current
// protocol answers it "not mine" however often it traps.
func TestX86UnrelatedInt3CPU(t *testing.T) {
	two := 2
	for _, c := range []struct {
		p    X86Params
		want string
	}{
		{X86Params{CPUs: 1, UnrelatedInt3: true, Old: hexNOP5, New: hexCALL32}, "safe"},
		{X86Params{CPUs: 1, UnrelatedInt3: true, KprobeHits: &two, Old: hexNOP5, New: hexCALL32}, "safe"},
		{X86Params{CPUs: 1, UnrelatedInt3: true, Old: hexNOP5, New: hexCALL32, Disable: []string{"refs-drain"}}, "violation:handler-memory"},
		{X86Params{CPUs: 1, Old: hexNOP5, New: hexCALL32, Disable: []string{"refs-drain"}}, "safe"},
	} {
		if got := verdict(exploreX86(t, x86(t, "kprobe", c.p))); got != c.want {
			t.Errorf("%+v: %s, want %s", c.p, got, c.want)
		}
	}
}

// TestX86Ignore: an ignored property is not judged. Without sync2 under
// stale:64 across a line the CPU tears; ignoring final-text still finds
// the tear, ignoring torn-decode does not report it (the CPU that tore
// stops, as it would crash).
func TestX86Ignore(t *testing.T) {
	p := X86Params{CPUs: 1, Fetch: "stale:64", Placement: "cross-64", Old: hexNOP5, New: hexCALL32, Disable: []string{"sync2"}}
	p.Ignore = []string{"final-text"}
	if got := verdict(exploreX86(t, x86(t, "ignore", p))); got != "violation:torn-decode" {
		t.Errorf("final-text ignored: %s, want violation:torn-decode", got)
	}
	p.Ignore = []string{"torn-decode"}
	if got := verdict(exploreX86(t, x86(t, "ignore", p))); got == "violation:torn-decode" {
		t.Errorf("torn-decode ignored but reported")
	}
}

// TestX86FetchMonotonicity (rapid): for random instruction pairs,
// placements and protocol variants, a scenario safe under bytewise is safe
// under every block:N.
func TestX86FetchMonotonicity(t *testing.T) {
	pairs := [][2]string{{hexNOP5, hexCALL32}, {hexCALL32, hexNOP5}, {hexNOP5, hexJMP32}, {hexJMP32, hexCALL32}, {hexNOP2, hexJMP8}, {hexJMP8, hexNOP2}}
	variants := [][]string{nil, {"sync1"}, {"sync2"}, {"sync3"}, {"refs-drain"}, {"sync1", "sync2"}}
	rapid.Check(t, func(rt *rapid.T) {
		pr := rapid.SampledFrom(pairs).Draw(rt, "pair")
		p := X86Params{CPUs: 1, Old: pr[0], New: pr[1],
			Placement: rapid.SampledFrom(x86Placements).Draw(rt, "placement"),
			Disable:   rapid.SampledFrom(variants).Draw(rt, "disable"),
			Fetch:     "bytewise"}
		if rapid.Bool().Draw(rt, "naive") {
			p.Disable, p.Variant = nil, "naive-copy"
		}
		prog, err := Build(x86(t, "mono", p))
		if err != nil {
			rt.Fatal(err)
		}
		if explore.Explore(prog, explore.Options{MaxSteps: 2000}).Verdict != explore.Safe {
			return
		}
		for _, n := range []string{"block:8", "block:16", "block:64"} {
			p.Fetch = n
			prog, _ := Build(x86(t, "mono", p))
			if r := explore.Explore(prog, explore.Options{MaxSteps: 2000}); r.Verdict != explore.Safe {
				rt.Fatalf("%+v: safe under bytewise, %s under %s: %v", p, verdict(r), n, r.Failure)
			}
		}
	})
}

// TestX86DPORCoversPlainOutcomes checks the model's footprints: DPOR
// explores one interleaving per equivalence class, so every per-CPU
// observation (what each CPU decoded at each site, and the effect) that
// plain enumeration reaches within a preemption bound must also be reached
// by DPOR. A footprint that hides a dependency breaks this.
func TestX86DPORCoversPlainOutcomes(t *testing.T) {
	for _, p := range []X86Params{
		{CPUs: 1, NMIs: 1, Old: hexNOP2, New: hexJMP8},
		{CPUs: 1, Executions: 2, Old: hexNOP5, New: hexCALL32, Fetch: "stale:64", Placement: "cross-64"},
		{CPUs: 1, NMIs: 1, Old: hexNOP5, New: hexJMP32, Fetch: "block:16", Placement: "cross-16", Disable: []string{"sync2"}},
		{CPUs: 1, Old: hexNOP2, New: hexJMP8, Fetch: "block:8", UnrelatedInt3: true},
		{CPUs: 1, Old: hexNOP5, New: hexCALL32, Fetch: "stale:16", Placement: "cross-16"}, // a prelude choosing between two lines
	} {
		collect := func(o explore.Options) map[string]bool {
			prog, last, err := BuildX86Observed(x86(t, "diff", p))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			wrapped := func(s *explore.System) {
				prog(s)
				m := last()
				s.AtEnd("collect", func() error {
					per := make([]string, len(m.CPUs))
					for _, e := range m.Execs {
						per[e.CPU] += fmt.Sprintf("[site%d nmi=%v %s→%s]", e.Site, e.NMI, e.Decoded, e.Outcome)
					}
					seen[strings.Join(per, " | ")] = true
					return nil
				})
			}
			if r := explore.Explore(wrapped, o); r.Verdict != explore.Safe {
				t.Fatalf("%+v: %s %v", p, verdict(r), r.Failure)
			}
			return seen
		}
		dpor := collect(explore.Options{MaxSteps: 2000})
		bound := 2
		if testing.Short() {
			bound = 1
		}
		plain := collect(explore.Options{Strategy: explore.Bounded, MaxPreemptions: bound, MaxSteps: 2000})
		for k := range plain {
			if !dpor[k] {
				t.Errorf("%+v: plain enumeration reaches %q, DPOR does not", p, k)
			}
		}
		if len(plain) < 2 {
			t.Errorf("%+v: only %d observations; the test would not notice a missing one", p, len(plain))
		}
		t.Logf("%+v: %d observations (DPOR %d)", p, len(plain), len(dpor))
	}
}

// TestX86FormatDocCoversVariants: `klpcheck list format` documents every
// writer variant with what it takes.
func TestX86FormatDocCoversVariants(t *testing.T) {
	doc := FileFormat()
	variants := X86FormatDoc()
	for _, v := range poke.Protocols() {
		if v.Takes == "" {
			t.Errorf("variant %s does not say what it takes (Protocol.Takes)", v.Name)
		}
		if !strings.Contains(variants, string(v.Name)) {
			t.Errorf("X86FormatDoc does not mention variant %s", v.Name)
		}
	}
	for _, f := range []string{"prelude", "kprobe_hits", "ignore"} {
		if !strings.Contains(doc, f) {
			t.Errorf("FileFormat does not document params.%s", f)
		}
	}
}

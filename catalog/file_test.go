package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseScenariosValid(t *testing.T) {
	one := `{"name": "a", "kind": "engine", "params": {"program": "writers", "n": 3},
  "explore": {"strategy": "bounded", "max_preemptions": 2}}`
	got, err := ParseScenarios("one.json", []byte(one))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "a" || got[0].Explore.Strategy != "bounded" || got[0].Explore.MaxPreemptions != 2 {
		t.Fatalf("got %+v", got)
	}
	list := `[
  {"name": "a", "kind": "engine", "params": {"program": "lost-update"}},
  {"name": "b", "kind": "engine", "params": {"program": "readers", "n": 2}, "table": "t", "row": "r", "column": "c"}
]`
	got, err = ParseScenarios("list.json", []byte(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Row != "r" {
		t.Fatalf("got %+v", got)
	}
}

// Every malformed file gives a FileError naming the file, the line and the
// field, never a panic.
func TestParseScenariosErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "f.json:1:1: empty file"},
		{"scalar", "42", "f.json:1:1: want a scenario object or a list of them, not a number"},
		{"empty list", "[]", "f.json:1:1: the list holds no scenario"},
		{"truncated", `{"name": "a", "kind": "eng`, "f.json:1:"},
		{"truncated2", "[\n{\"name\": \"a\",\n", "unexpected end of file"},
		{"syntax", "{\n  \"name\": \"a\",,\n}", "f.json:2:"},
		{"trailing", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}} {}`, "unexpected data after the top-level value"},
		{"unknown top", "{\n  \"name\": \"a\",\n  \"kind\": \"engine\",\n  \"colour\": 1\n}", `f.json:4:3: colour: unknown field "colour"`},
		{"unknown explore", "[{\"name\": \"a\", \"kind\": \"engine\",\n \"params\": {\"program\": \"peterson\"},\n \"explore\": {\"strategy\": \"dpor\", \"speed\": 3}}]", `f.json:3:34: [0].explore.speed: unknown field "speed"`},
		{"unknown param", "{\"name\": \"a\", \"kind\": \"engine\",\n \"params\": {\"program\": \"peterson\",\n   \"m\": 3}}", `f.json:3:4: params.m: unknown field "m"`},
		{"bad param", "{\"name\": \"a\", \"kind\": \"engine\",\n \"params\": {\"program\": \"writers\", \"n\": 99}}", `f.json:2:35: params.n: 99 is out of range 1..16`},
		{"bad program", "{\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"nope\"}}", `params.program: unknown engine program "nope"`},
		{"param type", "{\"name\": \"a\", \"kind\": \"engine\",\n \"params\": {\"program\": \"writers\", \"n\": \"x\"}}", `f.json:2:35: params.n: want int, not a JSON string`},
		{"top type", "{\"name\": 7, \"kind\": \"engine\"}", `f.json:1:2: name: want string, not a JSON number`},
		{"no name", `{"kind": "engine"}`, `name: a scenario needs a non-empty name`},
		{"no kind", `{"name": "a"}`, `kind: a scenario needs a kind`},
		{"bad kind", `{"name": "a", "kind": "sparc64"}`, `kind: unknown scenario kind "sparc64"`},
		{"bad strategy", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"strategy": "fast"}}`, `explore.strategy: unknown strategy "fast"`},
		{"negative", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"max_steps": -1}}`, `explore: bounds must not be negative`},
		{"params array", `{"name": "a", "kind": "engine", "params": [1]}`, `params: params must be an object`},
		{"duplicate key", "{\"name\": \"a\",\n \"name\": \"b\"}", `f.json:2:2: name: duplicate field (first at line 1)`},
		{"duplicate name", "[{\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"peterson\"}},\n {\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"peterson\"}}]", `f.json:2:3: [1].name: scenario name "a" is used twice (first at line 1)`},
		{"zero steps", "{\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"peterson\"},\n \"explore\": {\"max_steps\": 0}}", `f.json:2:14: explore.max_steps: 0 is not a usable bound`},
		{"zero executions", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"max_executions": 0}}`, `explore.max_executions: 0 is not a usable bound: a search needs at least one execution; leave the field out`},
		{"zero preemptions", `[{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"strategy": "bounded", "max_preemptions": 0}}]`, `[0].explore.max_preemptions: 0 is not a usable bound`},
		{"expect maybe", "{\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"peterson\"},\n \"expect\": \"maybe\"}", `f.json:2:2: expect: "maybe" is not an expectation`},
		{"expect bare violation", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "expect": "violation"}`, `expect: "violation" is not an expectation`},
		{"expect unknown property", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "expect": "violation:torn-decode"}`, `expect: "violation:torn-decode": "torn-decode" is not a property of kind engine (want one of lost-update, mutual-exclusion, deadlock, panic)`},
		{"expect_log without a log", "{\"name\": \"a\", \"kind\": \"engine\", \"params\": {\"program\": \"peterson\"},\n \"expect_log\": [\"x\"]}", `f.json:2:2: expect_log: kind engine keeps no event log to compare with`},
		{"expect_log type", `{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "expect_log": "x"}`, `expect_log: want []string, not a JSON string`},
		{"misspelt klp step", "{\"name\": \"a\", \"kind\": \"livepatch\", \"params\": {\"functions\": [\"f\"], \"script\": [],\n \"disable\": [\"cond-resched-hok\"]}}", `f.json:2:14: params.disable[0]: unknown step "cond-resched-hok"`},
		{"misspelt klp proposal", "{\"name\": \"a\", \"kind\": \"livepatch\", \"params\": {\"functions\": [\"f\"], \"script\": [],\n \"proposed\": [\"hybrid\"]}}", `f.json:2:15: params.proposed[0]: unknown mechanism "hybrid"`},
		{"misspelt klp barrier", "{\"name\": \"a\", \"kind\": \"livepatch\", \"params\": {\"functions\": [\"f\"], \"script\": [],\n \"reorder\": [\"wmb3\"]}}", `f.json:2:14: params.reorder[0]: unknown barrier "wmb3"`},
		{"element not object", `[{"name": "a", "kind": "engine", "params": {"program": "peterson"}}, 3]`, `[1]: want a scenario object, not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenarios("f.json", []byte(tc.in))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %q\nwant %q", err, tc.want)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	if err := os.WriteFile(path, []byte(`{"name": "x", "kind": "engine", "params": {"program": "peterson"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("got %v", err)
	}
}

// The built-in catalog round-trips through the file format.
func TestBuiltinRoundTrip(t *testing.T) {
	for _, s := range Builtin() {
		data, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseScenarios(s.Name+".json", data)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if got[0].Name != s.Name || !jsonEqual(got[0].Params, s.Params) {
			t.Fatalf("%s: round trip gave %+v", s.Name, got[0])
		}
	}
}

func FuzzParseScenarios(f *testing.F) {
	f.Add([]byte(`{"name": "a", "kind": "engine", "params": {"program": "writers", "n": 3}}`))
	f.Add([]byte(`[{"name": "a", "kind": "engine", "params": {"program": "lost-update"}, "explore": {"strategy": "bounded"}}]`))
	f.Add([]byte(`{"name": "a", "kind": "engine", "params": {"program": "writers", "n": 3, "x": {"y": [1, 2]}}}`))
	f.Add([]byte(`[{"name": "a"`))
	f.Add([]byte(`{"name": "a", "name": "b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseScenarios("fuzz.json", data)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if fe.File != "fuzz.json" {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no scenarios and no error")
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

// Zero is honoured where it is a value: a seed of 0 is a seed.
func TestParseScenariosZeroSeed(t *testing.T) {
	got, err := ParseScenarios("f.json", []byte(`{"name": "a", "kind": "engine", "params": {"program": "peterson"}, "explore": {"strategy": "random", "seed": 0}, "expect": "stuck:deadlock"}`))
	if err != nil || got[0].Explore.Seed != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// Every built-in expectation is well-formed and names a property of its
// kind.
func TestBuiltinExpectations(t *testing.T) {
	for _, s := range Builtin() {
		if err := CheckExpect(s.Kind, s.Expect); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

func TestLogDiff(t *testing.T) {
	for _, tc := range []struct {
		got, want []string
		diff      string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, ""},
		{nil, []string{}, ""},
		{[]string{"a", "c"}, []string{"a", "b"}, `line 2: got "c", want "b"`},
		{[]string{"a"}, []string{"a", "b"}, `line 2: missing "b" (the log has 1 lines)`},
		{[]string{"a", "b"}, []string{"a"}, `line 2: unexpected "b" (1 lines expected)`},
	} {
		if d := LogDiff(tc.got, tc.want); d != tc.diff {
			t.Errorf("LogDiff(%q, %q) = %q, want %q", tc.got, tc.want, d, tc.diff)
		}
	}
}

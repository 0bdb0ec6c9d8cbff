package catalog

// The scenario-file loader. It lives in catalog (not in a package of its
// own) because a file is nothing but scenarios: the format is the JSON form
// of Scenario, and validation ends in the kinds' Build. It knows about
// bytes and file names (for messages) but never opens a file itself except
// in LoadFile, and never about flags or rendering.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FileFormat documents the scenario-file format; `klpcheck list` and
// docs/cli.md show it.
// It is a function, so a variant registered after start-up (poke.Register)
// is listed too.
func FileFormat() string { return fileFormatHead + "\n\n" + X86FormatDoc() }

const fileFormatHead = `A scenario file is JSON: one scenario object, or a list of them.
Every field is checked; unknown fields are rejected at every level.

  {
    "name":        "my/lost-update",     required, unique in the file
    "kind":        "engine",             required: engine, x86, livepatch, fentry, arm64 or riscv
    "description": "...",                optional
    "params":      { ... },              the kind's parameters: 'klpcheck list kinds' names
                                         them and the doc that explains them
    "explore":     {                     optional bounds; command-line flags override them
      "strategy": "dpor", "max_steps": 2000, "max_executions": 100000,
      "max_preemptions": 3, "seed": 1
    },
    "table": "...", "row": "...", "column": "...",   optional: place in a verdict table
    "expect": "violation:lost-update",  optional: the expected verdict: "safe",
                                         "violation:<property>" or "stuck:<property>"
    "expect_log": ["% insmod …", …]     optional (livepatch): the event log of the
                                         default execution, exact and in order
  }

A bound given is honoured or rejected: 0 is refused where it cannot mean
what it says (max_steps, max_executions, max_preemptions); leave a field out
for its default. 'klpcheck check' exits 1 when a verdict differs from its
scenario's expectation.`

// FileError is a problem in a scenario file, located by line, column and
// the JSON path of the offending field.
type FileError struct {
	File      string
	Line, Col int    // 1-based; 0 when unknown
	Field     string // JSON path, e.g. "[1].params.n"; "" for the whole file
	Msg       string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadFile reads and validates a scenario file.
func LoadFile(path string) ([]Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Msg: err.Error()}
	}
	return ParseScenarios(path, data)
}

// ParseScenarios parses and validates the contents of a scenario file
// named file (the name is used in messages only). Every scenario is built
// with its kind, so a nil error means every scenario can be explored.
func ParseScenarios(file string, data []byte) ([]Scenario, error) {
	p := &fileParser{file: file, data: data, keys: map[string]int{}}
	return p.parse()
}

type fileParser struct {
	file string
	data []byte
	// keys maps the JSON path of every object member (and array element)
	// to the byte offset of its key (or value).
	keys map[string]int
}

func (p *fileParser) errAt(off int, field, format string, args ...any) *FileError {
	line, col := LineCol(p.data, off)
	return &FileError{File: p.file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// errField locates a field by its path (falling back to its parents).
func (p *fileParser) errField(field, format string, args ...any) *FileError {
	for path := field; ; {
		if off, ok := p.keys[path]; ok {
			return p.errAt(off, field, format, args...)
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			break
		}
		path = path[:i]
	}
	if off, ok := p.keys[""]; ok {
		return p.errAt(off, field, format, args...)
	}
	return &FileError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// LineCol converts a byte offset into a 1-based line and column (in
// characters).
func LineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col = utf8.RuneCount(before[start:]) + 1
	return line, col
}

var scenarioFields = jsonFields(reflect.TypeFor[Scenario]())
var boundsFields = jsonFields(reflect.TypeFor[Bounds]())

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func (p *fileParser) parse() ([]Scenario, error) {
	if len(bytes.TrimSpace(p.data)) == 0 {
		return nil, &FileError{File: p.file, Line: 1, Col: 1, Msg: "empty file: want a scenario object or a list of them"}
	}
	if err := p.index(); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(p.data, " \t\r\n")
	var raws []json.RawMessage
	var prefix []string // JSON path of each element
	switch trimmed[0] {
	case '{':
		raws = []json.RawMessage{json.RawMessage(trimmed)}
		prefix = []string{""}
	case '[':
		if err := json.Unmarshal(p.data, &raws); err != nil {
			return nil, p.errAt(0, "", "%v", err)
		}
		if len(raws) == 0 {
			return nil, p.errAt(len(p.data)-len(trimmed), "", "the list holds no scenario")
		}
		for i := range raws {
			prefix = append(prefix, fmt.Sprintf("[%d]", i))
		}
	default:
		return nil, p.errAt(len(p.data)-len(trimmed), "", "want a scenario object or a list of them, not %s", describeJSON(trimmed))
	}
	var out []Scenario
	seen := map[string]string{}
	for i, raw := range raws {
		s, err := p.scenario(prefix[i], raw)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[s.Name]; dup {
			return nil, p.errField(join(prefix[i], "name"), "scenario name %q is used twice (first at %s)", s.Name, first)
		}
		seen[s.Name] = p.errField(join(prefix[i], "name"), "").location()
		out = append(out, s)
	}
	return out, nil
}

func (e *FileError) location() string {
	if e.Line == 0 {
		return e.File
	}
	return fmt.Sprintf("line %d", e.Line)
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return prefix + field
	}
	return prefix + "." + field
}

func describeJSON(b []byte) string {
	switch b[0] {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// scenario checks and decodes one scenario object found at path.
func (p *fileParser) scenario(path string, raw json.RawMessage) (Scenario, error) {
	var s Scenario
	if raw[0] != '{' {
		return s, p.errField(path, "want a scenario object, not %s", describeJSON(raw))
	}
	if err := p.checkKeys(path, scenarioFields); err != nil {
		return s, err
	}
	if err := p.checkKeys(join(path, "explore"), boundsFields); err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return s, p.errField(join(path, te.Field), "want %s, not a JSON %s", te.Type, te.Value)
		}
		return s, p.errField(path, "%v", err)
	}
	switch {
	case s.Name == "":
		return s, p.errField(join(path, "name"), "a scenario needs a non-empty name")
	case s.Kind == "":
		return s, p.errField(join(path, "kind"), "a scenario needs a kind (one of %s)", kindNames())
	}
	if _, err := KindOf(s.Kind); err != nil {
		return s, p.errField(join(path, "kind"), "%v", err)
	}
	if len(s.Params) > 0 && bytes.TrimSpace(s.Params)[0] != '{' {
		return s, p.errField(join(path, "params"), "params must be an object")
	}
	if _, err := s.Explore.Options(); err != nil {
		return s, p.errField(join(path, "explore.strategy"), "%v", err)
	}
	if s.Explore != nil && (s.Explore.MaxSteps < 0 || s.Explore.MaxExecutions < 0 || s.Explore.MaxPreemptions < 0) {
		return s, p.errField(join(path, "explore"), "bounds must not be negative")
	}
	// A bound that is present is honoured or rejected, never read as
	// "the default": absence is how a file asks for the default.
	for _, z := range zeroBounds {
		field := join(path, "explore."+z.field)
		if _, present := p.keys[field]; present && z.value(s.Explore) == 0 {
			return s, p.errField(field, "0 is not a usable bound: %s; leave the field out for the default (%s)", z.why, z.dflt)
		}
	}
	if err := CheckExpect(s.Kind, s.Expect); err != nil {
		return s, p.errField(join(path, "expect"), "%v", err)
	}
	if _, present := p.keys[join(path, "expect_log")]; present && !HasEventLog(s.Kind) {
		return s, p.errField(join(path, "expect_log"), "kind %s keeps no event log to compare with", s.Kind)
	}
	if _, err := Build(s); err != nil {
		return s, p.buildError(path, s.Name, err)
	}
	return s, nil
}

// zeroBounds are the explore fields for which 0 cannot mean what it says
// (the engine reads 0 as "use the default").
var zeroBounds = []struct {
	field, why, dflt string
	value            func(*Bounds) int64
}{
	{"max_steps", "an execution needs at least one step", "10000 steps",
		func(b *Bounds) int64 { return int64(b.MaxSteps) }},
	{"max_executions", "a search needs at least one execution", "unlimited for dpor, exhaustive and bounded; 10000 for random and pct",
		func(b *Bounds) int64 { return b.MaxExecutions }},
	{"max_preemptions", "the engine's bounded strategy cannot stop at 0 preemptions", "3",
		func(b *Bounds) int64 { return int64(b.MaxPreemptions) }},
}

var paramsField = regexp.MustCompile(`\bparams((?:\.[A-Za-z0-9_]+|\[[0-9]+\])+)`)
var unknownField = regexp.MustCompile(`unknown field "([^"]*)"`)

// buildError locates a kind's validation error: a "params.<field>" in its
// message, an unknown field or a type error from strict decoding.
func (p *fileParser) buildError(path, name string, err error) error {
	msg := err.Error()
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		// Unknown fields of nested params objects are found by name.
		return p.errField(p.findKey(join(path, "params"), m[1]), "unknown field %q", m[1])
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return p.errField(join(path, "params."+te.Field), "want %s, not a JSON %s", te.Type, te.Value)
	}
	if m := paramsField.FindStringSubmatch(msg); m != nil {
		field := join(path, "params"+m[1])
		// Drop the kind's own "scenario "x": params.f: " prefix: the
		// location says it.
		if i := strings.Index(msg, m[0]+": "); i >= 0 {
			msg = msg[i+len(m[0])+2:]
		}
		return p.errField(field, "%s", msg)
	}
	return p.errField(join(path, "params"), "%s", strings.TrimPrefix(msg, "scenario "+strconv.Quote(name)+": "))
}

// findKey finds the path of a key named name below prefix (the first, in
// file order), or prefix itself.
func (p *fileParser) findKey(prefix, name string) string {
	best, bestOff := prefix, -1
	for path, off := range p.keys {
		if strings.HasPrefix(path, prefix+".") && (strings.HasSuffix(path, "."+name)) && (bestOff < 0 || off < bestOff) {
			best, bestOff = path, off
		}
	}
	return best
}

// checkKeys rejects members of the object at path that are not allowed.
func (p *fileParser) checkKeys(path string, allowed []string) error {
	var bad []string
	for k := range p.keys {
		rest, ok := strings.CutPrefix(k, path)
		if !ok || (path != "" && !strings.HasPrefix(rest, ".")) {
			continue
		}
		rest = strings.TrimPrefix(rest, ".")
		if rest == "" || strings.ContainsAny(rest, ".[") {
			continue
		}
		if path == "" && strings.HasPrefix(k, "[") {
			continue
		}
		if !slices.Contains(allowed, rest) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Slice(bad, func(i, j int) bool { return p.keys[bad[i]] < p.keys[bad[j]] })
	name := bad[0][strings.LastIndex(bad[0], ".")+1:]
	return p.errField(bad[0], "unknown field %q (want one of %s)", name, strings.Join(allowed, ", "))
}

func kindNames() string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Name())
	}
	return strings.Join(names, ", ")
}

// index walks the whole document, recording the offset of every member
// key and array element, and rejects syntax errors and duplicate keys.
func (p *fileParser) index() error {
	dec := json.NewDecoder(bytes.NewReader(p.data))
	dec.UseNumber()
	type frame struct {
		path    string
		array   bool
		n       int  // elements seen (arrays)
		wantKey bool // objects: the next token is a key
		key     string
	}
	var stack []frame
	skip := func(off int) int {
		for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
			off++
		}
		return off
	}
	// valuePath names the value about to be read and records its offset.
	valuePath := func(off int) string {
		if len(stack) == 0 {
			p.keys[""] = off
			return ""
		}
		top := &stack[len(stack)-1]
		if top.array {
			path := fmt.Sprintf("%s[%d]", top.path, top.n)
			top.n++
			p.keys[path] = off
			return path
		}
		top.wantKey = true
		return join(top.path, top.key)
	}
	for {
		off := skip(int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return p.errAt(len(p.data), "", "unexpected end of file (truncated JSON?)")
			}
			return p.syntaxError(err, off)
		}
		if len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return p.trailing(dec)
				}
				continue
			}
			top := &stack[len(stack)-1]
			key, _ := tok.(string)
			path := join(top.path, key)
			if strings.ContainsAny(key, ".[]") {
				return p.errAt(off, join(top.path, strconv.Quote(key)), "field names must not contain '.', '[' or ']'")
			}
			if prev, dup := p.keys[path]; dup {
				line, _ := LineCol(p.data, prev)
				return p.errAt(off, path, "duplicate field (first at line %d)", line)
			}
			p.keys[path] = off
			top.key, top.wantKey = key, false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				path := valuePath(off)
				stack = append(stack, frame{path: path, wantKey: true})
			case '[':
				path := valuePath(off)
				stack = append(stack, frame{path: path, array: true})
			case ']':
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				return p.trailing(dec)
			}
			continue
		}
		valuePath(off)
		if len(stack) == 0 {
			return p.trailing(dec)
		}
	}
}

// trailing rejects anything after the top-level value.
func (p *fileParser) trailing(dec *json.Decoder) error {
	off := int(dec.InputOffset())
	if len(bytes.TrimSpace(p.data[off:])) == 0 {
		return nil
	}
	off += len(p.data[off:]) - len(bytes.TrimLeft(p.data[off:], " \t\r\n"))
	return p.errAt(off, "", "unexpected data after the top-level value")
}

func (p *fileParser) syntaxError(err error, off int) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset)
		if off > 0 {
			off-- // the offset is just past the offending byte
		}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if err.Error() == "unexpected EOF" || off >= len(bytes.TrimRight(p.data, " \t\r\n")) {
		msg = "unexpected end of file (truncated JSON?)"
	}
	return p.errAt(off, "", "invalid JSON: %s", msg)
}

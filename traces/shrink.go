package traces

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klpcheck/klpcheck/catalog"
)

// CountFields are the parameters ParamShrinker decrements by default,
// with the smallest value each may take: counts of resources a
// counterexample may not need (CPUs, executions of the patched code,
// tasks: at least 1, since 0 usually means "the default"; NMIs: down to
// 0), and optional extras to turn off. The convention holds for every
// kind's params; a kind with other knobs implements Shrinker.
func CountFields() []CountField {
	return []CountField{{"cpus", 1}, {"executions", 1}, {"nmis", 0}, {"writer_nmis", 0}, {"unrelated_int3", 0},
		{"tasks", 1}, {"threads", 1}, {"calls", 1}}
}

// CountField is a shrinkable parameter and its smallest value.
type CountField struct {
	Name string
	Min  int64
}

// ParamShrinker shrinks a scenario by decrementing integer parameters
// named in Fields (default CountFields) and turning true booleans named
// there off, one at a time, keeping only candidates the kind accepts
// (Build). It knows nothing of any model: Minimize adopts a candidate only
// if exploring it still fails the same property in no more steps.
type ParamShrinker struct {
	Fields []CountField
}

// Shrink returns the candidates: for each named field present in params,
// in Fields order, the scenario with that field one smaller.
func (p ParamShrinker) Shrink(s catalog.Scenario) []catalog.Scenario {
	fields := p.Fields
	if fields == nil {
		fields = CountFields()
	}
	if len(bytes.TrimSpace(s.Params)) == 0 {
		return nil
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(s.Params, &params); err != nil {
		return nil
	}
	var out []catalog.Scenario
	for _, cf := range fields {
		f := cf.Name
		raw, ok := params[f]
		if !ok {
			continue
		}
		var next json.RawMessage
		var desc string
		var n int64
		var b bool
		switch {
		case json.Unmarshal(raw, &n) == nil && n > cf.Min:
			next, desc = json.RawMessage(fmt.Sprint(n-1)), fmt.Sprintf("%s=%d", f, n-1)
		case json.Unmarshal(raw, &b) == nil && b:
			next, desc = json.RawMessage("false"), f+"=false"
		default:
			continue
		}
		cp := make(map[string]json.RawMessage, len(params))
		for k, v := range params {
			cp[k] = v
		}
		cp[f] = next
		data, err := json.Marshal(cp) // keys sorted: deterministic
		if err != nil {
			continue
		}
		c := s
		c.Params = data
		c.Name = shrunkName(s.Name, desc)
		c.Expect = ""
		if _, err := catalog.Build(c); err != nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// shrunkName appends a change to a scenario name: "x [shrunk: cpus=2]",
// then "x [shrunk: cpus=2, nmis=0]".
func shrunkName(name, change string) string {
	if bytes.HasSuffix([]byte(name), []byte("]")) {
		if i := bytes.LastIndex([]byte(name), []byte(" [shrunk: ")); i >= 0 {
			return name[:len(name)-1] + ", " + change + "]"
		}
	}
	return name + " [shrunk: " + change + "]"
}

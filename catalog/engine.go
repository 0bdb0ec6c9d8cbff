package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/klpcheck/klpcheck/explore"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// EngineParams are the parameters of an engine example scenario.
type EngineParams struct {
	// Program is one of the explore package's examples: independent,
	// writers, readers, lastzero, indexer, lost-update, peterson,
	// peterson-broken, lock-inversion.
	Program string `json:"program"`
	// N sizes the programs that take a size.
	N int `json:"n,omitempty"`
}

type engineKind struct{}

// Engine is the kind of the engine's own example programs.
func Engine() Kind { return engineKind{} }

func (engineKind) Name() string { return "engine" }

var engineSized = map[string]func(int) explore.Program{
	"independent": explore.Independent,
	"writers":     explore.Writers,
	"readers":     explore.Readers,
	"lastzero":    explore.LastZero,
	"indexer":     explore.Indexer,
}

func (engineKind) Build(s Scenario) (explore.Program, error) {
	var p EngineParams
	if err := DecodeParams(s, &p); err != nil {
		return nil, err
	}
	if f, ok := engineSized[p.Program]; ok {
		if p.N < 1 || p.N > 16 {
			return nil, fmt.Errorf("scenario %q: params.n: %d is out of range 1..16", s.Name, p.N)
		}
		return f(p.N), nil
	}
	switch p.Program {
	case "lost-update":
		return explore.LostUpdate(), nil
	case "peterson":
		return explore.Peterson(true), nil
	case "peterson-broken":
		return explore.Peterson(false), nil
	case "lock-inversion":
		return explore.LockInversion(), nil
	}
	return nil, fmt.Errorf("scenario %q: params.program: unknown engine program %q", s.Name, p.Program)
}

func engineScenario(name, desc, program string, n int, expect string) Scenario {
	params, _ := json.Marshal(EngineParams{Program: program, N: n})
	return Scenario{Name: "engine/" + name, Kind: "engine", Description: desc, Params: params,
		Table: "engine", Row: name, Column: "dpor", Expect: expect}
}

func (engineKind) Builtin() []Scenario {
	return []Scenario{
		engineScenario("independent-4", "4 threads writing private variables: 1 trace", "independent", 4, "safe"),
		engineScenario("writers-4", "4 threads writing one variable: 4! = 24 traces", "writers", 4, "safe"),
		engineScenario("readers-6", "one writer and 6 readers of one variable: 2^6 = 64 traces", "readers", 6, "safe"),
		engineScenario("lastzero-5", "lastzero(5) from the optimal-DPOR literature", "lastzero", 5, "safe"),
		engineScenario("indexer-12", "indexer(12): hash-table inserts with CAS, first collisions", "indexer", 12, "safe"),
		engineScenario("lost-update", "two unsynchronised increments", "lost-update", 0, "violation:lost-update"),
		engineScenario("peterson", "Peterson's mutual exclusion", "peterson", 0, "safe"),
		engineScenario("peterson-broken", "Peterson without the turn variable", "peterson-broken", 0, "violation:mutual-exclusion"),
		engineScenario("lock-inversion", "two locks taken in opposite orders", "lock-inversion", 0, "violation:deadlock"),
	}
}

func (engineKind) Properties() []Property {
	return []Property{
		{"lost-update", "two increments of a counter both take effect"},
		{"mutual-exclusion", "at most one thread is in the critical section"},
		{"deadlock", "some thread can always proceed"},
		{"panic", "no thread panics"},
	}
}

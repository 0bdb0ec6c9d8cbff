package model

import (
	"fmt"
	"strconv"
	"strings"
)

// FetchKind is the family of a fetch model.
type FetchKind uint8

const (
	// Bytewise fetches each byte in its own step, in ascending order,
	// reading memory as it is at that step.
	Bytewise FetchKind = iota
	// Block reads an aligned N-byte block atomically when the instruction
	// needs bytes from it.
	Block
	// Stale keeps N-byte lines per CPU; a fetch may use the cached
	// (possibly stale) line or refill it (a choice point); a serializing
	// event drops the CPU's lines.
	Stale
)

// FetchModel is how CPUs read instruction bytes (DESIGN.md §3).
type FetchModel struct {
	Kind FetchKind
	N    int // block or line size; 1 for bytewise
}

// ParseFetchModel reads "bytewise", "block:N" or "stale:N" (N = 8, 16, 32
// or 64).
func ParseFetchModel(s string) (FetchModel, error) {
	if s == "bytewise" {
		return FetchModel{Bytewise, 1}, nil
	}
	kind, num, ok := strings.Cut(s, ":")
	if ok && (kind == "block" || kind == "stale") {
		n, err := strconv.Atoi(num)
		if err == nil && (n == 8 || n == 16 || n == 32 || n == 64) {
			k := Block
			if kind == "stale" {
				k = Stale
			}
			return FetchModel{k, n}, nil
		}
		return FetchModel{}, fmt.Errorf("fetch model %q: the size must be 8, 16, 32 or 64", s)
	}
	return FetchModel{}, fmt.Errorf("unknown fetch model %q (want bytewise, block:N or stale:N with N = 8, 16, 32, 64)", s)
}

func (f FetchModel) String() string {
	switch f.Kind {
	case Block:
		return fmt.Sprintf("block:%d", f.N)
	case Stale:
		return fmt.Sprintf("stale:%d", f.N)
	}
	return "bytewise"
}

// Unit is the aligned size of one fetch step.
func (f FetchModel) Unit() int {
	if f.Kind == Bytewise {
		return 1
	}
	return f.N
}

package arm64

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/cmodx"
	"github.com/klpcheck/klpcheck/explore"
)

// Litmus is an instruction-fetch litmus test in the shape of herdtools7's
// aarch64-ifetch catalogue: code locations that hold "B" (a branch over
// the MOV that sets a register), "NOP" (which falls into it) or "B2" (a
// branch to a third path), threads of operations, and an exists clause
// over the final registers and data.
//
// Operations (one per string, herd's names):
//
//	store L NOP|B|B2  STR of an instruction to code location L
//	dc L            DC CVAU of L, completed by the DSB ISH that follows it
//	ic L            IC IVAU of L, completed by the DSB ISH that follows it
//	isb             ISB (a context synchronisation event)
//	dmb | dsb       barriers: no effect on the model's sequentially
//	                consistent data side (DSBs completing DC/IC are in them)
//	exec L Xn       branch to L and run it: Xn := 1 if it executes NOP
//	                (falling into "MOV Wn,#1"), 0 if it executes B, 2 if B2
//	write x v       STR of v to data location x
//	read x Xn       LDR of data location x into Xn
//	load L Xn       LDR of code location L: Xn := 1 if it holds NOP, 0 for
//	                B, 2 for B2
//
// The exists clause is a conjunction of "T:Xn=v" (a register of thread
// T) and "x=v" (the final value of data location x).
type Litmus struct {
	Name    string            `json:"name"`
	Code    map[string]string `json:"code"`
	Data    map[string]int    `json:"data,omitempty"`
	Threads [][]string        `json:"threads"`
	Exists  string            `json:"exists"`
	// IDC runs the test on hardware with CTR_EL0.IDC set (herd's
	// "CacheType=IDC", the DIC0-IDC1 tests).
	IDC bool `json:"idc,omitempty"`
}

type litmusOp struct {
	kind string
	loc  string
	val  int
	reg  int
}

type litmusCond struct {
	thread, reg, val int
	data             string // a data location instead of a register
}

type litmusTest struct {
	labels  []string
	addr    map[string]uint64
	init    map[string]int // 0: B, 1: NOP, 2: B2
	data    []string
	dinit   map[string]int
	threads [][]litmusOp
	exists  []litmusCond
}

func parseReg(s string) (int, error) {
	if len(s) < 2 || (s[0] != 'X' && s[0] != 'W') {
		return 0, fmt.Errorf("%q is not a register (X0..X30)", s)
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n > 30 {
		return 0, fmt.Errorf("%q is not a register (X0..X30)", s)
	}
	return n, nil
}

func parseInsnName(s string) (int, error) {
	switch s {
	case "B":
		return 0, nil
	case "NOP":
		return 1, nil
	case "B2":
		return 2, nil
	}
	return 0, fmt.Errorf("%q: a code location holds NOP, B or B2", s)
}

// litmusWords are the encodings of B (b .+8, over the MOV), NOP and B2
// (b .+12, to a third path).
var litmusWords = [3]uint32{0x14000002, NOP, 0x14000003}

func litmusValue(b []byte) int {
	for i, w := range litmusWords {
		if bytes.Equal(b, Word(w)) {
			return i
		}
	}
	return -1
}

func (l *Litmus) parse() (*litmusTest, error) {
	lt := &litmusTest{addr: map[string]uint64{}, init: map[string]int{}, dinit: map[string]int{}}
	if len(l.Code) == 0 {
		return nil, fmt.Errorf("code: at least one code location")
	}
	for k := range l.Code {
		lt.labels = append(lt.labels, k)
	}
	sort.Strings(lt.labels)
	for i, k := range lt.labels {
		v, err := parseInsnName(l.Code[k])
		if err != nil {
			return nil, fmt.Errorf("code.%s: %v", k, err)
		}
		lt.addr[k], lt.init[k] = Base+uint64(16*i), v
	}
	for k, v := range l.Data {
		lt.data = append(lt.data, k)
		lt.dinit[k] = v
	}
	if len(l.Threads) == 0 || len(l.Threads) > 4 {
		return nil, fmt.Errorf("threads: %d threads; want 1..4", len(l.Threads))
	}
	for ti, th := range l.Threads {
		var ops []litmusOp
		for oi, s := range th {
			f := strings.Fields(s)
			bad := func(format string, args ...any) error {
				return fmt.Errorf("threads[%d][%d]: %q: %s", ti, oi, s, fmt.Sprintf(format, args...))
			}
			if len(f) == 0 {
				return nil, bad("empty operation")
			}
			op := litmusOp{kind: f[0]}
			want := map[string]int{"store": 3, "dc": 2, "ic": 2, "isb": 1, "dmb": 1, "dsb": 1, "exec": 3, "write": 3, "read": 3, "load": 3}[f[0]]
			if want == 0 {
				return nil, bad("unknown operation (want store, dc, ic, isb, dmb, dsb, exec, load, write, read)")
			}
			if len(f) != want {
				return nil, bad("%s takes %d operands", f[0], want-1)
			}
			switch f[0] {
			case "store", "dc", "ic", "exec", "load":
				if _, ok := lt.addr[f[1]]; !ok {
					return nil, bad("%s is not a code location", f[1])
				}
				op.loc = f[1]
			case "write", "read":
				if _, ok := lt.dinit[f[1]]; !ok {
					// An undeclared data location starts at 0.
					lt.data = append(lt.data, f[1])
					lt.dinit[f[1]] = 0
				}
				op.loc = f[1]
			}
			var err error
			switch f[0] {
			case "store":
				if op.val, err = parseInsnName(f[2]); err != nil {
					return nil, bad("%v", err)
				}
			case "exec", "read", "load":
				if op.reg, err = parseReg(f[2]); err != nil {
					return nil, bad("%v", err)
				}
			case "write":
				if op.val, err = strconv.Atoi(f[2]); err != nil {
					return nil, bad("%q is not an integer", f[2])
				}
			}
			ops = append(ops, op)
		}
		lt.threads = append(lt.threads, ops)
	}
	sort.Strings(lt.data)
	for _, c := range strings.Split(l.Exists, `/\`) {
		c = strings.TrimSpace(c)
		if loc, val, ok := strings.Cut(c, "="); ok && !strings.Contains(loc, ":") {
			v, err := strconv.Atoi(val)
			if err != nil {
				return nil, fmt.Errorf("exists: %q: %q is not an integer", c, val)
			}
			if _, ok := lt.dinit[loc]; !ok {
				return nil, fmt.Errorf("exists: %q: %s is not a data location of the test", c, loc)
			}
			lt.exists = append(lt.exists, litmusCond{data: loc, val: v})
			continue
		}
		th, rest, ok1 := strings.Cut(c, ":")
		reg, val, ok2 := strings.Cut(rest, "=")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("exists: %q is not T:Xn=v", c)
		}
		ti, err := strconv.Atoi(th)
		if err != nil || ti < 0 || ti >= len(lt.threads) {
			return nil, fmt.Errorf("exists: %q: no thread %s", c, th)
		}
		r, err := parseReg(reg)
		if err != nil {
			return nil, fmt.Errorf("exists: %q: %v", c, err)
		}
		v, err := strconv.Atoi(val)
		if err != nil {
			return nil, fmt.Errorf("exists: %q: %q is not an integer", c, val)
		}
		lt.exists = append(lt.exists, litmusCond{thread: ti, reg: r, val: v})
	}
	return lt, nil
}

// Validate checks a litmus test.
func (l *Litmus) Validate() error {
	_, err := l.parse()
	return err
}

// LitmusProgram builds a litmus test as a program whose property prop
// fails when the exists clause holds at the end: a "violation" says the
// model allows the outcome, "safe" that it forbids it.
func LitmusProgram(l *Litmus, prop string) (explore.Program, error) {
	lt, err := l.parse()
	if err != nil {
		return nil, err
	}
	layout := &cmodx.Layout{Base: Base, Unit: 4, Syms: map[uint64]string{}}
	for _, k := range lt.labels {
		layout.Image = append(layout.Image, Word(litmusWords[lt.init[k]])...)
		layout.Image = append(layout.Image, Word(0x52800020)...) // mov w0, #1 (stands for MOV Wn,#1)
		layout.Image = append(layout.Image, Word(NOP)...)
		layout.Image = append(layout.Image, Word(NOP)...)
		layout.Syms[lt.addr[k]] = k
	}
	isa := ISA{IDC: l.IDC}
	if err := cmodx.FinishLayout(isa, layout); err != nil {
		return nil, err
	}
	return func(sys *explore.System) {
		m := cmodx.NewMachine(sys, isa, layout, cmodx.Config{CPUs: len(lt.threads)})
		sys.SetModel(m)
		vars := map[string]*explore.Var[int]{}
		for _, d := range lt.data {
			vars[d] = explore.NewVar(sys, d, lt.dinit[d])
		}
		regs := make([][31]int, len(lt.threads))
		for ti, ops := range lt.threads {
			c := m.CPUs[ti]
			sys.Go(fmt.Sprintf("P%d", ti), func(t *explore.Thread) {
				for _, op := range ops {
					switch op.kind {
					case "store":
						m.Store(t, lt.addr[op.loc], Word(litmusWords[op.val]))
					case "dc":
						m.DCCVAU(t, lt.addr[op.loc], 4)
					case "ic":
						m.ICIVAU(t, lt.addr[op.loc], 4)
					case "isb":
						c.ISB(t)
					case "dmb", "dsb":
					case "exec":
						b, ok := c.FetchInsn(t, lt.addr[op.loc])
						if !ok {
							return
						}
						regs[ti][op.reg] = litmusValue(b)
					case "load":
						regs[ti][op.reg] = litmusValue(m.LoadText(t, lt.addr[op.loc], 4))
					case "write":
						vars[op.loc].Store(t, op.val)
					case "read":
						regs[ti][op.reg] = vars[op.loc].Load(t)
					}
				}
			})
		}
		sys.AtEnd(prop, func() error {
			var parts []string
			for _, c := range lt.exists {
				if c.data != "" {
					if vars[c.data].Peek() != c.val {
						return nil
					}
					parts = append(parts, fmt.Sprintf("%s=%d", c.data, c.val))
					continue
				}
				if regs[c.thread][c.reg] != c.val {
					return nil
				}
				parts = append(parts, fmt.Sprintf("%d:X%d=%d", c.thread, c.reg, c.val))
			}
			return &explore.Failure{Property: prop, Thread: -1,
				Message: fmt.Sprintf("%s: the final state %s is reachable (the model allows it).", l.Name, strings.Join(parts, ` /\ `))}
		})
	}, nil
}

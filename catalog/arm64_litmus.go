package catalog

import (
	"strings"

	"github.com/klpcheck/klpcheck/arch/arm64"
)

// arm64LitmusTest is a transcription of a herdtools7 aarch64-ifetch test
// (catalogue/aarch64-ifetch/tests/DIC0-IDC0/<name>.litmus) with the
// verdict catalogue/aarch64-ifetch/tests/kinds.txt gives it.
type arm64LitmusTest struct {
	litmus  arm64.Litmus
	herd    string // "Allowed" or "Forbidden"
	idc1    string // herd's verdict for IDC1.<name> (CacheType=IDC)
	model   string // what klpcheck computes, when it disagrees ("" = agrees)
	explain string // why it disagrees
}

// LitmusTable and LitmusTableIDC1 are the titles of the agreement
// tables.
const (
	LitmusTable     = "arm64 litmus (herdtools7 aarch64-ifetch, DIC0-IDC0): cell = klpcheck's verdict"
	LitmusTableIDC1 = "arm64 litmus (herdtools7 aarch64-ifetch, DIC0-IDC1: CacheType=IDC): cell = klpcheck's verdict"
	LitmusTableESOP = "arm64 litmus (ESOP 2020 tests not in the catalogue, shapes from their names): cell = klpcheck's verdict"
)

// esopLitmusTests are tests of Simner et al.'s verdict table (ESOP 2020)
// with no file in herd's catalogue at the commit read: their shapes are
// reconstructed from the systematic test names (the paper's text was not
// at hand), their verdicts are the paper's architectural intent.
func esopLitmusTests() []arm64LitmusTest {
	l := map[string]string{"L": "B"}
	return []arm64LitmusTest{
		{litmus: lit("CoFR", l, `1:X1=1 /\ 1:X2=0`, th("store L NOP"), th("exec L X1", "load L X2")), herd: "Forbidden"},
		{litmus: lit("CoRF+ctrl-isb", l, `1:X1=1 /\ 1:X2=0`, th("store L NOP"), th("load L X1", "isb", "exec L X2")), herd: "Allowed"},
		{litmus: lit("ISA2.F+dc+ic+ctrl-isb", l, `1:X1=1 /\ 2:X2=1 /\ 2:X3=0`,
			th("store L NOP", "dc L", "write x 1"), th("read x X1", "ic L", "write y 1"), th("read y X2", "isb", "exec L X3")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dc+ctrl-isb-isb", l, `1:X1=1 /\ 1:X2=0`, th("store L NOP", "dc L", "write x 1"), th("read x X1", "isb", "isb", "exec L X2")), herd: "Allowed"},
		{litmus: lit("MP.RF+dmb+addr-cachesync", l, `1:X1=1 /\ 1:X2=0`, th("store L NOP", "dmb", "write x 1"), th("read x X1", "dc L", "ic L", "exec L X2")), herd: "Allowed"},
	}
}

// idc1Verdicts are kinds.txt's verdicts of the IDC1 versions of the
// transcribed tests (the same code with CacheType=IDC).
var idc1Verdicts = map[string]string{
	"SM.B+isb": "Allowed", "SM.B+dc.cvau-dsb.ish": "Allowed", "SM.B+dc.cvau-dsb.ish-isb": "Allowed",
	"SM.B+dsb.ish-ic.ivau-dsb.ish-isb": "Forbidden", "SM.B+cachesync-isb": "Forbidden", "2SM.B+cachesync-isb": "Forbidden",
	"MP.FF+dmb.st+po": "Allowed", "MP.FF+dc.cvau-dsb.ish+po": "Allowed", "MP.FF+dmb.st+cachesync": "Allowed",
	"MP.FF+dmb.st+cachesync-isb": "Forbidden", "MP.FF+dmb.st+ic-dsb-isb": "Forbidden", "MP.FF+dmb.st+dc-dsb-isb": "Allowed",
	"MP.FF+dc-dsb+ic-dsb-isb": "Forbidden", "MP.FF+dc.cvau-dsb.ish+ic.vau-dsb.ish": "Allowed",
	"MP.FF+dc.cvau-dsb.ish+ic.vau-dsb.ish-isb": "Forbidden", "MP.RF+dmb.st+ctrlisb": "Allowed",
	"MP.RF+cachesync+ctrlisb": "Forbidden", "MP.RF+dc-dsb-ic-dsb+addr": "Allowed", "MP.RF+dc-dsb-ic-dsb+ctrlisb": "Forbidden",
	"MP.RF+dsb-ic-dsb+ctrlisb": "Forbidden", "MP.RF+dc-dsb+ctrlisb-ic-dsb-isb": "Forbidden",
	"MP.RF+dmb.st+ctrlisb-ic-dsb-isb": "Forbidden", "MP.RF+dmb.st+dsb.ish-ic.ivau-dsb.ish-isb": "Forbidden",
	"MP.RF+dmb.st+dmb.ish-dc-dsb-ic-dsb-isb": "Forbidden", "MP.RF+dmb.st+dmb.ld-dc-dsb-ic-dsb-isb": "Forbidden",
	"MP.FR+dmb.st+po": "Forbidden", "SB.RF+dmb+dmb.ish-cachesync-isb": "Forbidden", "SB.RF+dmb+dmb.st-cachesync-isb": "Forbidden",
	"MP.FF+dsb.ish+po": "Allowed", "MP.RF+cachesync+dsb-isb": "Forbidden", "MP.RF+dc-dsb-ic-dsb+dsb.ld-isb": "Forbidden",
	"MP.RF+dmb.st+dsb.ish-isb": "Allowed", "MP.RF+dc.cvau-dmb.ish+dsb.ish-ic.ivau-dsb.ish-isb": "Forbidden",
	"S.RF-dsb-iccvau-dsb-isb": "Forbidden", "MP.FR+dmb.st+isb": "Forbidden", "MP.FW+dmb.st+po": "Forbidden",
	"LB.RF+dmb.sy+po": "Forbidden", "SB-bnop-cachesyncs1": "Forbidden", "SB-bnop-cachesyncs1-reordered": "Allowed",
	"coFF": "Allowed", "coFF+cachesync": "Forbidden", "coFW-1": "Forbidden", "icc2": "Forbidden", "dcc2": "Forbidden",
	"WRC-inst+cachesync+ctrlisb": "Allowed", "WRC-inst+cachesync+ctrlisb-2": "Forbidden",
}

func lit(name string, code map[string]string, exists string, threads ...[]string) arm64.Litmus {
	return arm64.Litmus{Name: name, Code: code, Threads: threads, Exists: exists}
}

func th(ops ...string) []string { return ops }

// arm64LitmusTests is the transcribed set, in the order of the docs'
// agreement table. "dc L" and "ic L" stand for the maintenance
// instruction with the DSB ISH that completes it, as in every test here.
func arm64LitmusTests() []arm64LitmusTest {
	m0 := map[string]string{"m0": "B"}
	two := map[string]string{"Lself00": "B", "Lself01": "B"}
	mpff := func(p0 ...string) []string {
		return append([]string{"store Lself00 NOP"}, append(p0, "store Lself01 NOP")...)
	}
	const ffExists = `1:X10=1 /\ 1:X11=0`
	const rfExists = `1:X2=1 /\ 1:X9=0`
	sc := "the model's data side is sequentially consistent and its DC/IC operations take effect in program order, so a barrier weaker than DMB ISH (DMB ST, DMB LD) orders them as strongly as a full one; herd's model lets the DC CVAU be satisfied before the earlier access it is not ordered with"
	return []arm64LitmusTest{
		{litmus: lit("SM.B+isb", m0, "0:X9=0", th("store m0 NOP", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("SM.B+dc.cvau-dsb.ish", m0, "0:X9=0", th("store m0 NOP", "dc m0", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("SM.B+dc.cvau-dsb.ish-isb", m0, "0:X9=0", th("store m0 NOP", "dc m0", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("SM.B+dsb.ish-ic.ivau-dsb.ish-isb", m0, "0:X9=0", th("store m0 NOP", "dsb", "ic m0", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("SM.B+cachesync-isb", m0, "0:X9=0", th("store m0 NOP", "dc m0", "ic m0", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("2SM.B+cachesync-isb", map[string]string{"L0": "B"}, `1:X3=1 /\ 1:X9=0`,
			th("store L0 NOP"), th("load L0 X3", "dc L0", "ic L0", "isb", "exec L0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.FF+dmb.st+po", two, ffExists, mpff("dmb"), th("exec Lself01 X10", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dc.cvau-dsb.ish+po", two, ffExists, mpff("dc Lself00"), th("exec Lself01 X10", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dmb.st+cachesync", two, ffExists, mpff("dmb"), th("exec Lself01 X10", "dc Lself00", "ic Lself00", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dmb.st+cachesync-isb", two, ffExists, mpff("dmb"), th("exec Lself01 X10", "dc Lself00", "ic Lself00", "isb", "exec Lself00 X11")), herd: "Forbidden"},
		{litmus: lit("MP.FF+dmb.st+ic-dsb-isb", two, ffExists, mpff("dmb"), th("exec Lself01 X10", "ic Lself00", "isb", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dmb.st+dc-dsb-isb", two, ffExists, mpff("dmb"), th("exec Lself01 X10", "dc Lself00", "isb", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dc-dsb+ic-dsb-isb", two, ffExists, mpff("dc Lself00"), th("exec Lself01 X10", "ic Lself00", "isb", "exec Lself00 X11")), herd: "Forbidden"},
		{litmus: lit("MP.FF+dc.cvau-dsb.ish+ic.vau-dsb.ish", map[string]string{"L0": "B", "L1": "B"}, ffExists,
			th("store L1 NOP", "dc L1", "store L0 NOP"), th("exec L0 X10", "ic L1", "exec L1 X11")), herd: "Allowed"},
		{litmus: lit("MP.FF+dc.cvau-dsb.ish+ic.vau-dsb.ish-isb", map[string]string{"L0": "B", "L1": "B"}, ffExists,
			th("store L1 NOP", "dc L1", "store L0 NOP"), th("exec L0 X10", "ic L1", "isb", "exec L1 X11")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dmb.st+ctrlisb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+cachesync+ctrlisb", m0, rfExists, th("store m0 NOP", "dc m0", "ic m0", "write z 1"), th("read z X2", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dc-dsb-ic-dsb+addr", m0, `1:X8=1 /\ 1:X9=0`, th("store m0 NOP", "dc m0", "ic m0", "write z 1"), th("read z X8", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+dc-dsb-ic-dsb+ctrlisb", m0, rfExists, th("store m0 NOP", "dc m0", "ic m0", "write z 1"), th("read z X2", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dsb-ic-dsb+ctrlisb", m0, rfExists, th("store m0 NOP", "dsb", "ic m0", "write z 1"), th("read z X2", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+dc-dsb+ctrlisb-ic-dsb-isb", m0, rfExists, th("store m0 NOP", "dc m0", "write z 1"), th("read z X2", "isb", "ic m0", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dmb.st+ctrlisb-ic-dsb-isb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "isb", "ic m0", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+dmb.st+dsb.ish-ic.ivau-dsb.ish-isb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "dsb", "ic m0", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+dmb.st+dmb.ish-dc-dsb-ic-dsb-isb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "dmb", "dc m0", "ic m0", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dmb.st+dmb.ld-dc-dsb-ic-dsb-isb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "dmb", "dc m0", "ic m0", "isb", "exec m0 X9")), herd: "Allowed",
			model: "Forbidden", explain: "DMB LD does not order the LDR of z before the DC CVAU (a DC is not a load); " + sc},
		{litmus: lit("MP.FR+dmb.st+po", map[string]string{"Lself": "B"}, `1:X9=1 /\ 1:X2=0`, th("write x 1", "dmb", "store Lself NOP"), th("exec Lself X9", "read x X2")), herd: "Forbidden"},
		{litmus: lit("SB.RF+dmb+dmb.ish-cachesync-isb", m0, `0:X2=0 /\ 1:X9=0`, th("store m0 NOP", "dmb", "read z X2"), th("write z 1", "dmb", "dc m0", "ic m0", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("SB.RF+dmb+dmb.st-cachesync-isb", m0, `0:X2=0 /\ 1:X9=0`, th("store m0 NOP", "dmb", "read z X2"), th("write z 1", "dmb", "dc m0", "ic m0", "isb", "exec m0 X9")), herd: "Allowed",
			model: "Forbidden", explain: "DMB ST orders stores only, not the STR of z before the DC CVAU; " + sc},
		{litmus: lit("MP.FF+dsb.ish+po", two, ffExists, mpff("dsb"), th("exec Lself01 X10", "exec Lself00 X11")), herd: "Allowed"},
		{litmus: lit("MP.RF+cachesync+dsb-isb", m0, rfExists, th("store m0 NOP", "dc m0", "ic m0", "write z 1"), th("read z X2", "dsb", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dc-dsb-ic-dsb+dsb.ld-isb", m0, rfExists, th("store m0 NOP", "dc m0", "ic m0", "write z 1"), th("read z X2", "dsb", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("MP.RF+dmb.st+dsb.ish-isb", m0, rfExists, th("store m0 NOP", "dmb", "write z 1"), th("read z X2", "dsb", "isb", "exec m0 X9")), herd: "Allowed"},
		{litmus: lit("MP.RF+dc.cvau-dmb.ish+dsb.ish-ic.ivau-dsb.ish-isb", m0, rfExists, th("store m0 NOP", "dc m0", "dmb", "write z 1"), th("read z X2", "dsb", "ic m0", "isb", "exec m0 X9")), herd: "Forbidden"},
		{litmus: lit("S.RF-dsb-iccvau-dsb-isb", map[string]string{"mod": "B"}, `1:X8=1 /\ 1:X9=0`,
			th("store mod NOP"), th("load mod X8", "dsb", "ic mod", "isb", "exec mod X9")), herd: "Allowed"},
		{litmus: lit("MP.FR+dmb.st+isb", map[string]string{"Lself01": "B"}, `1:X9=1 /\ 1:X0=0`, th("write x 1", "dmb", "store Lself01 NOP"), th("exec Lself01 X9", "isb", "read x X0")), herd: "Forbidden"},
		{litmus: lit("MP.FW+dmb.st+po", map[string]string{"Lself01": "B"}, `1:X9=1 /\ x=1`, th("write x 1", "dmb", "store Lself01 NOP"), th("exec Lself01 X9", "write x 2")), herd: "Forbidden"},
		{litmus: lit("LB.RF+dmb.sy+po", map[string]string{"Lself01": "B"}, `0:X0=1 /\ 1:X9=1`, th("read x X0", "dmb", "store Lself01 NOP"), th("exec Lself01 X9", "write x 1")), herd: "Forbidden"},
		{litmus: lit("SB-bnop-cachesyncs1", map[string]string{"M0": "B", "M1": "B"}, `0:X9=0 /\ 1:X9=0`,
			th("store M0 NOP", "dsb", "isb", "exec M1 X9"), th("store M1 NOP", "dc M1", "ic M1", "dc M0", "ic M0", "isb", "exec M0 X9")), herd: "Forbidden"},
		{litmus: lit("SB-bnop-cachesyncs1-reordered", map[string]string{"M0": "B", "M1": "B"}, `0:X9=0 /\ 1:X9=0`,
			th("store M0 NOP", "dsb", "isb", "exec M1 X9"), th("store M1 NOP", "dsb", "dc M0", "ic M0", "dc M1", "ic M1", "isb", "exec M0 X9")), herd: "Allowed"},
		{litmus: lit("coFF", map[string]string{"L0": "B"}, `1:X1=1 /\ 1:X2=0`, th("store L0 NOP"), th("exec L0 X1", "exec L0 X2")), herd: "Allowed"},
		// herd numbers the paths NOP 2, B j1 1, B j0 0; here NOP is 1 and B2 2.
		{litmus: lit("coFF+cachesync", map[string]string{"l1": "B"}, `1:X1=1 /\ 1:X2=0`,
			th("store l1 B2", "dc l1", "ic l1", "store l1 NOP"), th("exec l1 X1", "exec l1 X2")), herd: "Forbidden"},
		{litmus: lit("coFW-1", map[string]string{"l1": "B"}, "0:X2=1", th("exec l1 X2", "store l1 NOP")), herd: "Forbidden"},
		{litmus: lit("icc2", map[string]string{"mod": "B"}, rfExists, th("store mod NOP", "dc mod", "ic mod", "write z 1"), th("read z X2", "dsb", "isb", "exec mod X9")), herd: "Forbidden"},
		{litmus: lit("dcc2", map[string]string{"mod": "B"}, rfExists, th("store mod NOP", "dc mod", "write z 1"), th("read z X2", "dsb", "ic mod", "isb", "exec mod X9")), herd: "Forbidden"},
		// tests/MP.FF+dc.cvau-dsb.ish-ic.ivau-dsb.ish+po.litmus (ESOP's
		// MP.FF+cachesync+fpo): m0 starts as NOP and becomes B, m1 starts
		// as B and becomes NOP; "X10=0 ∧ X11=0" is herd's "X9=1": the new
		// m0 with the old m1.
		{litmus: lit("MP.FF+dc.cvau-dsb.ish-ic.ivau-dsb.ish+po", map[string]string{"m0": "NOP", "m1": "B"}, `1:X10=0 /\ 1:X11=0`,
			th("store m1 NOP", "dc m1", "ic m1", "store m0 B"), th("exec m0 X10", "exec m1 X11")), herd: "Forbidden"},
		{litmus: lit("WRC-inst+cachesync+ctrlisb", map[string]string{"mod": "B"}, `1:X9=1 /\ 2:X2=1 /\ 2:X9=0`,
			th("store mod NOP", "dc mod", "ic mod", "isb"), th("exec mod X9", "write x 1"), th("read x X2", "isb", "exec mod X9")), herd: "Allowed"},
		{litmus: lit("WRC-inst+cachesync+ctrlisb-2", map[string]string{"mod": "B"}, `1:X9=1 /\ 2:X2=1 /\ 2:X9=0`,
			th("store mod NOP"), th("exec mod X9", "dc mod", "ic mod", "write x 1"), th("read x X2", "isb", "exec mod X9")), herd: "Forbidden"},
	}
}

// Arm64LitmusAgreement lists each transcribed test with herd's verdict,
// the verdict the model is documented to compute, the explanation of a
// disagreement, and herd's verdict of the test's IDC1 version (the
// docs' table; tests check it against exploration).
func Arm64LitmusAgreement() [][5]string {
	var out [][5]string
	for _, lt := range arm64LitmusTests() {
		model := lt.model
		if model == "" {
			model = lt.herd
		}
		out = append(out, [5]string{lt.litmus.Name, lt.herd, model, lt.explain, idc1Verdicts[lt.litmus.Name]})
	}
	return out
}

func arm64LitmusScenarios() []Scenario {
	var out []Scenario
	for _, lt := range arm64LitmusTests() {
		l := lt.litmus
		verdict := lt.herd
		if lt.model != "" {
			verdict = lt.model
		}
		expect := "safe"
		if verdict == "Allowed" {
			expect = "violation:exists"
		}
		desc := "herdtools7 aarch64-ifetch " + l.Name + " (" + lt.herd + ")"
		if lt.explain != "" {
			desc += "; klpcheck computes " + lt.model + ": " + lt.explain
		}
		s := arm64Scenario("litmus/"+l.Name, LitmusTable, l.Name, "herd7: "+lt.herd, desc, Arm64Params{Litmus: &l}, expect)
		s.Name = "arm64/litmus/" + strings.ReplaceAll(l.Name, "/", "_")
		out = append(out, s)
	}
	// The same tests on IDC=1 hardware, against herd's IDC1 verdicts: the
	// model agrees on all of them (the two data-side disagreements vanish,
	// since no DC CVAU is needed there).
	for _, lt := range arm64LitmusTests() {
		l := lt.litmus
		l.IDC = true
		v := idc1Verdicts[l.Name]
		if v == "" {
			continue // no IDC1 version in the catalogue
		}
		expect := "safe"
		if v == "Allowed" {
			expect = "violation:exists"
		}
		s := arm64Scenario("litmus-idc1/"+l.Name, LitmusTableIDC1, "IDC1."+l.Name, "herd7: "+v,
			"herdtools7 aarch64-ifetch IDC1."+l.Name+" ("+v+"): the same test with CacheType=IDC", Arm64Params{Litmus: &l}, expect)
		out = append(out, s)
	}
	for _, lt := range esopLitmusTests() {
		l := lt.litmus
		expect := "safe"
		if lt.herd == "Allowed" {
			expect = "violation:exists"
		}
		out = append(out, arm64Scenario("litmus-esop/"+l.Name, LitmusTableESOP, l.Name, "ESOP 2020: "+lt.herd,
			"Simner et al. ESOP 2020 "+l.Name+" ("+lt.herd+"), shape reconstructed from its name", Arm64Params{Litmus: &l}, expect))
	}
	return out
}

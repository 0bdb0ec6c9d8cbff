package catalog

import (
	"strings"

	"github.com/klpcheck/klpcheck/klp"
)

// livepatchSelftests are the kernel's livepatch selftests
// (tools/testing/selftests/livepatch, transcribed in klp/testdata) as
// built-in scenarios of the "livepatch selftests" table: each script runs
// on klp.SelftestConfig's world with every livepatch property on, and is
// explored exhaustively with DPOR (test-syscall, whose processes loop
// until killed, with at most one preemption). The expected verdict is
// safe: the kernel passes its own selftests, so any violation would be a
// false positive of the model. (That every interleaving also prints the
// log check_result expects is checked by TestSelftestsExplored.)
func livepatchSelftests() []Scenario {
	var out []Scenario
	for _, st := range klp.Selftests() {
		cfg := klp.SelftestConfig()
		cfg.Script = st.Script
		file := strings.TrimSuffix(st.File, ".sh")
		s := lpScenario("selftest-"+strings.TrimPrefix(file, "test-")+"-"+slug(st.Name),
			"tools/testing/selftests/livepatch/"+st.File+": "+st.Name, cfg, st.File+": "+st.Name, "current", "safe")
		s.Table = "livepatch selftests"
		if n, ok := selftestPreemptions[st.Name]; ok {
			s.Explore = &Bounds{Strategy: "bounded", MaxPreemptions: n, MaxSteps: 3000}
		}
		out = append(out, s)
	}
	return out
}

// selftestPreemptions are the selftests explored with a preemption bound
// instead of exhaustive DPOR: test-syscall's two processes loop until
// killed, and DPOR does not finish within minutes (187,888 executions in
// 60 s); with at most one preemption it takes 18,236 executions.
var selftestPreemptions = map[string]int{"patch getpid syscall while being heavily hammered": 1}

// slug makes a scenario name part of a test name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

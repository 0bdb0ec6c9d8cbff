package catalog

import (
	"strings"
	"testing"
)

func TestRiscvBuiltin(t *testing.T) { checkFixedBuiltin(t, Riscv(), "nop", "jalr t0") }

// TestRiscvParamErrors: bad parameters name their field.
func TestRiscvParamErrors(t *testing.T) {
	for _, c := range []struct{ params, field string }{
		{`{}`, "params.protocol"},
		{`{"protocol":"ftrace-2025","fetch":"block:4"}`, "params.fetch"},
		{`{"protocol":"ftrace-2025","rfence":"mmio"}`, "params.rfence"},
		{`{"protocol":"ftrace-2025","site":"x"}`, "params.site"},
		{`{"protocol":"ftrace-2025","calls":0,"cpus":-1}`, "params.cpus"},
		{`{"protocol":"ftrace-2025","calls":4}`, "params.calls"},
		{`{"protocol":"ftrace-2025","disable_steps":["sync1"]}`, "params.disable_steps"},
	} {
		_, err := Riscv().Build(Scenario{Name: "t", Kind: "riscv", Params: []byte(c.params)})
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %s", c.params, err, c.field)
		}
	}
}

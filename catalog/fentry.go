package catalog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/explore"
	"github.com/klpcheck/klpcheck/klp"
	"github.com/klpcheck/klpcheck/model"
	"github.com/klpcheck/klpcheck/poke"
	"github.com/klpcheck/klpcheck/props"
)

// The "fentry" kind joins the two models: the livepatch world of klp runs
// its tasks on x86 CPUs of the machine model, and while they run ftrace
// rewrites the fentry site of one livepatched function (a tracer is
// registered on it, or unregistered). A task calling that function
// executes the site's bytes on its CPU: a CALL (real or emulated by the
// int3 handler) reaches ftrace and so klp_ftrace_handler, which picks the
// version by the task's patch_state; an int3 handler that skips the site
// runs the original body instead. Both models' properties are judged.

// FentryParams are the parameters of a fentry scenario.
type FentryParams struct {
	// Livepatch is the livepatch world (see klp.Config). Task i runs on
	// x86 CPU i+1; ftrace's writer runs on CPU 0.
	Livepatch klp.Config `json:"livepatch"`
	// Traced is the vmlinux function (in livepatch.functions, patched by
	// some patch) whose fentry site ftrace rewrites.
	Traced string `json:"traced"`
	// Unregister: the tracer is unregistered (the site goes from calling
	// ftrace_regs_caller back to the livepatch ops' own trampoline)
	// instead of registered (the other way round).
	Unregister bool `json:"unregister,omitempty"`
	// Variant is ftrace's site writer: text_poke_bp (default: the current
	// kernel, which emulates the new CALL), ftrace-int3-skip (2012–v5.1)
	// or ftrace-int3-emulate-call (v5.2).
	Variant string `json:"variant,omitempty"`
	// Fetch is the fetch model (bytewise, block:N, stale:N; default
	// block:16).
	Fetch string `json:"fetch,omitempty"`
	// Ignore lists x86 properties not to judge (emulation, final-text,
	// atomic-switch), to see what their violation leads to.
	Ignore []string `json:"ignore,omitempty"`
}

// Addresses of the fentry scenarios' text: the traced function (its
// fentry site is its first instruction) and the livepatch ops' own
// trampoline (ftrace allocates one per ops with FTRACE_OPS_FL_IPMODIFY in
// module space).
const (
	fentrySite    = X86Base + 0x20
	klpTrampoline = 0xffffffffa0000000
	// fentryMaxTasks bounds the tasks, each on an x86 CPU of its own
	// beside the writer's: 8 tasks are 9 CPUs, well within what the
	// machine models, while a typo like 80 is refused.
	fentryMaxTasks = 8
)

type fentryKind struct{}

// Fentry is the kind of scenarios that run livepatch tasks on the x86
// machine while ftrace rewrites a livepatched function's fentry site.
func Fentry() Kind { return fentryKind{} }

func (fentryKind) Name() string { return "fentry" }

func (fentryKind) Properties() []Property {
	var out []Property
	for _, id := range append(append([]string(nil), props.X86...), props.Livepatch...) {
		out = append(out, Property{ID: id, Meaning: props.Meaning(id)})
	}
	return out
}

// callTo is the 5-byte CALL rel32 at addr to target.
func callTo(addr, target uint64) []byte {
	b := []byte{0xe8, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], uint32(int32(int64(target)-int64(addr+poke.McountInsnSize))))
	return b
}

type fentryConfig struct {
	p      FentryParams
	lp     *klp.Config
	layout *model.Layout
	patch  *poke.Patch
	last   **model.Machine // BuildFentryObserved: the latest execution's machine
}

func parseFentry(s Scenario) (*fentryConfig, error) {
	var p FentryParams
	if len(s.Params) == 0 {
		return nil, fmt.Errorf("scenario %q: params: a fentry scenario needs params (livepatch, traced)", s.Name)
	}
	if err := DecodeParams(s, &p); err != nil {
		return nil, err
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("scenario %q: params.%s: %s", s.Name, field, fmt.Sprintf(format, args...))
	}
	if err := p.Livepatch.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %q: %s", s.Name, strings.Replace(err.Error(), "params.", "params.livepatch.", 1))
	}
	if n := len(p.Livepatch.Tasks); n == 0 || n > fentryMaxTasks {
		return nil, bad("livepatch.tasks", "%d tasks; want 1..%d (each runs on an x86 CPU of its own)", n, fentryMaxTasks)
	}
	for i, m := range p.Livepatch.Modules {
		if len(m.Work) > 0 {
			return nil, bad(fmt.Sprintf("livepatch.modules[%d].work", i), "module kworkers have no x86 CPU in the fentry kind")
		}
	}
	if p.Traced == "" {
		return nil, bad("traced", "missing: name the livepatched vmlinux function whose fentry site ftrace rewrites")
	}
	if !slices.Contains(p.Livepatch.Functions, p.Traced) {
		return nil, bad("traced", "%q is not in params.livepatch.functions", p.Traced)
	}
	if !patchedBySome(&p.Livepatch, p.Traced) {
		return nil, bad("traced", "%q is not patched by any patch of params.livepatch.patches (its fentry site would call no livepatch handler)", p.Traced)
	}
	for i, prop := range p.Ignore {
		if prop != props.Emulation && prop != props.FinalText && prop != props.AtomicSwitch {
			return nil, bad(fmt.Sprintf("ignore[%d]", i), "%q; only emulation, final-text and atomic-switch can be ignored (a CPU that dies cannot run on)", prop)
		}
	}
	fetch, err := fetchOr(p.Fetch, model.FetchModel{Kind: model.Block, N: 16})
	if err != nil {
		return nil, bad("fetch", "%v", err)
	}
	variant, err := variantOr(p.Variant)
	if err != nil {
		return nil, bad("variant", "%v", err)
	}
	if variant != poke.BP && !poke.IsFtrace(variant) {
		return nil, bad("variant", "%s does not rewrite fentry sites; want text_poke_bp, %s or %s", variant, poke.FtraceSkip, poke.FtraceEmulate)
	}
	old, nw := callTo(fentrySite, klpTrampoline), callTo(fentrySite, poke.FtraceRegsCaller)
	if p.Unregister {
		old, nw = nw, old
	}
	specs := []model.SiteSpec{{Addr: fentrySite, Old: old, New: nw}}
	layout, err := model.NewLayout(fetch, specs, false)
	if err != nil {
		return nil, bad("fetch", "%v", err)
	}
	patch, errs := poke.NewPatch(variant, specs, nil)
	if patch == nil {
		return nil, bad("variant", "%v", errs[0])
	}
	return &fentryConfig{p: p, lp: &p.Livepatch, layout: layout, patch: patch}, nil
}

func patchedBySome(c *klp.Config, fn string) bool {
	for _, p := range c.Patches {
		for _, o := range p.Objects {
			for _, f := range o.Funcs {
				if o.Name == "vmlinux" && f.OldName == fn {
					return true
				}
			}
		}
	}
	return false
}

func (k fentryKind) Build(s Scenario) (explore.Program, error) {
	prog, _, err := buildFentry(s)
	return prog, err
}

// BuildFentryObserved builds a fentry scenario and also returns a
// function giving the x86 machine of the latest execution (for the
// atomic-switch history of a replay). Use it for one execution at a time.
func BuildFentryObserved(s Scenario) (explore.Program, func() *model.Machine, error) {
	return buildFentry(s)
}

func buildFentry(s Scenario) (explore.Program, func() *model.Machine, error) {
	c, err := parseFentry(s)
	if err != nil {
		return nil, nil, err
	}
	var last *model.Machine
	c.last = &last
	prog, err := klp.Program(c.lp, props.NewLivepatchMonitor, c.observe)
	if err != nil {
		return nil, nil, fmt.Errorf("scenario %q: %s", s.Name, strings.Replace(err.Error(), "params.", "params.livepatch.", 1))
	}
	return prog, func() *model.Machine { return last }, nil
}

// observe adds the x86 machine to an execution's livepatch world: the
// CPUs of the tasks, ftrace's writer on CPU 0, the x86 properties.
func (c *fentryConfig) observe(k *klp.Kernel) {
	sys := k.System()
	m := model.NewMachine(sys, c.layout, model.Config{CPUs: 1 + len(c.lp.Tasks)})
	if c.last != nil {
		*c.last = m
	}
	for _, cpu := range m.CPUs[1:] {
		m.Host(cpu)
	}
	w := poke.Install(m, c.patch)
	props.InstallX86Ignoring(sys, m, c.p.Ignore)
	sys.Go("ftrace", w.Writer())
	k.SetArch(&fentryArch{k: k, m: m, traced: c.p.Traced})
}

// fentryArch is the x86 machine below the livepatch tasks.
type fentryArch struct {
	k      *klp.Kernel
	m      *model.Machine
	traced string
}

func (a *fentryArch) Traced(sym *klp.Symbol) bool {
	return sym.Object == "vmlinux" && sym.Name == a.traced && sym.Pos == 1
}

func (a *fentryArch) cpu(tk *klp.Task) *model.CPU { return a.m.CPUs[1+a.k.TaskIndex(tk)] }

// Fentry runs the traced function's fentry site on the task's CPU and
// says where it went: into ftrace (either call target), or past the site.
func (a *fentryArch) Fentry(t *explore.Thread, tk *klp.Task, sym *klp.Symbol) klp.FentryResult {
	site := &a.m.L.Sites[0]
	eff, ok := a.cpu(tk).ExecuteSite(t, site.Addr)
	switch {
	case !ok:
		return klp.FentryDied
	case eff.Kind == model.Call && (eff.Next == klpTrampoline || eff.Next == poke.FtraceRegsCaller):
		return klp.FentryFtrace
	case (eff.Kind == model.Jump || eff.Kind == model.FallThrough) && eff.Next == site.End():
		return klp.FentrySkipped
	}
	return klp.FentryDied // an effect the emulation property reports
}

func (fentryKind) Builtin() []Scenario { return fentryHistory() }

// fentryScenario makes a built-in fentry scenario.
func fentryScenario(name, desc string, p FentryParams, b *Bounds, table, row, column, expect string) Scenario {
	raw, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return Scenario{Name: "fentry/" + name, Kind: "fentry", Description: desc, Params: raw, Explore: b,
		Table: table, Row: row, Column: column, Expect: expect}
}

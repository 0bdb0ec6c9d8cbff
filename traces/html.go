package traces

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

// History is a history of observable operations and the sequential
// specification it is checked against, for porcupine.
type History struct {
	Model       porcupine.Model
	Operations  []porcupine.Operation
	Annotations []porcupine.Annotation
	// Timeout bounds porcupine's check (default 10s).
	Timeout time.Duration
}

// Historian is implemented by a catalog.Kind one of whose properties is
// a history property (linearizability checked with porcupine; x86's
// atomic-switch). History replays the schedule of scenario s and returns
// that property's id, its sequential specification and the history of
// observable operations. The HTML page shows porcupine's visualisation
// of it when that property failed, or whatever failed if asked to
// (--history: the site executions against the writer's switch are worth
// seeing anyway). (The signature uses only catalog, explore and porcupine
// types, so catalog implements it without importing traces.)
type Historian interface {
	History(s catalog.Scenario, sched explore.Schedule, opts explore.ReplayOptions) (property string, m porcupine.Model, ops []porcupine.Operation, err error)
}

// HistoryOf asks the trace's kind for the history of its failed property
// (of its history property whatever failed, with always); nil when the
// kind has none or it is empty.
func HistoryOf(t *Trace, always bool) (*History, error) {
	k, err := catalog.KindOf(t.Scenario.Kind)
	if err != nil {
		return nil, err
	}
	h, ok := k.(Historian)
	if !ok {
		return nil, nil
	}
	sched, err := t.Decisions()
	if err != nil {
		return nil, err
	}
	prop, m, ops, err := h.History(t.Scenario, sched, explore.ReplayOptions{MaxSteps: t.Bounds.MaxSteps})
	if err != nil || len(ops) == 0 || !always && prop != t.Property {
		return nil, err
	}
	return &History{Model: m, Operations: ops}, nil
}

// Visualize checks the history with porcupine and returns its result and
// its self-contained HTML visualisation.
func (h *History) Visualize() (porcupine.CheckResult, []byte, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	res, info := porcupine.CheckOperationsVerbose(h.Model, h.Operations, timeout)
	if len(h.Annotations) > 0 {
		info.AddAnnotations(h.Annotations)
	}
	var buf bytes.Buffer
	if err := porcupine.Visualize(h.Model, info, &buf); err != nil {
		return res, nil, err
	}
	return res, buf.Bytes(), nil
}

var page = template.Must(template.New("trace").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>klpcheck: {{.T.Scenario.Name}} — {{.T.Verdict}} {{.T.Property}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table.summary td { padding: 0.1em 0.8em 0.1em 0; vertical-align: top; }
table.summary td:first-child { color: #666; }
pre.message { background: #fff3f3; border-left: 4px solid #c00; padding: 0.5em 1em; white-space: pre-wrap; }
table.timeline { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 0.85em; }
table.timeline th { position: sticky; top: 0; background: #eee; padding: 0.3em 0.6em; border: 1px solid #ccc; }
table.timeline td { border-left: 1px solid #ccc; border-right: 1px solid #ccc; padding: 0.15em 0.6em; vertical-align: top; }
table.timeline td.step { color: #888; text-align: right; }
table.timeline tr.fail td { background: #fdd; }
table.timeline td.op .label { font-weight: 600; }
table.timeline tr.preempted td.op .label::before { content: "» "; color: #c60; }
table.timeline td.op .line { color: #555; white-space: pre-wrap; }
table.timeline td.op .objects { color: #999; }
iframe.porcupine { width: 100%; height: 36em; border: 1px solid #ccc; }
</style>
</head>
<body>
<h1>{{.T.Verdict}}: {{.T.Property}} — {{.T.Scenario.Name}}</h1>
<table class="summary" id="summary">
<tr><td>scenario</td><td>{{.T.Scenario.Name}} ({{.T.Scenario.Kind}}){{if .T.Scenario.Description}}: {{.T.Scenario.Description}}{{end}}</td></tr>
<tr><td>property</td><td>{{.T.Property}}{{if .Meaning}} — {{.Meaning}}{{end}}</td></tr>
<tr><td>schedule</td><td>{{.T.Length}} steps, {{.T.Preemptions}} preemptions, found by {{.T.Strategy}}{{if .T.Executions}} after {{.T.Executions}} executions{{end}}; failed {{.FailStep}}{{if .T.Thread}} in {{.T.Thread}}{{end}}</td></tr>
{{if .T.Minimized}}<tr><td>minimised</td><td>from {{.T.Minimized.FromLength}} steps, {{.T.Minimized.FromPreemptions}} preemptions{{if .T.Minimized.FromScenario}} of {{.T.Minimized.FromScenario}}{{end}}</td></tr>{{end}}
<tr><td>decisions</td><td><code>{{.T.Schedule}}</code></td></tr>
</table>
<pre class="message">{{.T.Message}}</pre>
<h2>Timeline</h2>
{{with .TL}}{{if .Setup}}<ul class="setup">{{range .Setup}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
<table class="timeline" id="timeline">
<thead><tr><th>step</th>{{range .TL.Threads}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range $i, $r := .TL.Rows}}<tr class="{{if eq $i $.TL.FailRow}}fail{{end}}{{if $r.Preempted}} preempted{{end}}" data-step="{{$r.Step}}"><td class="step">{{$r.Step}}</td>{{range $j, $name := $.TL.Threads}}{{if eq $j $r.Thread}}<td class="op"><div class="label">{{$r.Label}}</div>{{if $r.Objects}}<div class="objects">{{$r.Objects}}</div>{{end}}{{range $r.Lines}}<div class="line">{{.}}</div>{{end}}</td>{{else}}<td></td>{{end}}{{end}}</tr>
{{end}}</tbody>
</table>
<p id="failure">{{if .TL.Failure}}<strong>{{if .TL.Failure.Stuck}}STUCK{{else}}VIOLATION{{end}} {{.TL.Failure.Property}}</strong> {{.FailStep}}{{else}}the execution ended {{.TL.Outcome}} with no failure{{end}}</p>
{{if .Legend}}<ul class="legend" id="legend">{{range .Legend}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .TL.Log}}<h2>Event log</h2>
<p>dmesg and the admin's commands, up to the end of the execution.</p>
<pre class="log" id="eventlog">{{range .TL.Log}}{{.}}
{{end}}</pre>
{{end}}{{if .Porcupine}}{{if .HistoryFailed}}<h2>History (porcupine: {{.PorcupineResult}})</h2>
<p>The history of observable operations, checked for linearizability against the specification. Red linearization points are where it breaks.</p>{{else}}<h2>History, for context</h2>
<p>The history of observable operations of this execution (porcupine's verdict on it: {{.PorcupineResult}}). The property that failed, {{.T.Property}}, is not this history's: the violation above is the finding, not this view.</p>{{end}}
<iframe class="porcupine" id="porcupine" title="porcupine visualisation" srcdoc="{{.Porcupine}}"></iframe>
{{end}}
<p class="footer">klpcheck trace format {{.T.Version}}, model version {{.T.ModelVersion}}. Replay: <code>klpcheck replay FILE</code>.</p>
</body>
</html>
`))

// WriteHTML renders one self-contained HTML page: the trace's summary,
// its timeline (one column per thread) and, when hist is not nil,
// porcupine's visualisation of the history. The page loads nothing from
// the network.
func WriteHTML(w io.Writer, t *Trace, tl *Timeline, hist *History) error {
	data := struct {
		T               *Trace
		TL              *Timeline
		Meaning         string
		FailStep        string
		Porcupine       string
		PorcupineResult porcupine.CheckResult
		HistoryFailed   bool
		Legend          []string
	}{T: t, TL: tl.compact(), Meaning: meaning(t.Scenario.Kind, t.Property), Legend: tl.Legend(true)}
	data.FailStep = StepName(t.Step)
	if tl.Failure != nil {
		data.FailStep = StepName(tl.Failure.Step)
	}
	if hist != nil {
		res, page, err := hist.Visualize()
		if err != nil {
			return fmt.Errorf("porcupine visualisation: %w", err)
		}
		data.Porcupine, data.PorcupineResult = string(page), res
		data.HistoryFailed = res != porcupine.Ok
	}
	return page.Execute(w, data)
}

func meaning(kind, property string) string {
	k, err := catalog.KindOf(kind)
	if err != nil {
		return ""
	}
	for _, p := range k.Properties() {
		if p.ID == property {
			return strings.TrimSpace(p.Meaning)
		}
	}
	return ""
}

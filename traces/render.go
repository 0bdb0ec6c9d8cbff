package traces

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/klpcheck/klpcheck/explore"
)

// Timeline is a replayed counterexample laid out for rendering: one row
// per step, one column per thread (CPU, task, writer…), the step's label in
// its thread's column, then the choices made and the notes recorded during
// the step in the same column.
type Timeline struct {
	Threads []string `json:"threads"`
	Rows    []Row    `json:"rows"`
	// Setup holds notes and choices made while the program was built.
	Setup   []string         `json:"setup,omitempty"`
	Failure *explore.Failure `json:"failure,omitempty"`
	// FailRow is the index of the row at which the failure was detected
	// (-1: during setup).
	FailRow int    `json:"fail_row"`
	Outcome string `json:"outcome"`
	// Log is the execution's event log (dmesg lines and the admin's
	// commands), for kinds that keep one; the caller fills it in.
	Log []string `json:"log,omitempty"`
}

// Row is one scheduling step.
type Row struct {
	Step      int      `json:"step"`
	Thread    int      `json:"thread"`
	Label     string   `json:"label"`
	Objects   string   `json:"objects,omitempty"`
	Preempted bool     `json:"preempted,omitempty"`
	Lines     []string `json:"lines,omitempty"` // choices and notes, in order
}

// NewTimeline lays a record out.
func NewTimeline(rec *explore.Record) *Timeline {
	tl := &Timeline{Threads: rec.Threads, Failure: rec.Failure, FailRow: -1, Outcome: rec.Outcome}
	for i, s := range rec.Steps {
		tl.Rows = append(tl.Rows, Row{Step: i, Thread: s.Thread, Label: s.Label, Objects: s.Objects, Preempted: s.Preempted})
	}
	// Choices and notes in recorded order: a choice with Step k was made
	// during step k-1 (k steps had been chosen), a note with Step k during
	// step k. Interleave them by their position in the step.
	type item struct {
		row  int
		text string
	}
	var items []item
	notes := rec.Notes
	for _, d := range rec.Decisions {
		if !d.Choice {
			continue
		}
		row := d.Step - 1
		for len(notes) > 0 && notes[0].Step <= row {
			items = append(items, item{notes[0].Step, notes[0].Text})
			notes = notes[1:]
		}
		items = append(items, item{row, fmt.Sprintf("? %s: %d of %d", d.Label, d.Value, d.Arity)})
	}
	for _, n := range notes {
		items = append(items, item{n.Step, n.Text})
	}
	for _, it := range items {
		if it.row < 0 || it.row >= len(tl.Rows) {
			tl.Setup = append(tl.Setup, it.text)
			continue
		}
		tl.Rows[it.row].Lines = append(tl.Rows[it.row].Lines, it.text)
	}
	if rec.Failure != nil {
		tl.FailRow = min(rec.Failure.Step-1, len(tl.Rows)-1)
	}
	return tl
}

// TextOptions tune the text rendering.
type TextOptions struct {
	// Width caps a thread column's width in characters (default 34);
	// longer text wraps.
	Width int
	// Objects shows each step's footprint under its label.
	Objects bool
}

// WriteText renders the trace's header and its timeline: one column per
// thread, one row per step; "»" marks a preemptive context switch, "?" a
// choice, and the row at which the property failed is marked "✗".
func WriteText(w io.Writer, t *Trace, tl *Timeline, opts TextOptions) error {
	if opts.Width <= 0 {
		opts.Width = 34
	}
	var b strings.Builder
	fmt.Fprintf(&b, "scenario  %s (%s)\n", t.Scenario.Name, t.Scenario.Kind)
	if t.Scenario.Description != "" {
		fmt.Fprintf(&b, "          %s\n", t.Scenario.Description)
	}
	fmt.Fprintf(&b, "verdict   %s: %s\n", t.Verdict, t.Property)
	fmt.Fprintf(&b, "message   %s\n", firstLine(t.Message))
	fmt.Fprintf(&b, "schedule  %d steps, %d preemptions, %s strategy; failed %s", t.Length, t.Preemptions, t.Strategy, StepName(t.Step))
	if t.Thread != "" {
		fmt.Fprintf(&b, " in %s", t.Thread)
	}
	b.WriteString("\n")
	if m := t.Minimized; m != nil {
		fmt.Fprintf(&b, "minimised from %d steps, %d preemptions", m.FromLength, m.FromPreemptions)
		if m.FromScenario != "" {
			fmt.Fprintf(&b, " of scenario %s", m.FromScenario)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	writeColumns(&b, tl, opts)
	_, err := io.WriteString(w, b.String())
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// shown are the threads that ran a step, in order: a column for a thread
// that never ran (an idle CPU's spare context, say) would only be empty.
func (tl *Timeline) shown() (cols []int, idle []string) {
	ran := make([]bool, len(tl.Threads))
	for _, r := range tl.Rows {
		if r.Thread >= 0 && r.Thread < len(ran) {
			ran[r.Thread] = true
		}
	}
	for i, name := range tl.Threads {
		if ran[i] {
			cols = append(cols, i)
		} else {
			idle = append(idle, name)
		}
	}
	return cols, idle
}

// compact is the timeline without the columns of threads that ran no
// step (rows and the failure renumbered).
func (tl *Timeline) compact() *Timeline {
	cols, _ := tl.shown()
	if len(cols) == len(tl.Threads) {
		return tl
	}
	col := map[int]int{}
	out := *tl
	out.Threads = nil
	for c, th := range cols {
		col[th] = c
		out.Threads = append(out.Threads, tl.Threads[th])
	}
	out.Rows = make([]Row, len(tl.Rows))
	for i, r := range tl.Rows {
		r.Thread = col[r.Thread]
		out.Rows[i] = r
	}
	if tl.Failure != nil && tl.Failure.Thread >= 0 {
		f := *tl.Failure
		if c, ok := col[f.Thread]; ok {
			f.Thread = c
		}
		out.Failure = &f
	}
	return &out
}

// Legend explains the marks that appear in the timeline, one per line.
func (tl *Timeline) Legend(objects bool) []string {
	var preempted, choice, objs, nmi, fetch bool
	for _, r := range tl.Rows {
		preempted = preempted || r.Preempted
		objs = objs || (objects && r.Objects != "")
		for _, l := range r.Lines {
			choice = choice || strings.HasPrefix(l, "? ")
			nmi = nmi || strings.HasPrefix(l, "[NMI] ")
			fetch = fetch || strings.Contains(l, "read 0x")
		}
	}
	var out []string
	if preempted {
		out = append(out, "»  a preemption: this thread runs although the previous one could have gone on")
	}
	if choice {
		out = append(out, "?  a choice point (e.g. whether an NMI arrives, which line a fetch uses): the value taken, of how many")
	}
	if tl.FailRow >= 0 {
		out = append(out, "✗  the step after which the property failed")
	}
	if fetch {
		out = append(out, "read A [+N]: B…  an instruction fetch: the address (and length) read and the bytes it got; a stale line says which step filled it")
	}
	if nmi {
		out = append(out, "[NMI]  the step runs inside an NMI handler on that CPU")
	}
	if objs {
		out = append(out, "R, W  the shared objects the step reads or writes (its footprint, which DPOR uses)")
	}
	if _, idle := tl.shown(); len(idle) > 0 {
		out = append(out, "not shown: "+strings.Join(idle, ", ")+" (ran no step)")
	}
	return out
}

func writeColumns(b *strings.Builder, tl *Timeline, opts TextOptions) {
	cols, _ := tl.shown()
	col := make([]int, len(tl.Threads)) // thread → column, -1: not shown
	for i := range col {
		col[i] = -1
	}
	names := make([]string, len(cols))
	for c, th := range cols {
		col[th] = c
		names[c] = tl.Threads[th]
	}
	n := len(cols)
	width := make([]int, n)
	for i, name := range names {
		width[i] = min(max(runeLen(name), 8), opts.Width)
	}
	cellLines := func(r Row) []string {
		head := r.Label
		if r.Preempted {
			head = "» " + head
		}
		lines := []string{head}
		if opts.Objects && r.Objects != "" {
			lines = append(lines, "  "+r.Objects)
		}
		for _, l := range r.Lines {
			lines = append(lines, "  "+l)
		}
		return lines
	}
	for _, r := range tl.Rows {
		for _, l := range cellLines(r) {
			width[col[r.Thread]] = min(max(width[col[r.Thread]], runeLen(l)), opts.Width)
		}
	}
	const stepW = 5
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(w-runeLen(s), 0)) }
	line := func(cells []string, mark string) {
		var l strings.Builder
		l.WriteString(pad(mark, stepW))
		for i := range n {
			l.WriteString(" │ ")
			l.WriteString(pad(cells[i], width[i]))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	rule := func() {
		var l strings.Builder
		l.WriteString(strings.Repeat("─", stepW))
		for i := range n {
			l.WriteString("─┼─")
			l.WriteString(strings.Repeat("─", width[i]))
		}
		b.WriteString(l.String())
		b.WriteString("\n")
	}
	if len(tl.Setup) > 0 {
		b.WriteString("setup:\n")
		for _, s := range tl.Setup {
			fmt.Fprintf(b, "  %s\n", s)
		}
	}
	line(names, "step")
	rule()
	for ri, r := range tl.Rows {
		var wrapped []string
		for _, l := range cellLines(r) {
			wrapped = append(wrapped, wrap(l, width[col[r.Thread]])...)
		}
		for k, text := range wrapped {
			cells := make([]string, n)
			cells[col[r.Thread]] = text
			mark := ""
			if k == 0 {
				mark = fmt.Sprint(r.Step)
				if ri == tl.FailRow {
					mark = "✗" + mark
				}
			}
			line(cells, mark)
		}
	}
	rule()
	if f := tl.Failure; f != nil {
		who := "a check of the whole system"
		if f.Thread >= 0 && f.Thread < len(tl.Threads) {
			who = tl.Threads[f.Thread]
		}
		kind := "VIOLATION"
		if f.Stuck {
			kind = "STUCK"
		}
		fmt.Fprintf(b, "%s %s %s, found by %s:\n", kind, f.Property, StepName(f.Step), who)
		for _, l := range strings.Split(f.Message, "\n") {
			fmt.Fprintf(b, "  %s\n", l)
		}
	} else {
		fmt.Fprintf(b, "the execution ended %s with no failure\n", tl.Outcome)
	}
	if lg := tl.Legend(opts.Objects); len(lg) > 0 {
		b.WriteString("\nlegend:\n")
		for _, l := range lg {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
	if len(tl.Log) > 0 {
		b.WriteString("\nevent log (dmesg and the admin's commands, up to the end of the execution):\n")
		for _, l := range tl.Log {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
}

// StepName says where a failure detected after n steps happened, in the
// numbering of the timeline's rows: "at step n-1", or "during setup".
func StepName(n int) string {
	if n <= 0 {
		return "during setup"
	}
	return fmt.Sprintf("at step %d", n-1)
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// wrap breaks s into lines of at most w runes, at spaces when it can.
func wrap(s string, w int) []string {
	if w <= 0 || runeLen(s) <= w {
		return []string{s}
	}
	var out []string
	indent := ""
	if strings.HasPrefix(s, "  ") {
		indent = "    "
	}
	for runeLen(s) > w {
		r := []rune(s)
		cut := w
		for i := w; i > w/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		s = indent + strings.TrimLeft(string(r[cut:]), " ")
		if runeLen(indent) >= w {
			indent = ""
		}
	}
	return append(out, s)
}

package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// defaultWidth is the width verdict tables are fitted to unless --wide.
const defaultWidth = 120

// grid is a table of text cells, rendered with two spaces between columns
// (head nil: no header line).
type grid struct {
	head []string
	rows [][]string
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// widths are the columns' widths.
func (g grid) widths() []int {
	n := len(g.head)
	for _, row := range g.rows {
		n = max(n, len(row))
	}
	w := make([]int, n)
	for i, h := range g.head {
		w[i] = runes(h)
	}
	for _, row := range g.rows {
		for i, c := range row {
			w[i] = max(w[i], runes(c))
		}
	}
	return w
}

func (g grid) write(w io.Writer) {
	ws := g.widths()
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", ws[i]-runes(c)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	if g.head != nil {
		line(g.head)
	}
	for _, row := range g.rows {
		line(row)
	}
}

// matrixTable is a verdict table: rows (variants) × columns (fetch models
// or fixes), each row ending with its executions and time.
type matrixTable struct {
	rows, cols []string
	cells      map[[2]string]string
	rowExecs   map[string]int64
	rowTime    map[string]string
}

// parts splits the table into grids of at most width columns of text
// (when width > 0): each part repeats the variant column, takes as many
// verdict columns as fit, and leaves out rows that have no scenario in
// its columns; the first part ends with the rows' executions and time. A
// part always takes at least one column, so a single very wide column
// still shows.
func (m matrixTable) parts(width int) []grid {
	return m.partsOf(width)
}

// missing reports whether some row has no scenario in some column.
func (m matrixTable) missing() bool {
	return len(m.cells) < len(m.rows)*len(m.cols)
}

func (m matrixTable) partsOf(width int) []grid {
	const sep = 2
	rowW := runes("variant")
	for _, r := range m.rows {
		rowW = max(rowW, runes(r))
	}
	colW := make([]int, len(m.cols))
	for i, c := range m.cols {
		colW[i] = runes(c)
		for _, r := range m.rows {
			if cell, ok := m.cells[[2]string{r, c}]; ok {
				colW[i] = max(colW[i], runes(cell))
			}
		}
	}
	tailW := runes("executions") + sep
	for _, r := range m.rows {
		tailW = max(tailW, runes(m.rowTime[r])+sep+runes("executions")+sep)
	}
	var groups [][]int
	for i := 0; i < len(m.cols); {
		budget := width - rowW
		if len(groups) == 0 {
			budget -= tailW
		}
		var g []int
		for i < len(m.cols) && (len(g) == 0 || width <= 0 || budget-(colW[i]+sep) >= 0) {
			budget -= colW[i] + sep
			g = append(g, i)
			i++
		}
		groups = append(groups, g)
	}
	var out []grid
	for gi, g := range groups {
		head := []string{"variant"}
		for _, i := range g {
			head = append(head, m.cols[i])
		}
		if gi == 0 {
			head = append(head, "executions", "time")
		}
		grd := grid{head: head}
		for _, r := range m.rows {
			row := []string{r}
			any := false
			for _, i := range g {
				c, ok := m.cells[[2]string{r, m.cols[i]}]
				if !ok {
					c = "-"
				}
				any = any || ok
				row = append(row, c)
			}
			if gi == 0 {
				row = append(row, fmt.Sprint(m.rowExecs[r]), m.rowTime[r])
			} else if !any {
				continue
			}
			grd.rows = append(grd.rows, row)
		}
		out = append(out, grd)
	}
	return out
}

// fit shortens s to at most width runes (width <= 0: no limit), ending
// it with "…" when it had to cut.
func fit(s string, width int) string {
	if width <= 0 || runes(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:max(width-1, 0)]) + "…"
}

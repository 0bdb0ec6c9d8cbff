package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/klpcheck/klpcheck/catalog"
	"github.com/klpcheck/klpcheck/explore"
)

const listHelp = `
Lists what klpcheck knows. Sections (default: all but format):
  kinds        scenario kinds
  scenarios    the built-in scenarios, with their expected verdicts
  variants     the variants (table rows) of each verdict table
  fetch-models the fetch models (table columns) of each verdict table
  properties   the properties, with their meanings
  strategies   the exploration strategies
  format       the scenario-file format

Examples:
  klpcheck list
  klpcheck list properties strategies
  klpcheck list --json scenarios
`

var listSections = []string{"kinds", "scenarios", "variants", "fetch-models", "properties", "strategies", "format"}

type listedScenario struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Table       string `json:"table,omitempty"`
	Variant     string `json:"variant,omitempty"`
	FetchModel  string `json:"fetch_model,omitempty"`
	Expect      string `json:"expect,omitempty"`
	Description string `json:"description,omitempty"`
	// Params and Explore make the entry a scenario file's entry (with
	// the names above mapped back: variant→row, fetch_model→column).
	Params  json.RawMessage `json:"params,omitempty"`
	Explore *catalog.Bounds `json:"explore,omitempty"`
}

type listedProperty struct {
	ID      string   `json:"id"`
	Meaning string   `json:"meaning"`
	Kinds   []string `json:"kinds"`
}

// kindInfo is a kind as 'list kinds' shows it.
type kindInfo struct {
	Name       string   `json:"name"`
	Scenarios  int      `json:"scenarios"`
	Properties int      `json:"properties"`
	Doc        string   `json:"doc,omitempty"`
	Params     []string `json:"params"`
}

// kindDocs names the document that explains each kind's parameters.
var kindDocs = map[string]string{
	"engine":    "docs/engine.md",
	"x86":       "docs/x86.md",
	"livepatch": "docs/livepatch.md",
	"fentry":    "docs/fentry.md",
}

func cmdList(args []string, stdout, stderr io.Writer) int {
	c := newCommand("list", "list [flags] [section ...]", listHelp, stderr)
	pos, code, done := c.parse(args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) == 0 {
		pos = listSections[:len(listSections)-1]
	}
	for _, p := range pos {
		if !slices.Contains(listSections, p) {
			return usageError(stderr, "list", "unknown section %q (want one of %s)", p, strings.Join(listSections, ", "))
		}
	}
	builtin := catalog.Builtin()
	var scen []listedScenario
	for _, s := range builtin {
		scen = append(scen, listedScenario{s.Name, s.Kind, s.Table, s.Row, s.Column, s.Expect, s.Description, s.Params, s.Explore})
	}
	// Variants and fetch models per table, in catalog order.
	var tables []string
	variants, fetch := map[string][]string{}, map[string][]string{}
	for _, s := range builtin {
		if !slices.Contains(tables, s.Table) {
			tables = append(tables, s.Table)
		}
		if s.Row != "" && !slices.Contains(variants[s.Table], s.Row) {
			variants[s.Table] = append(variants[s.Table], s.Row)
		}
		if s.Column != "" && !slices.Contains(fetch[s.Table], s.Column) {
			fetch[s.Table] = append(fetch[s.Table], s.Column)
		}
	}
	var props []listedProperty
	index := map[string]int{}
	for _, k := range catalog.Kinds() {
		for _, p := range k.Properties() {
			if i, ok := index[p.ID]; ok {
				// A kind may list a property twice (fentry joins
				// x86's and livepatch's lists).
				if !slices.Contains(props[i].Kinds, k.Name()) {
					props[i].Kinds = append(props[i].Kinds, k.Name())
				}
				continue
			}
			index[p.ID] = len(props)
			props = append(props, listedProperty{p.ID, p.Meaning, []string{k.Name()}})
		}
	}
	var kindInfos []kindInfo
	for _, k := range catalog.Kinds() {
		ki := kindInfo{Name: k.Name(), Scenarios: len(k.Builtin()), Doc: kindDocs[k.Name()]}
		seen := map[string]bool{}
		for _, p := range k.Properties() {
			seen[p.ID] = true
		}
		ki.Properties = len(seen)
		for _, s := range k.Builtin() {
			var fields map[string]json.RawMessage
			if json.Unmarshal(s.Params, &fields) == nil {
				for f := range fields {
					if !slices.Contains(ki.Params, f) {
						ki.Params = append(ki.Params, f)
					}
				}
			}
		}
		sort.Strings(ki.Params)
		kindInfos = append(kindInfos, ki)
	}
	type strategy struct {
		Name    string `json:"name"`
		Meaning string `json:"meaning"`
	}
	var strategies []strategy
	for _, s := range explore.Strategies {
		strategies = append(strategies, strategy{string(s.Name), s.Meaning})
	}

	if c.json {
		out := map[string]any{}
		for _, p := range pos {
			switch p {
			case "kinds":
				out[p] = kindInfos
			case "scenarios":
				out[p] = scen
			case "variants":
				out[p] = variants
			case "fetch-models":
				out[p] = fetch
			case "properties":
				out[p] = props
			case "strategies":
				out[p] = strategies
			case "format":
				out[p] = catalog.FileFormat()
			}
		}
		writeJSON(stdout, out)
		return exitOK
	}
	for i, p := range pos {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		switch p {
		case "kinds":
			fmt.Fprintln(tw, "KIND\tSCENARIOS\tPROPERTIES\tDOCS\tPARAMS (the fields the built-in scenarios use)")
			for _, k := range kindInfos {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", k.Name, k.Scenarios, k.Properties, k.Doc, strings.Join(k.Params, ", "))
			}
			fmt.Fprintln(tw, "\nEvery field is documented in the kind's doc; 'klpcheck list --json scenarios' prints each")
			fmt.Fprintln(tw, "built-in scenario as a scenario-file entry, and examples/ holds a file per kind.")
		case "scenarios":
			fmt.Fprintln(tw, "SCENARIO\tKIND\tEXPECT\tDESCRIPTION")
			for _, s := range scen {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Expect, s.Description)
			}
		case "variants", "fetch-models":
			m, head := variants, "VARIANTS"
			if p == "fetch-models" {
				m, head = fetch, "FETCH MODELS"
			}
			fmt.Fprintf(tw, "TABLE\t%s\n", head)
			for _, t := range tables {
				fmt.Fprintf(tw, "%s\t%s\n", t, strings.Join(m[t], ", "))
			}
		case "properties":
			fmt.Fprintln(tw, "PROPERTY\tKINDS\tMEANING")
			for _, pr := range props {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", pr.ID, strings.Join(pr.Kinds, ","), pr.Meaning)
			}
		case "strategies":
			fmt.Fprintln(tw, "STRATEGY\tMEANING")
			for _, s := range strategies {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Meaning)
			}
		case "format":
			fmt.Fprintln(tw, catalog.FileFormat())
		}
		tw.Flush()
	}
	return exitOK
}

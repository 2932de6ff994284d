package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Severity says how much a finding stands in the way of the migration.
type Severity string

const (
	// Blocker: the workload breaks on containerd unless it is changed first.
	Blocker Severity = "blocker"
	// Warning: behaviour changes unless a setting is carried over.
	Warning Severity = "warning"
	// Info: worth knowing, nothing breaks.
	Info Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case Blocker:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one thing the operator has to look at before the move.
type Finding struct {
	Severity Severity `json:"severity"`
	// Object is what the finding is about: "container ns/pod/name (id)",
	// "image busybox:1.36 (sha256:...)", "daemon registry-mirrors".
	Object string `json:"object"`
	What   string `json:"what"`
	// CarryOver says how to get the same on containerd; it may span lines
	// (a hosts.toml to write, say).
	CarryOver string `json:"carryOver,omitempty"`
}

// Report is the result of check.
type Report struct {
	Findings []Finding `json:"findings"`
	Blockers int       `json:"blockers"`
	Warnings int       `json:"warnings"`
}

// NewReport sorts the findings (blockers first) and counts them.
func NewReport(findings []Finding) Report {
	sort.SliceStable(findings, func(i, j int) bool {
		if a, b := findings[i].Severity.rank(), findings[j].Severity.rank(); a != b {
			return a < b
		}
		return findings[i].Object < findings[j].Object
	})
	r := Report{Findings: findings}
	if r.Findings == nil {
		r.Findings = []Finding{} // "findings": [] rather than null, for jq users
	}
	for _, f := range findings {
		switch f.Severity {
		case Blocker:
			r.Blockers++
		case Warning:
			r.Warnings++
		}
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable writes the report as a table. A multi-line carry-over (a file
// to write) keeps its first line in the table and follows it in full below
// the table, where it can be copied as it is.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tOBJECT\tWHAT\tCARRY OVER")
	var blocks []Finding
	for _, f := range r.Findings {
		first, rest, _ := strings.Cut(f.CarryOver, "\n")
		if rest != "" {
			blocks = append(blocks, f)
			first += fmt.Sprintf(" (see [%d] below)", len(blocks))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Object, f.What, first)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for i, f := range blocks {
		fmt.Fprintf(w, "\n[%d] %s: %s", i+1, f.Object, strings.TrimRight(f.CarryOver, "\n")+"\n")
	}
	_, err := fmt.Fprintf(w, "\n%d blocker(s), %d warning(s), %d finding(s)\n", r.Blockers, r.Warnings, len(r.Findings))
	return err
}

// ExitCode is 1 when something blocks the migration, else 0.
func (r Report) ExitCode() int {
	if r.Blockers > 0 {
		return 1
	}
	return 0
}

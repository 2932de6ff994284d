package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// The files Write puts in a report directory besides the charts.
const (
	ReportFile   = "report.json"
	SummaryFile  = "summary.json"
	MarkdownFile = "report.md"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Write summarizes r and writes into dir, which it creates, the raw report,
// the summary, the Markdown report and the charts.
func Write(dir string, r Report) (Summary, error) {
	s := Summarize(r)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	// The raw report goes first: whatever fails after it, the measurements,
	// which took the longest to get, are on disk.
	if err := writeJSON(filepath.Join(dir, ReportFile), r); err != nil {
		return s, err
	}
	if err := writeJSON(filepath.Join(dir, SummaryFile), s); err != nil {
		return s, err
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), []byte(Markdown(r, s)), 0o644); err != nil {
		return s, err
	}
	if _, err := Charts(r, s, dir); err != nil {
		return s, err
	}
	return s, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Validate reads back what Write wrote into dir and reports everything that
// is missing or not well-formed, joined into one error; nil if all is well.
func Validate(dir string) error {
	var r Report
	if err := readJSON(filepath.Join(dir, ReportFile), &r); err != nil {
		// Without the report there is nothing to check the rest against.
		return err
	}
	errs := validateReport(r)

	want := Summarize(r)
	var s Summary
	if err := readJSON(filepath.Join(dir, SummaryFile), &s); err != nil {
		errs = append(errs, err)
		s = want
	} else if !reflect.DeepEqual(s, want) {
		errs = append(errs, fmt.Errorf("%s does not match %s: stale or edited", SummaryFile, ReportFile))
	}

	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	switch {
	case err != nil:
		errs = append(errs, err)
	case !bytes.Contains(md, []byte(BatchTableHeader)):
		errs = append(errs, fmt.Errorf("%s: no batch table", MarkdownFile))
	}

	for _, name := range ChartNames(s) {
		errs = append(errs, validateImage(filepath.Join(dir, name+".svg"), isSVG))
		errs = append(errs, validateImage(filepath.Join(dir, name+".png"), isPNG))
	}
	return errors.Join(errs...)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

func validateReport(r Report) []error {
	if len(r.Runs) == 0 {
		return []error{fmt.Errorf("%s: no runs", ReportFile)}
	}
	var errs []error
	for i, run := range r.Runs {
		for _, err := range validateRun(run) {
			errs = append(errs, fmt.Errorf("run %d (%s %s, repeat %d): %w", i, run.Runtime, run.Kind, run.Repeat, err))
		}
	}
	return errs
}

func validateRun(run Run) []error {
	var errs []error
	if kindRank(run.Kind) > kindRank(KindNode) {
		errs = append(errs, fmt.Errorf("unknown kind %q", run.Kind))
	}
	if run.Runtime == "" {
		errs = append(errs, errors.New("no runtime name"))
	}
	errs = append(errs, validatePercentiles("latency", run.Latency, true)...)
	if run.KubeletLatency != nil {
		// Estimated from histogram buckets, which know no maximum.
		errs = append(errs, validatePercentiles("kubelet latency", *run.KubeletLatency, false)...)
	}
	if run.Error != "" {
		return errs
	}
	if len(run.Pods) == 0 {
		errs = append(errs, errors.New("no pods"))
	}
	if run.Batch <= 0 {
		errs = append(errs, fmt.Errorf("batch time %v not positive", run.Batch))
	}
	if run.Kind == KindNode {
		errs = append(errs, validateSteady(run.Steady)...)
	}
	return errs
}

func validatePercentiles(what string, p Percentiles, withMax bool) []error {
	var errs []error
	check := func(lo, hi string, a, b any, ok bool) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s %v > %s %v", what, lo, a, hi, b))
		}
	}
	check("p50", "p90", p.P50, p.P90, p.P50 <= p.P90)
	check("p90", "p99", p.P90, p.P99, p.P90 <= p.P99)
	if withMax {
		check("p99", "max", p.P99, p.Max, p.P99 <= p.Max)
	}
	return errs
}

// validateSteady wants at least one component with memory: a component may
// have no processes left (RSS 0), but a runtime that ran 105 pods cannot.
func validateSteady(st *Steady) []error {
	if st == nil || len(st.Components) == 0 {
		return []error{errors.New("node run without a steady state")}
	}
	var errs []error
	anyRSS := false
	for _, c := range st.Components {
		if c.CPU < 0 || math.IsNaN(c.CPU) || math.IsInf(c.CPU, 0) {
			errs = append(errs, fmt.Errorf("component %s: CPU %v", c.Name, c.CPU))
		}
		if c.Processes > 0 && c.RSS == 0 {
			errs = append(errs, fmt.Errorf("component %s: %d processes but no RSS", c.Name, c.Processes))
		}
		anyRSS = anyRSS || c.RSS > 0
	}
	if !anyRSS {
		errs = append(errs, errors.New("no component has any RSS"))
	}
	return errs
}

func validateImage(path string, wellFormed func([]byte) bool) error {
	data, err := os.ReadFile(path)
	switch {
	case err != nil:
		return err
	case len(data) == 0:
		return fmt.Errorf("%s: empty", filepath.Base(path))
	case !wellFormed(data):
		return fmt.Errorf("%s: not a %s file", filepath.Base(path), strings.ToUpper(filepath.Ext(path)[1:]))
	}
	return nil
}

func isPNG(data []byte) bool { return bytes.HasPrefix(data, pngMagic) }

func isSVG(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return bytes.HasPrefix(data, []byte("<?xml")) || bytes.HasPrefix(data, []byte("<svg"))
}

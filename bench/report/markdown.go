package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BatchTableHeader heads the Markdown report's batch table; Validate looks
// for it to tell a report from a truncated file.
const BatchTableHeader = "| runtime | kind | batch median (min–max) | p50 | p90 | p99 | runs |"

// noData fills a cell without a figure.
const noData = "—"

// Markdown renders r and its summary s as a Markdown report.
func Markdown(r Report, s Summary) string {
	var b strings.Builder
	writeHeader(&b, r)
	writeBatchTable(&b, s)
	writeKubeletTable(&b, s)
	writeSteadyTable(&b, r, s)
	writeRequestsTable(&b, r)
	writeRatiosTable(&b, s)
	writeFailures(&b, r)
	return b.String()
}

func writeHeader(b *strings.Builder, r Report) {
	b.WriteString("# cribench: CRI runtime startup and steady state\n\n")
	h, c := r.Host, r.Config
	fmt.Fprintf(b, "Host %s (kernel %s, %d CPUs, %.1f GiB RAM). ",
		escape(h.Hostname), escape(h.Kernel), h.CPUs, float64(h.MemBytes)/(1<<30))
	fmt.Fprintf(b, "%d pods × %d repeats, image %s, CRI concurrency %s",
		c.Pods, c.Repeats, escape(c.Image), concurrency(c.Concurrency))
	if c.HostNetwork {
		b.WriteString(", host network")
	}
	if c.Steady > 0 {
		fmt.Fprintf(b, ", steady window %s", c.Steady)
	}
	if len(c.FloorConcurrency) > 0 {
		fmt.Fprintf(b, ", Docker floor concurrency %s", concurrencies(c.FloorConcurrency))
	}
	if r.Baseline != "" {
		fmt.Fprintf(b, ", baseline %s", escape(r.Baseline))
	}
	b.WriteString(".\n\n")
	if !r.Started.IsZero() {
		fmt.Fprintf(b, "Ran from %s to %s (%s).\n\n", r.Started.UTC().Format(time.RFC3339),
			r.Finished.UTC().Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Second))
	}
	if r.Command != "" {
		fmt.Fprintf(b, "Command: %s\n\n", codeSpan(r.Command))
	}
	b.WriteString("Times in seconds, medians over the repeats (min–max); failed runs are left out.\n\n")
}

func writeBatchTable(b *strings.Builder, s Summary) {
	b.WriteString("## Batch startup\n\n")
	b.WriteString(BatchTableHeader + "\n|---|---|---|---|---|---|---|\n")
	for _, g := range s.Groups {
		kind := g.Kind
		if g.Kind == KindDockerFloor && len(g.Concurrency) > 0 {
			kind += " (best c=" + concurrencies(g.Concurrency) + ")"
		}
		runs := strconv.Itoa(g.Runs)
		if g.Failed > 0 {
			runs += fmt.Sprintf(" (%d failed)", g.Failed)
		}
		row(b, escape(g.Runtime), escape(kind), durationSpread(g.Batch),
			durationCell(g.Latency.P50), durationCell(g.Latency.P90), durationCell(g.Latency.P99), runs)
	}
	b.WriteString("\n")
}

// writeKubeletTable shows the kubelet's own view of pod startup, which
// includes its sync loop and so is what the 2018 benchmark measured.
func writeKubeletTable(b *strings.Builder, s Summary) {
	var groups []Group
	for _, g := range s.Groups {
		if g.Kubelet != nil {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return
	}
	b.WriteString("## Kubelet pod start latency\n\n")
	b.WriteString("| runtime | kind | p50 | p90 | p99 |\n|---|---|---|---|---|\n")
	for _, g := range groups {
		row(b, escape(g.Runtime), escape(g.Kind), durationSpread(g.Kubelet.P50),
			durationSpread(g.Kubelet.P90), durationSpread(g.Kubelet.P99))
	}
	b.WriteString("\n")
}

func writeSteadyTable(b *strings.Builder, r Report, s Summary) {
	var groups []Group
	for _, g := range s.Groups {
		if g.Steady != nil {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return
	}
	fmt.Fprintf(b, "## Steady state (%d pods, %s)\n\n", r.Config.Pods, r.Config.Steady)
	b.WriteString("| runtime | component | CPU % of a core | RSS MiB |\n|---|---|---|---|\n")
	for _, g := range groups {
		rt := escape(g.Runtime)
		// The runtime's parts, their total, then the kubelet: the two
		// figures the 2018 comparison was about end each runtime's rows.
		for _, c := range g.Steady.Components {
			if c.Runtime {
				row(b, rt, escape(c.Name), percentSpread(c.CPU), mibSpread(c.RSS))
			}
		}
		row(b, rt, "**runtime total**", percentSpread(g.Steady.RuntimeCPU), mibSpread(g.Steady.RuntimeRSS))
		for _, c := range g.Steady.Components {
			if !c.Runtime {
				row(b, rt, escape(c.Name), percentSpread(c.CPU), mibSpread(c.RSS))
			}
		}
	}
	b.WriteString("\n")
}

// writeRequestsTable lists each node run's request rates over its steady
// window (the runtimes that serve metrics), busiest first.
func writeRequestsTable(b *strings.Builder, r Report) {
	header := false
	for _, run := range r.Runs {
		if run.Kind != KindNode || run.Steady == nil || len(run.Steady.Requests) == 0 {
			continue
		}
		if !header {
			b.WriteString("## Requests during the steady state\n\n")
			b.WriteString("Per second, from the runtime's own metrics at the window's ends.\n\n")
			b.WriteString("| runtime | repeat | request | per second |\n|---|---|---|---|\n")
			header = true
		}
		keys := make([]string, 0, len(run.Steady.Requests))
		for k := range run.Steady.Requests {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := run.Steady.Requests[keys[i]], run.Steady.Requests[keys[j]]
			return ri > rj || ri == rj && keys[i] < keys[j]
		})
		for _, k := range keys {
			if v := run.Steady.Requests[k]; v > 0 {
				row(b, escape(run.Runtime), strconv.Itoa(run.Repeat), escape(k), fmt.Sprintf("%.2f", v))
			}
		}
	}
	if header {
		b.WriteString("\n")
	}
}

func writeRatiosTable(b *strings.Builder, s Summary) {
	if len(s.Ratios) == 0 {
		return
	}
	b.WriteString("## Ratios\n\n")
	b.WriteString("Below 1: the runtime took less time or fewer resources than the one it is divided by. ")
	b.WriteString("The 2018 reference is Docker 18.03 + dockershim over containerd 1.1 (105 pods).\n\n")
	b.WriteString("| metric | ours (runtime/baseline) | 2018 reference |\n|---|---|---|\n")
	for _, r := range s.Ratios {
		ref := noData
		if r.Reference != nil {
			ref = fmt.Sprintf("%.2f×", *r.Reference)
		}
		row(b, escape(fmt.Sprintf("%s (%s)", r.Metric, r.Kind)),
			escape(fmt.Sprintf("%.2f× (%s/%s)", r.Value, r.Runtime, r.Over)), ref)
	}
	b.WriteString("\n")
}

func writeFailures(b *strings.Builder, r Report) {
	var failed []Run
	for _, run := range r.Runs {
		if run.Error != "" {
			failed = append(failed, run)
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(b, "## Failed runs\n\n%d of %d runs failed and are left out of every figure above:\n\n",
		len(failed), len(r.Runs))
	for _, run := range failed {
		fmt.Fprintf(b, "- %s %s, repeat %d, concurrency %s: %s\n", escape(run.Runtime), escape(run.Kind),
			run.Repeat, concurrency(run.Concurrency), escape(run.Error))
	}
	b.WriteString("\n")
}

// row writes one table row of already escaped cells.
func row(b *strings.Builder, cells ...string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// escape makes s safe inside a table cell or a list item: a pipe would end
// the cell, a newline the row.
func escape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// codeSpan quotes s as inline code, fenced by one more backtick than the
// longest run inside it so that a command's own backticks survive.
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func concurrency(c int) string {
	if c <= 0 {
		return "all"
	}
	return strconv.Itoa(c)
}

func concurrencies(cs []int) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = concurrency(c)
	}
	return strings.Join(parts, ", ")
}

func durationCell(st Stat[time.Duration]) string {
	if st.N == 0 {
		return noData
	}
	return fmt.Sprintf("%.2f", seconds(st.Median))
}

func durationSpread(st Stat[time.Duration]) string {
	if st.N == 0 {
		return noData
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", seconds(st.Median), seconds(st.Min), seconds(st.Max))
}

func percentSpread(st Stat[float64]) string {
	if st.N == 0 {
		return noData
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", 100*st.Median, 100*st.Min, 100*st.Max)
}

func mibSpread(st Stat[uint64]) string {
	if st.N == 0 {
		return noData
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f)", mib(st.Median), mib(st.Min), mib(st.Max))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

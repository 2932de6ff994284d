package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart names, each written as NAME.svg and NAME.png.
const (
	ChartLatency = "latency"
	ChartBatch   = "batch"
	ChartCPU     = "cpu"
	ChartRSS     = "rss"
	ChartRatios  = "ratios"
)

const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4.5 * vg.Inch
	// pngDPI makes the PNG 1200×675: sharp enough for a README, small
	// enough to commit.
	pngDPI = 150
)

// ChartNames lists the charts s has data for, in the order Charts writes
// them. Validate uses it to know which files must exist.
func ChartNames(s Summary) []string {
	var names []string
	if len(latencyGroups(s)) > 0 {
		names = append(names, ChartLatency)
	}
	if len(batchGroups(s)) > 0 {
		names = append(names, ChartBatch)
	}
	if len(steadyGroups(s)) > 0 {
		names = append(names, ChartCPU, ChartRSS)
	}
	if len(referenceRatios(s)) > 0 {
		names = append(names, ChartRatios)
	}
	return names
}

// Charts writes the charts s has data for into dir as SVG and PNG and
// returns the paths written.
func Charts(r Report, s Summary, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	builders := map[string]func(Report, Summary) (*plot.Plot, error){
		ChartLatency: latencyChart,
		ChartBatch:   batchChart,
		ChartCPU:     cpuChart,
		ChartRSS:     rssChart,
		ChartRatios:  ratiosChart,
	}
	var paths []string
	for _, name := range ChartNames(s) {
		p, err := builders[name](r, s)
		if err != nil {
			return paths, fmt.Errorf("chart %s: %w", name, err)
		}
		written, err := save(p, dir, name)
		paths = append(paths, written...)
		if err != nil {
			return paths, fmt.Errorf("chart %s: %w", name, err)
		}
	}
	return paths, nil
}

// save draws p once per format: the canvases are independent, and drawing
// is cheap next to encoding.
func save(p *plot.Plot, dir, name string) ([]string, error) {
	svg := vgsvg.New(chartWidth, chartHeight)
	png := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(pngDPI))}
	var paths []string
	for _, c := range []struct {
		ext    string
		canvas interface {
			vg.CanvasSizer
			io.WriterTo
		}
	}{{".svg", svg}, {".png", png}} {
		p.Draw(draw.New(c.canvas))
		path := filepath.Join(dir, name+c.ext)
		if err := writeFile(path, c.canvas); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeFile(path string, w io.WriterTo) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	_, err = w.WriteTo(f)
	return err
}

func latencyGroups(s Summary) []Group {
	return filterGroups(s, func(g Group) bool { return g.Latency.P50.N > 0 })
}

func batchGroups(s Summary) []Group {
	return filterGroups(s, func(g Group) bool { return g.Batch.N > 0 })
}

func steadyGroups(s Summary) []Group {
	return filterGroups(s, func(g Group) bool { return g.Steady != nil })
}

func filterGroups(s Summary, keep func(Group) bool) []Group {
	var out []Group
	for _, g := range s.Groups {
		if keep(g) {
			out = append(out, g)
		}
	}
	return out
}

// referenceRatios are the ratios of the metrics the 2018 reference has.
func referenceRatios(s Summary) []Ratio {
	var out []Ratio
	for _, r := range s.Ratios {
		if _, ok := Reference[r.Metric]; ok {
			out = append(out, r)
		}
	}
	return out
}

// groupLabel is two lines so that long runtime names do not collide on the
// axis.
func groupLabel(g Group) string {
	kind := g.Kind
	if g.Kind == KindDockerFloor && len(g.Concurrency) > 0 {
		kind = "floor c=" + concurrencies(g.Concurrency)
	}
	return g.Runtime + "\n" + kind
}

func latencyChart(_ Report, s Summary) (*plot.Plot, error) {
	groups := latencyGroups(s)
	labels := make([]string, len(groups))
	values := make([][]float64, 3)
	for i, g := range groups {
		labels[i] = groupLabel(g)
		values[0] = append(values[0], seconds(g.Latency.P50.Median))
		values[1] = append(values[1], seconds(g.Latency.P90.Median))
		values[2] = append(values[2], seconds(g.Latency.P99.Median))
	}
	p := newPlot("Pod startup latency (median over repeats)", "seconds")
	if err := groupedBars(p, labels, []string{"p50", "p90", "p99"}, values); err != nil {
		return nil, err
	}
	return p, nil
}

func batchChart(_ Report, s Summary) (*plot.Plot, error) {
	groups := batchGroups(s)
	labels := make([]string, len(groups))
	values := make(plotter.Values, len(groups))
	bars := errBars{XYs: make(plotter.XYs, len(groups)), YErrors: make(plotter.YErrors, len(groups))}
	for i, g := range groups {
		labels[i] = groupLabel(g)
		values[i] = seconds(g.Batch.Median)
		bars.XYs[i] = plotter.XY{X: float64(i), Y: values[i]}
		bars.YErrors[i].Low = values[i] - seconds(g.Batch.Min)
		bars.YErrors[i].High = seconds(g.Batch.Max) - values[i]
	}
	p := newPlot("Batch startup time (median, min–max)", "seconds")
	bc, err := plotter.NewBarChart(values, barWidth(len(groups), 1))
	if err != nil {
		return nil, err
	}
	bc.Color = plotutil.Color(0)
	eb, err := plotter.NewYErrorBars(bars)
	if err != nil {
		return nil, err
	}
	p.Add(bc, eb)
	nominalX(p, labels)
	return p, nil
}

// errBars gives plotter.NewYErrorBars the points and errors it wants in one
// value.
type errBars struct {
	plotter.XYs
	plotter.YErrors
}

func cpuChart(r Report, s Summary) (*plot.Plot, error) {
	return steadyChart(s, fmt.Sprintf("Steady-state CPU (%d pods)", r.Config.Pods), "% of a core",
		func(c ComponentStats) float64 { return 100 * c.CPU.Median })
}

func rssChart(r Report, s Summary) (*plot.Plot, error) {
	return steadyChart(s, fmt.Sprintf("Steady-state RSS (%d pods)", r.Config.Pods), "MiB",
		func(c ComponentStats) float64 { return mib(c.RSS.Median) })
}

// steadyChart stacks the components of each runtime, so that a bar's height
// is the whole node's cost and its segments show where it goes.
func steadyChart(s Summary, title, unit string, value func(ComponentStats) float64) (*plot.Plot, error) {
	groups := steadyGroups(s)
	labels := make([]string, len(groups))
	var names []string
	byName := map[string][]float64{}
	for i, g := range groups {
		labels[i] = groupLabel(g)
		for _, c := range g.Steady.Components {
			if _, ok := byName[c.Name]; !ok {
				names = append(names, c.Name)
				byName[c.Name] = make([]float64, len(groups))
			}
			byName[c.Name][i] = value(c)
		}
	}
	p := newPlot(title, unit)
	var below *plotter.BarChart
	for i, name := range names {
		bc, err := plotter.NewBarChart(plotter.Values(byName[name]), barWidth(len(groups), 1))
		if err != nil {
			return nil, err
		}
		bc.Color = plotutil.Color(i)
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(name, bc)
	}
	nominalX(p, labels)
	roomForLegend(p, len(names))
	return p, nil
}

func ratiosChart(_ Report, s Summary) (*plot.Plot, error) {
	rs := referenceRatios(s)
	col := map[string]int{}
	for i, m := range ReferenceMetrics {
		col[m] = i
	}
	var series []string
	values := map[string][]float64{}
	add := func(name, metric string, v float64) {
		if _, ok := values[name]; !ok {
			series = append(series, name)
			values[name] = make([]float64, len(ReferenceMetrics))
		}
		values[name][col[metric]] = v
	}
	for _, r := range rs {
		add(fmt.Sprintf("ours: %s/%s (%s)", r.Runtime, r.Over, r.Kind), r.Metric, r.Value)
	}
	for _, r := range rs {
		if r.Reference != nil {
			add("2018: Docker/containerd 1.1", r.Metric, *r.Reference)
		}
	}
	matrix := make([][]float64, len(series))
	for i, name := range series {
		matrix[i] = values[name]
	}
	p := newPlot("Ratios to "+s.Baseline+" (1 = equal; above: costs more)", "ratio")
	// The parity line goes first so that the room made for the legend
	// counts it when every bar is below 1.
	if err := addParity(p, len(ReferenceMetrics)); err != nil {
		return nil, err
	}
	if err := groupedBars(p, ReferenceMetrics, series, matrix); err != nil {
		return nil, err
	}
	return p, nil
}

// addParity draws the line at ratio 1, against which every bar reads.
func addParity(p *plot.Plot, n int) error {
	l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(n) - 0.5, Y: 1}})
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 96}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	return nil
}

func newPlot(title, unit string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// groupedBars draws values[i][j], series i at label j, the series side by
// side within each label.
func groupedBars(p *plot.Plot, labels, series []string, values [][]float64) error {
	w := barWidth(len(labels), len(series))
	for i, name := range series {
		bc, err := plotter.NewBarChart(plotter.Values(values[i]), w)
		if err != nil {
			return err
		}
		bc.Color = plotutil.Color(i)
		bc.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * w
		p.Add(bc)
		p.Legend.Add(name, bc)
	}
	nominalX(p, labels)
	roomForLegend(p, len(series))
	return nil
}

// barWidth shares about 60% of the plot's width between the bars of each
// label, within bounds that keep bars visible and not absurdly wide.
func barWidth(labels, series int) vg.Length {
	w := chartWidth * 0.8 / vg.Length(max(labels, 1)) * 0.6 / vg.Length(max(series, 1))
	return min(max(w, vg.Points(3)), vg.Points(60))
}

// nominalX labels the bar slots and gives each half a slot of margin, so
// that the outer bars do not touch the axes' ends.
func nominalX(p *plot.Plot, labels []string) {
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
}

// roomForLegend raises the Y axis so that a legend of the given number of
// entries, at the top, does not cover the tallest bars.
func roomForLegend(p *plot.Plot, entries int) {
	p.Y.Max *= 1 + 0.09*float64(max(entries, 1))
}

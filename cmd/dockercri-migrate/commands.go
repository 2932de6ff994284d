package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/moby/moby/client"
	"github.com/schollz/progressbar/v3"

	"dockercri/migrate"
)

// connect opens both ends; any failure is a connection error (exit 2).
func connect(ctx context.Context, o options) (*client.Client, *migrate.Containerd, error) {
	d, err := migrate.NewDocker(o.dockerEndpoint)
	if err != nil {
		return nil, nil, err
	}
	if _, err := d.Ping(ctx, client.PingOptions{}); err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("docker %s: %w", o.dockerEndpoint, err)
	}
	cd, err := migrate.NewContainerd(o.containerdAddress, o.containerdNamespace, o.snapshotter, o.timeout)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, cd, nil
}

func runCheck(ctx context.Context, o options, stdout io.Writer) (int, error) {
	d, cd, err := connect(ctx, o)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	defer cd.Close()
	info, err := d.Info(ctx, client.InfoOptions{})
	if err != nil {
		return 0, fmt.Errorf("docker info: %w", err)
	}
	cfg, err := migrate.ReadDaemonConfig(o.daemonConfig)
	if err != nil {
		return 0, err
	}
	static, err := migrate.StaticPodImages(o.staticPodPath)
	if err != nil {
		return 0, err
	}
	findings, err := migrate.CheckContainers(ctx, d)
	if err != nil {
		return 0, err
	}
	imgFindings, err := migrate.CheckImages(ctx, d, cd, migrate.Selection{StaticPodImages: static})
	if err != nil {
		return 0, err
	}
	findings = append(findings, imgFindings...)
	findings = append(findings, migrate.CheckDaemon(cfg, info.Info, o.certsDir)...)
	report := migrate.NewReport(findings)
	if o.json {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteTable(stdout)
	}
	return report.ExitCode(), err
}

func runImages(ctx context.Context, o options, stdout io.Writer) error {
	d, cd, err := connect(ctx, o)
	if err != nil {
		return err
	}
	defer d.Close()
	defer cd.Close()
	static, err := migrate.StaticPodImages(o.staticPodPath)
	if err != nil {
		return err
	}
	sel := migrate.Selection{AllContainers: true, AllImages: o.all, StaticPodImages: static}
	imgs, missing, err := migrate.UsedImages(ctx, d, sel)
	if err != nil {
		return err
	}
	for _, ref := range missing {
		fmt.Fprintf(stdout, "static pod image %s is not in Docker: containerd will pull it\n", ref)
	}
	todo, err := migrate.NotIn(ctx, cd, imgs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d image(s) selected, %d already in containerd namespace %s\n",
		len(imgs), len(imgs)-len(todo), o.containerdNamespace)
	if o.dryRun {
		return migrate.WritePlan(stdout, todo)
	}
	opts := migrate.CopyOptions{Out: stdout, Unpack: o.unpack}
	if isTerminal(stdout) {
		opts.Progress = newBar
	}
	res, err := cd.Copy(ctx, d, todo, opts)
	fmt.Fprintf(stdout, "copied %d image(s), %d bytes in %s (%.1f MB/s)\n",
		res.Images, res.Bytes, res.Duration.Round(1e6), mbPerSecond(res))
	return failWith(1, err)
}

func mbPerSecond(r migrate.CopyResult) float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Duration.Seconds()
}

// isTerminal: progress bars only for a person watching; a log gets lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newBar(w io.Writer, name string, size int64) io.WriteCloser {
	// Docker's image size is the uncompressed layers' sum, close to what
	// `docker save` streams, so it serves as the bar's first total.
	return &growingBar{bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

// growingBar raises the bar's total when the stream outgrows the estimate
// (tar headers and metadata): the bar fails writes past its total, and a
// progress display must never fail the copy.
type growingBar struct {
	bar *progressbar.ProgressBar
}

func (g *growingBar) Write(p []byte) (int, error) {
	if cur := g.bar.State().CurrentNum + int64(len(p)); cur > g.bar.GetMax64() {
		g.bar.ChangeMax64(cur)
	}
	_ = g.bar.Add64(int64(len(p))) // display only
	return len(p), nil
}

func (g *growingBar) Close() error {
	_ = g.bar.Finish()
	return nil
}

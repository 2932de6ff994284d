package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"dockercri/bench"
	"dockercri/bench/report"
)

// targets builds the runtimes from --runtime, --process and --kubelet-flag.
func targets(runtimes, processes, kubeletFlags, metrics []string) ([]bench.Target, error) {
	var ts []bench.Target
	index := map[string]int{}
	for _, r := range runtimes {
		name, endpoint, ok := strings.Cut(r, "=")
		if !ok || name == "" || endpoint == "" {
			return nil, fmt.Errorf("--runtime %q: want NAME=ENDPOINT", r)
		}
		if _, dup := index[name]; dup {
			return nil, fmt.Errorf("--runtime %q: %s given twice", r, name)
		}
		index[name] = len(ts)
		ts = append(ts, bench.Target{Name: name, Endpoint: endpoint})
	}
	for _, p := range processes {
		rt, spec, ok := strings.Cut(p, "/")
		i, known := index[rt]
		if !ok || !known {
			return nil, fmt.Errorf("--process %q: want RUNTIME/COMPONENT=..., RUNTIME one of --runtime", p)
		}
		m, err := bench.ParseMatcher(spec)
		if err != nil {
			return nil, err
		}
		ts[i].Components = append(ts[i].Components, m)
	}
	for _, f := range kubeletFlags {
		rt, flag, ok := strings.Cut(f, "=")
		i, known := index[rt]
		if !ok || !known {
			return nil, fmt.Errorf("--kubelet-flag %q: want RUNTIME=FLAG, RUNTIME one of --runtime", f)
		}
		ts[i].KubeletFlags = append(ts[i].KubeletFlags, flag)
	}
	for _, m := range metrics {
		rt, url, ok := strings.Cut(m, "=")
		i, known := index[rt]
		if !ok || !known || !strings.HasPrefix(url, "http") {
			return nil, fmt.Errorf("--metrics %q: want RUNTIME=http://HOST:PORT/metrics, RUNTIME one of --runtime", m)
		}
		ts[i].MetricsURL = url
	}
	return ts, nil
}

// kinds is what a subcommand runs; compare runs every kind its flags allow.
func kinds(cmd string, p bench.Plan) ([]string, error) {
	needRuntime := errors.New("give at least one --runtime NAME=ENDPOINT")
	switch cmd {
	case "batch":
		if len(p.Targets) == 0 {
			return nil, needRuntime
		}
		return []string{report.KindBatch}, nil
	case "docker-floor":
		if p.Docker == "" {
			return nil, errors.New("give --docker-endpoint")
		}
		return []string{report.KindDockerFloor}, nil
	case "node":
		if len(p.Targets) == 0 || p.Kubelet == "" {
			return nil, errors.New("give --runtime NAME=ENDPOINT and --kubelet BIN")
		}
		return []string{report.KindNode}, nil
	}
	if len(p.Targets) == 0 {
		return nil, needRuntime
	}
	k := []string{report.KindBatch}
	if p.Docker != "" {
		k = append(k, report.KindDockerFloor)
	}
	if p.Kubelet != "" {
		k = append(k, report.KindNode)
	}
	return k, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: want comma-separated counts ≥ 0", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		out = []int{0}
	}
	return out, nil
}

// clean removes every cribench pod from each runtime, and the floor's
// containers from Docker.
func clean(ctx context.Context, p bench.Plan) error {
	var errs []error
	for _, t := range p.Targets {
		c, err := bench.DialCRI(ctx, t.Endpoint)
		if err == nil {
			err = c.Remove(ctx, "")
			c.Close()
		}
		errs = append(errs, err)
	}
	if p.Docker != "" {
		f, err := bench.DialDocker(ctx, p.Docker, p.Pause)
		if err == nil {
			err = f.Remove(ctx, "")
			f.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

package bench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"dockercri/bench/report"
)

// Matcher picks the processes of one component: the process whose pid a
// pidfile holds, a fixed pid, or every process whose command line (its
// arguments joined by spaces) matches a regular expression.
type Matcher struct {
	Name    string
	Runtime bool // part of the container runtime's stack (not the kubelet)
	PidFile string
	Pid     int
	Cmd     *regexp.Regexp
}

// ParseMatcher reads "NAME=pidfile:PATH", "NAME=pid:N" or "NAME=cmd:REGEX".
func ParseMatcher(s string) (Matcher, error) {
	name, spec, ok := strings.Cut(s, "=")
	kind, arg, ok2 := strings.Cut(spec, ":")
	if !ok || !ok2 || name == "" || arg == "" {
		return Matcher{}, fmt.Errorf("process %q: want NAME=pidfile:PATH, NAME=pid:N or NAME=cmd:REGEX", s)
	}
	m := Matcher{Name: name, Runtime: true}
	switch kind {
	case "pidfile":
		m.PidFile = arg
	case "pid":
		pid, err := strconv.Atoi(arg)
		if err != nil || pid <= 0 {
			return Matcher{}, fmt.Errorf("process %q: bad pid", s)
		}
		m.Pid = pid
	case "cmd":
		re, err := regexp.Compile(arg)
		if err != nil {
			return Matcher{}, fmt.Errorf("process %q: %w", s, err)
		}
		m.Cmd = re
	default:
		return Matcher{}, fmt.Errorf("process %q: unknown kind %q (pidfile, pid, cmd)", s, kind)
	}
	return m, nil
}

func (m Matcher) String() string {
	switch {
	case m.PidFile != "":
		return m.Name + "=pidfile:" + m.PidFile
	case m.Pid != 0:
		return m.Name + "=pid:" + strconv.Itoa(m.Pid)
	case m.Cmd != nil:
		return m.Name + "=cmd:" + m.Cmd.String()
	}
	return m.Name
}

// Sampler reads the CPU time and resident memory of each component's
// processes from /proc.
type Sampler struct {
	fs    procfs.FS
	comps []Matcher
}

// NewSampler reads procfs at root ("" for /proc).
func NewSampler(root string, comps []Matcher) (*Sampler, error) {
	if root == "" {
		root = procfs.DefaultMountPoint
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("procfs %s: %w", root, err)
	}
	return &Sampler{fs: fs, comps: comps}, nil
}

// reading is one pass over /proc: per component, each pid's CPU seconds
// (user + system) and the summed RSS.
type reading struct {
	at  time.Time
	cpu map[string]map[int]float64
	rss map[string]uint64
}

// read takes one reading. A process that exits between the listing and its
// stat is left out.
func (s *Sampler) read() (reading, error) {
	r := reading{at: time.Now(), cpu: map[string]map[int]float64{}, rss: map[string]uint64{}}
	pids, err := s.pids()
	if err != nil {
		return r, err
	}
	for name, list := range pids {
		r.cpu[name] = map[int]float64{}
		for _, pid := range list {
			p, err := s.fs.Proc(pid)
			if err != nil {
				continue
			}
			st, err := p.Stat()
			if err != nil {
				continue
			}
			r.cpu[name][pid] = st.CPUTime()
			r.rss[name] += uint64(st.ResidentMemory())
		}
	}
	return r, nil
}

// pids lists each component's processes.
func (s *Sampler) pids() (map[string][]int, error) {
	out := map[string][]int{}
	var all procfs.Procs
	for _, m := range s.comps {
		out[m.Name] = out[m.Name][:0:0]
		switch {
		case m.Pid != 0:
			out[m.Name] = append(out[m.Name], m.Pid)
		case m.PidFile != "":
			b, err := os.ReadFile(m.PidFile)
			if err != nil {
				return nil, fmt.Errorf("component %s: %w", m.Name, err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				return nil, fmt.Errorf("component %s: pidfile %s: %w", m.Name, m.PidFile, err)
			}
			out[m.Name] = append(out[m.Name], pid)
		case m.Cmd != nil:
			if all == nil {
				var err error
				if all, err = s.fs.AllProcs(); err != nil {
					return nil, fmt.Errorf("list processes: %w", err)
				}
			}
			for _, p := range all {
				args, err := p.CmdLine()
				if err == nil && len(args) > 0 && m.Cmd.MatchString(strings.Join(args, " ")) {
					out[m.Name] = append(out[m.Name], p.PID)
				}
			}
		}
	}
	return out, nil
}

// Steady samples every interval for d and sums the window: CPU as the share
// of a core each component used (the CPU seconds its processes gained,
// counted for the processes seen at both ends of a step), RSS as the median
// of the sums.
func (s *Sampler) Steady(ctx context.Context, d, interval time.Duration, tick func()) (*report.Steady, error) {
	first, err := s.read()
	if err != nil {
		return nil, err
	}
	st := &report.Steady{Interval: interval}
	cpu := map[string]float64{}
	rss := map[string][]uint64{}
	prev := first
	timer := time.NewTicker(interval)
	defer timer.Stop()
	for time.Since(first.at) < d {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		cur, err := s.read()
		if err != nil {
			return nil, err
		}
		sample := report.SteadySample{Offset: cur.at.Sub(first.at), CPU: map[string]float64{}, RSS: map[string]uint64{}}
		secs := cur.at.Sub(prev.at).Seconds()
		for name := range cur.cpu {
			used := cpuUsed(prev, cur, name)
			cpu[name] += used
			sample.CPU[name] = used / secs
			sample.RSS[name] = cur.rss[name]
			rss[name] = append(rss[name], cur.rss[name])
		}
		st.Samples = append(st.Samples, sample)
		prev = cur
		tick()
	}
	st.Duration = prev.at.Sub(first.at)
	for _, m := range s.comps {
		c := report.Component{Name: m.Name, Runtime: m.Runtime, Processes: len(prev.cpu[m.Name])}
		if st.Duration > 0 {
			c.CPU = cpu[m.Name] / st.Duration.Seconds()
		}
		c.RSS = median(rss[m.Name])
		st.Components = append(st.Components, c)
	}
	return st, nil
}

// cpuUsed is the CPU seconds a component's processes gained between two
// readings, counting only processes in both: a pid that is new may be a
// reused one, and one that left took its last ticks with it.
func cpuUsed(prev, cur reading, name string) float64 {
	used := 0.0
	for pid, t := range cur.cpu[name] {
		if before, ok := prev.cpu[name][pid]; ok && t >= before {
			used += t - before
		}
	}
	return used
}

func median(v []uint64) uint64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

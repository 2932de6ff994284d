// Package cgroups reads a container's CPU, memory and process counts
// straight from its cgroup files, cgroup v1 or v2. That costs a few small
// file reads per container, where Docker's stats API costs a daemon round
// trip and, without one-shot, a second's wait for two samples.
//
// It owns the cgroup v1/v2 path discovery and file parsing; it may import
// the standard library only, and knows nothing of Docker or the CRI.
package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stats is one sample of a container's cgroup.
type Stats struct {
	Time time.Time
	// CPUUsageNanos is the cumulative CPU time of every process, in ns.
	CPUUsageNanos uint64
	// MemoryUsage counts page cache too; WorkingSet is usage less inactive
	// file pages, what the kubelet evicts on (cri-dockerd reported usage).
	MemoryUsage     uint64
	WorkingSet      uint64
	MemoryLimit     uint64 // 0 when there is none
	RSS             uint64
	PageFaults      uint64
	MajorPageFaults uint64
	Pids            uint64
	// Pressure stall information, nil where the kernel gives none for
	// this cgroup (no unified hierarchy, or PSI off).
	CPUPressure, MemoryPressure, IOPressure *Pressure
}

// Pressure is one *.pressure file: the share of time some (or all, full)
// of the cgroup's tasks stalled on the resource.
type Pressure struct {
	Some, Full PressureLine
}

// PressureLine is one line of a *.pressure file; Avg10/60/300 are percents.
type PressureLine struct {
	Avg10, Avg60, Avg300 float64
	Total                time.Duration
}

// Paths are the cgroup directories of one container.
type Paths struct {
	V2     string // the unified directory, when the host runs cgroup v2
	CPU    string // v1: the directory holding cpuacct.usage
	Memory string // v1
	Pids   string // v1
	// Pressure is the unified directory holding cpu/memory/io.pressure: the
	// same as V2 on a v2 host; on a hybrid host (v1 controllers, v2 mounted
	// at <root>/unified) the process's unified cgroup, which the kernel
	// keeps PSI for even with no controller enabled there.
	Pressure string
}

// Parent is the cgroup one level up in every hierarchy: the pod's, for a
// container the kubelet gave a pod cgroup parent.
func (p Paths) Parent() Paths {
	up := func(dir string) string {
		if dir == "" {
			return ""
		}
		return filepath.Dir(dir)
	}
	return Paths{V2: up(p.V2), CPU: up(p.CPU), Memory: up(p.Memory), Pids: up(p.Pids), Pressure: up(p.Pressure)}
}

// Roots are where the files are: "/proc" and "/sys/fs/cgroup" on a host,
// temporary directories in tests.
type Roots struct {
	Proc   string
	Cgroup string
}

// HostRoots are the real ones.
var HostRoots = Roots{Proc: "/proc", Cgroup: "/sys/fs/cgroup"}

// ErrNotFound means the process or its cgroup is gone.
var ErrNotFound = errors.New("cgroup not found")

// PathsOf resolves the cgroup directories of a process from
// /proc/<pid>/cgroup, which gives the path under each hierarchy (v1: one
// line per hierarchy, "N:controller[,controller]:path"; v2: "0::path").
func (r Roots) PathsOf(pid int) (Paths, error) {
	b, err := os.ReadFile(filepath.Join(r.Proc, strconv.Itoa(pid), "cgroup"))
	if errors.Is(err, os.ErrNotExist) {
		return Paths{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	if err != nil {
		return Paths{}, err
	}
	var p Paths
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		if parts[0] == "0" && ctrls == "" {
			unified = path
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			dir := r.v1Dir(ctrls, c, path)
			switch c {
			case "cpuacct":
				p.CPU = dir
			case "memory":
				p.Memory = dir
			case "pids":
				p.Pids = dir
			}
		}
	}
	if unified != "" {
		rel := filepath.Clean("/" + unified)
		if p.CPU == "" && p.Memory == "" {
			p.V2 = filepath.Join(r.Cgroup, rel)
			p.Pressure = p.V2
		} else if dir := filepath.Join(r.Cgroup, "unified", rel); isDir(dir) {
			p.Pressure = dir
		}
	}
	if p.V2 == "" && p.CPU == "" && p.Memory == "" && p.Pids == "" {
		return Paths{}, fmt.Errorf("pid %d: no cpu or memory cgroup: %w", pid, ErrNotFound)
	}
	return p, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// v1Dir finds a v1 hierarchy's mount: named after all its controllers
// ("cpu,cpuacct"), or after one of them when they are mounted apart.
func (r Roots) v1Dir(ctrls, ctrl, path string) string {
	rel := filepath.Clean("/" + path)
	for _, name := range []string{ctrls, ctrl} {
		if _, err := os.Stat(filepath.Join(r.Cgroup, name)); err == nil {
			return filepath.Join(r.Cgroup, name, rel)
		}
	}
	return filepath.Join(r.Cgroup, ctrl, rel)
}

// Read takes one sample.
func Read(p Paths, now time.Time) (Stats, error) {
	var s Stats
	var err error
	if p.V2 != "" {
		s, err = readV2(p.V2, now)
	} else {
		s, err = readV1(p, now)
	}
	if err != nil || p.Pressure == "" {
		return s, err
	}
	// A kernel without PSI (or booted psi=0) has no such files: no pressure.
	s.CPUPressure, _ = readPressure(filepath.Join(p.Pressure, "cpu.pressure"))
	s.MemoryPressure, _ = readPressure(filepath.Join(p.Pressure, "memory.pressure"))
	s.IOPressure, _ = readPressure(filepath.Join(p.Pressure, "io.pressure"))
	return s, nil
}

// readPressure parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and
// the "full" line (absent from cpu.pressure before Linux 5.13: zero then).
// total is in microseconds.
func readPressure(path string) (*Pressure, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Pressure
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var l *PressureLine
		switch f[0] {
		case "some":
			l = &p.Some
		case "full":
			l = &p.Full
		default:
			continue
		}
		found = true
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "avg10":
				l.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				l.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				l.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				us, _ := strconv.ParseUint(v, 10, 64)
				l.Total = time.Duration(us) * time.Microsecond
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no pressure lines", path)
	}
	return &p, nil
}

func readV1(p Paths, now time.Time) (Stats, error) {
	s := Stats{Time: now}
	var err error
	if p.CPU != "" {
		if s.CPUUsageNanos, err = readUint(filepath.Join(p.CPU, "cpuacct.usage")); err != nil {
			return Stats{}, err
		}
	}
	if p.Memory != "" {
		if s.MemoryUsage, err = readUint(filepath.Join(p.Memory, "memory.usage_in_bytes")); err != nil {
			return Stats{}, err
		}
		kv, err := readKV(filepath.Join(p.Memory, "memory.stat"))
		if err != nil {
			return Stats{}, err
		}
		s.RSS, s.PageFaults, s.MajorPageFaults = kv["total_rss"], kv["total_pgfault"], kv["total_pgmajfault"]
		s.WorkingSet = sub(s.MemoryUsage, kv["total_inactive_file"])
		// v1 reports "no limit" as a huge page-aligned number.
		if limit, err := readUint(filepath.Join(p.Memory, "memory.limit_in_bytes")); err == nil && limit < 1<<62 {
			s.MemoryLimit = limit
		}
	}
	if p.Pids != "" {
		s.Pids, _ = readUint(filepath.Join(p.Pids, "pids.current"))
	}
	return s, nil
}

func readV2(dir string, now time.Time) (Stats, error) {
	s := Stats{Time: now}
	cpu, err := readKV(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return Stats{}, err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return Stats{}, err
	}
	mem, err := readKV(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return Stats{}, err
	}
	s.RSS, s.PageFaults, s.MajorPageFaults = mem["anon"], mem["pgfault"], mem["pgmajfault"]
	s.WorkingSet = sub(s.MemoryUsage, mem["inactive_file"])
	s.MemoryLimit, _ = readUint(filepath.Join(dir, "memory.max")) // "max" reads as 0: none
	s.Pids, _ = readUint(filepath.Join(dir, "pids.current"))
	return s, nil
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readKV reads a "key value" per line file (memory.stat, cpu.stat).
func readKV(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv, sc.Err()
}

// NetDev is one interface's counters from /proc/<pid>/net/dev: the pod's
// network namespace as its pause process sees it.
type NetDev struct {
	Name              string
	RxBytes, RxErrors uint64
	TxBytes, TxErrors uint64
}

// NetDevs reads the interfaces of a process's network namespace, loopback
// excluded.
func (r Roots) NetDevs(pid int) ([]NetDev, error) {
	b, err := os.ReadFile(filepath.Join(r.Proc, strconv.Itoa(pid), "net", "dev"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var out []NetDev
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" || strings.Contains(name, "|") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		n := NetDev{Name: name}
		n.RxBytes, _ = strconv.ParseUint(f[0], 10, 64)
		n.RxErrors, _ = strconv.ParseUint(f[2], 10, 64)
		n.TxBytes, _ = strconv.ParseUint(f[8], 10, 64)
		n.TxErrors, _ = strconv.ParseUint(f[10], 10, 64)
		out = append(out, n)
	}
	return out, nil
}

package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeHost lays out /proc/<pid>/cgroup and the cgroup files of one
// container as a cgroup v1 host does, controllers mounted apart (as on this
// project's machines) or together.
func fakeV1(t *testing.T, cpuMount string) (Roots, int) {
	r := Roots{Proc: t.TempDir(), Cgroup: t.TempDir()}
	const pid = 42
	cpuLine := "2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n"
	if cpuMount == "cpu,cpuacct" {
		cpuLine = "2:cpu,cpuacct:/docker/abc\n"
	}
	write(t, filepath.Join(r.Proc, "42", "cgroup"), "8:pids:/docker/abc\n4:memory:/docker/abc\n"+cpuLine+"0::/docker/abc\n")
	write(t, filepath.Join(r.Cgroup, cpuMount, "docker/abc/cpuacct.usage"), "123456789\n")
	write(t, filepath.Join(r.Cgroup, "memory/docker/abc/memory.usage_in_bytes"), "1000000\n")
	write(t, filepath.Join(r.Cgroup, "memory/docker/abc/memory.stat"),
		"cache 500000\nrss 300000\ntotal_rss 400000\ntotal_inactive_file 250000\ntotal_pgfault 77\ntotal_pgmajfault 3\n")
	write(t, filepath.Join(r.Cgroup, "pids/docker/abc/pids.current"), "5\n")
	write(t, filepath.Join(r.Cgroup, "memory/docker/abc/memory.limit_in_bytes"), "9223372036854771712\n")
	return r, pid
}

func TestReadV1(t *testing.T) {
	for _, mount := range []string{"cpuacct", "cpu,cpuacct"} {
		t.Run(mount, func(t *testing.T) {
			r, pid := fakeV1(t, mount)
			p, err := r.PathsOf(pid)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(100, 0)
			s, err := Read(p, now)
			if err != nil {
				t.Fatal(err)
			}
			want := Stats{Time: now, CPUUsageNanos: 123456789, MemoryUsage: 1000000, WorkingSet: 750000, RSS: 400000, PageFaults: 77, MajorPageFaults: 3, Pids: 5}
			if s != want {
				t.Fatalf("Read = %+v, want %+v", s, want)
			}
		})
	}
}

func TestReadV2(t *testing.T) {
	r := Roots{Proc: t.TempDir(), Cgroup: t.TempDir()}
	write(t, filepath.Join(r.Proc, "7", "cgroup"), "0::/system.slice/docker-abc.scope\n")
	dir := filepath.Join(r.Cgroup, "system.slice/docker-abc.scope")
	write(t, filepath.Join(dir, "cpu.stat"), "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
	write(t, filepath.Join(dir, "memory.current"), "4096000\n")
	write(t, filepath.Join(dir, "memory.stat"), "anon 1000000\nfile 3000000\ninactive_file 96000\npgfault 10\npgmajfault 1\n")
	write(t, filepath.Join(dir, "pids.current"), "2\n")
	write(t, filepath.Join(dir, "memory.max"), "8192000\n")
	p, err := r.PathsOf(7)
	if err != nil || p.V2 != dir {
		t.Fatalf("PathsOf = %+v, %v", p, err)
	}
	s, err := Read(p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsageNanos: 2500000, MemoryUsage: 4096000, WorkingSet: 4000000, MemoryLimit: 8192000, RSS: 1000000, PageFaults: 10, MajorPageFaults: 1, Pids: 2}
	if s != want {
		t.Fatalf("Read = %+v, want %+v", s, want)
	}
}

func TestMemoryLimitV1(t *testing.T) {
	r, pid := fakeV1(t, "cpuacct")
	p, _ := r.PathsOf(pid)
	if s, _ := Read(p, time.Time{}); s.MemoryLimit != 0 {
		t.Fatalf("unlimited read as %d", s.MemoryLimit)
	}
	write(t, filepath.Join(r.Cgroup, "memory/docker/abc/memory.limit_in_bytes"), "52428800\n")
	if s, _ := Read(p, time.Time{}); s.MemoryLimit != 50<<20 {
		t.Fatalf("limit read as %d", s.MemoryLimit)
	}
}

func TestWorkingSetNeverNegative(t *testing.T) {
	r, pid := fakeV1(t, "cpuacct")
	write(t, filepath.Join(r.Cgroup, "memory/docker/abc/memory.stat"), "total_inactive_file 9999999\n")
	p, _ := r.PathsOf(pid)
	s, err := Read(p, time.Time{})
	if err != nil || s.WorkingSet != 0 {
		t.Fatalf("working set = %d, %v", s.WorkingSet, err)
	}
}

func TestGone(t *testing.T) {
	r, pid := fakeV1(t, "cpuacct")
	if _, err := r.PathsOf(pid + 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent pid: %v", err)
	}
	p, _ := r.PathsOf(pid)
	os.RemoveAll(filepath.Join(r.Cgroup, "memory/docker/abc"))
	if _, err := Read(p, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed cgroup: %v", err)
	}
}

func TestNetDevs(t *testing.T) {
	r := Roots{Proc: t.TempDir()}
	write(t, filepath.Join(r.Proc, "9", "net", "dev"), `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5000      10    2    0    0     0          0         0     7000      12    1    0    0     0       0          0
`)
	got, err := r.NetDevs(9)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (NetDev{Name: "eth0", RxBytes: 5000, RxErrors: 2, TxBytes: 7000, TxErrors: 1}) {
		t.Fatalf("NetDevs = %+v", got)
	}
}

func TestReadPressure(t *testing.T) {
	tests := []struct {
		name string
		give string
		want *Pressure
	}{
		{
			name: "some and full",
			give: "some avg10=1.50 avg60=0.86 avg300=10.23 total=5356\nfull avg10=0.00 avg60=0.25 avg300=0.00 total=7\n",
			want: &Pressure{
				Some: PressureLine{Avg10: 1.5, Avg60: 0.86, Avg300: 10.23, Total: 5356 * time.Microsecond},
				Full: PressureLine{Avg60: 0.25, Total: 7 * time.Microsecond},
			},
		},
		{
			name: "cpu before Linux 5.13: no full line",
			give: "some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n",
			want: &Pressure{Some: PressureLine{Total: 12 * time.Microsecond}},
		},
		{name: "not a pressure file", give: "garbage\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cpu.pressure")
			write(t, path, tt.give)
			got, err := readPressure(path)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("readPressure = %+v, want an error", got)
				}
				return
			}
			if err != nil || *got != *tt.want {
				t.Fatalf("readPressure = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// A hybrid host (v1 controllers, v2 at <root>/unified) keeps PSI in the
// unified hierarchy; the pod's cgroup is the container's parent.
func TestPressureOnHybridHost(t *testing.T) {
	r, pid := fakeV1(t, "cpuacct")
	psi := "some avg10=2.00 avg60=1.00 avg300=0.50 total=1000\nfull avg10=1.00 avg60=0.50 avg300=0.25 total=500\n"
	for _, f := range []string{"cpu.pressure", "memory.pressure", "io.pressure"} {
		write(t, filepath.Join(r.Cgroup, "unified/docker/abc", f), psi)
	}
	p, err := r.PathsOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(r.Cgroup, "unified/docker/abc"); p.Pressure != want || p.V2 != "" {
		t.Fatalf("Paths = %+v, want Pressure %s and no V2", p, want)
	}
	s, err := Read(p, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*Pressure{"cpu": s.CPUPressure, "memory": s.MemoryPressure, "io": s.IOPressure} {
		if got == nil || got.Some.Avg10 != 2 || got.Full.Total != 500*time.Microsecond {
			t.Errorf("%s pressure = %+v", name, got)
		}
	}
	up := p.Parent()
	if up.CPU != filepath.Join(r.Cgroup, "cpuacct/docker") || up.Pressure != filepath.Join(r.Cgroup, "unified/docker") || up.V2 != "" {
		t.Fatalf("Parent = %+v", up)
	}
}

// Without a unified mount there is no pressure, and no error.
func TestNoPressureWithoutUnified(t *testing.T) {
	r, pid := fakeV1(t, "cpuacct")
	p, err := r.PathsOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Read(p, time.Unix(100, 0))
	if err != nil || p.Pressure != "" || s.CPUPressure != nil {
		t.Fatalf("Paths %+v, Read %+v, %v", p, s, err)
	}
}

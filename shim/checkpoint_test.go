package shim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	sbID1 = strings.Repeat("a", 64)
	sbID2 = strings.Repeat("b", 64)
)

func TestCheckpointRoundTripSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &sandboxCheckpoint{Name: "web", Namespace: "default", UID: "u1", Attempt: 2, HostNetwork: true,
		PortMappings: []portMapping{{Protocol: "tcp", ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"}}}
	if err := s.put(sbID1, want); err != nil {
		t.Fatal(err)
	}
	reopened, err := openCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := reopened.get(sbID1)
	if got == nil || got.Name != "web" || got.Attempt != 2 || !got.HostNetwork || len(got.PortMappings) != 1 ||
		got.PortMappings[0].HostPort != 8080 {
		t.Fatalf("reloaded checkpoint = %+v", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want 1 (no temporary file left)", len(entries))
	}
}

func TestCheckpointCorruptionDetectedAndRemoved(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(b []byte) []byte
	}{
		{name: "value changed", mangle: func(b []byte) []byte { return []byte(strings.Replace(string(b), `"web"`, `"evil"`, 1)) }},
		{name: "truncated", mangle: func(b []byte) []byte { return b[:len(b)/2] }},
		{name: "empty", mangle: func([]byte) []byte { return nil }},
		{name: "checksum dropped", mangle: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"checksum":"`, `"checksum":"0`, 1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openCheckpointStore(dir)
			if err := s.put(sbID1, &sandboxCheckpoint{Name: "web", Namespace: "ns"}); err != nil {
				t.Fatal(err)
			}
			if err := s.put(sbID2, &sandboxCheckpoint{Name: "ok", Namespace: "ns"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, sbID1)
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tt.mangle(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.readFile(sbID1); !errors.Is(err, errCorruptCheckpoint) {
				t.Fatalf("readFile error = %v, want errCorruptCheckpoint", err)
			}
			reopened, err := openCheckpointStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			if reopened.get(sbID1) != nil {
				t.Fatal("a corrupt checkpoint was loaded")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatal("a corrupt checkpoint file was left behind")
			}
			if reopened.get(sbID2) == nil {
				t.Fatal("a good checkpoint was lost with the corrupt one")
			}
		})
	}
}

func TestCheckpointStrayFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".tmp-"+sbID1+"123"), []byte("{"), 0o600) // an interrupted write
	os.WriteFile(filepath.Join(dir, "not-an-id"), []byte("{}"), 0o600)
	s, err := openCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ids()) != 0 {
		t.Fatalf("ids = %v", s.ids())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("stray files left: %v", entries)
	}
}

func TestCheckpointRefusesNonIDs(t *testing.T) {
	s, _ := openCheckpointStore(t.TempDir())
	for _, id := range []string{"../../etc/passwd", "abc", strings.Repeat("A", 64), ""} {
		if err := s.put(id, &sandboxCheckpoint{}); err == nil {
			t.Errorf("put(%q) succeeded", id)
		}
	}
	if err := s.remove("../x"); err != nil {
		t.Errorf("remove of a non-ID must be a no-op, got %v", err)
	}
}

func TestCheckpointRemoveIsIdempotent(t *testing.T) {
	s, _ := openCheckpointStore(t.TempDir())
	if err := s.put(sbID1, &sandboxCheckpoint{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.remove(sbID1); err != nil {
			t.Fatalf("remove #%d: %v", i+1, err)
		}
	}
	if s.get(sbID1) != nil {
		t.Fatal("still present")
	}
}

// TestCheckpointWithoutResourcesStillLoads reads a checkpoint written by
// dockercri before pod resources were recorded (the file below is what that
// version wrote): it must keep its checksum and load as it was.
func TestCheckpointWithoutResourcesStillLoads(t *testing.T) {
	const before = `{"version":"v1","name":"web","namespace":"default","uid":"uid-web","attempt":1,"runtimeHandler":"runc",` +
		`"portMappings":[{"protocol":"TCP","containerPort":80,"hostPort":8080}],"network":"cni-up","ips":["10.88.0.5"],` +
		`"createdAt":1795341600000000000,"checksum":"917afa1ae27d350c9f4bea72ddf84050f576c16f91cef31dc86b7fcabd614178"}`
	id := strings.Repeat("c", 64)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, id), []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := openCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp := s.get(id)
	if cp == nil || cp.Name != "web" || cp.Network != netUp || len(cp.IPs) != 1 || cp.Overhead != nil || cp.Resources != nil {
		t.Fatalf("old checkpoint = %+v", cp)
	}
	// Written back unchanged, it is the same file.
	if err := s.put(id, cp); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, id)); string(b) != before {
		t.Fatalf("rewritten as\n%s\nwant\n%s", b, before)
	}
	// With resources it gains the fields, and loads again.
	cp.Resources = &podResources{CPUShares: 2, HugepageLimits: []hugepageLimit{{PageSize: "2MB"}}}
	if err := s.put(id, cp); err != nil {
		t.Fatal(err)
	}
	reopened, err := openCheckpointStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := reopened.get(id); got == nil || got.Resources == nil || got.Resources.CPUShares != 2 || got.Resources.HugepageLimits[0].PageSize != "2MB" {
		t.Fatalf("checkpoint with resources = %+v", got)
	}
}

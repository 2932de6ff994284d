package legacy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dockercri/shim/legacy/internal/config"
	"dockercri/shim/legacy/internal/core"
)

// The fixtures in testdata are the real writers' bytes, not this package's.
// cri-dockerd-*.json come from cri-dockerd itself (github.com/Mirantis/
// cri-dockerd at 246bd65, go-spew v1.1.1 vendored): a throwaway main built
// with -mod=vendor called core.NewPodSandboxCheckpoint(...).
// MarshalCheckpoint() and saved the result. dockershim-*.json come from the
// same main with a copy of cri-dockerd's core/checkpoint.go, config's
// Protocol and PortMapping and store/checksum.go, all renamed into one
// package dockershim: that is what Kubernetes 1.23's
// pkg/kubelet/dockershim/docker_checkpoint.go with its checkpointmanager
// checksum is, cri-dockerd having been forked from it. The writers always
// set all three pointers of a mapping; cri-dockerd-nilfields.json was made
// with only a container port, to have a genuine checksum over nil pointers.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	frontend := []PortMapping{
		{Protocol: "tcp", ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"},
		{Protocol: "udp", ContainerPort: 53, HostPort: 5353, HostIP: "10.0.0.5"},
	}
	sctp := []PortMapping{{Protocol: "sctp", ContainerPort: 9899, HostPort: 9899}}
	tests := []struct {
		give string
		want Checkpoint
	}{
		{"cri-dockerd-hostnetwork.json", Checkpoint{Writer: CRIDockerd, Name: "kube-proxy-x7k2p", Namespace: "kube-system", HostNetwork: true}},
		{"cri-dockerd-noports.json", Checkpoint{Writer: CRIDockerd, Name: "nginx-7c5ddbdf54-2xk9q", Namespace: "default"}},
		{"cri-dockerd-ports.json", Checkpoint{Writer: CRIDockerd, Name: "frontend-0", Namespace: "web", PortMappings: frontend}},
		{"cri-dockerd-sctp.json", Checkpoint{Writer: CRIDockerd, Name: "sctp-probe", Namespace: "telco", PortMappings: sctp}},
		{"cri-dockerd-nilfields.json", Checkpoint{Writer: CRIDockerd, Name: "nil-fields", Namespace: "default",
			PortMappings: []PortMapping{{Protocol: "tcp", ContainerPort: 8443}}}},
		{"dockershim-hostnetwork.json", Checkpoint{Writer: Dockershim, Name: "kube-proxy-x7k2p", Namespace: "kube-system", HostNetwork: true}},
		{"dockershim-noports.json", Checkpoint{Writer: Dockershim, Name: "nginx-7c5ddbdf54-2xk9q", Namespace: "default"}},
		{"dockershim-ports.json", Checkpoint{Writer: Dockershim, Name: "frontend-0", Namespace: "web", PortMappings: frontend}},
		{"dockershim-sctp.json", Checkpoint{Writer: Dockershim, Name: "sctp-probe", Namespace: "telco", PortMappings: sctp}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := Parse(fixture(t, tt.give))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestParseTampered changes one thing in a real file. Everything under data
// is covered by the checksum; version aside, the envelope is not, in either
// writer, so a renamed pod still verifies.
func TestParseTampered(t *testing.T) {
	tests := []struct {
		name       string
		give       string // fixture
		old, new   string
		wantErr    bool
		wantWriter Writer
		wantName   string
		wantSpace  string
	}{
		{name: "host port", give: "cri-dockerd-ports.json", old: `"host_port":8080`, new: `"host_port":8081`, wantErr: true},
		{name: "container port", give: "dockershim-ports.json", old: `"container_port":80,`, new: `"container_port":81,`, wantErr: true},
		{name: "host ip", give: "cri-dockerd-ports.json", old: `"127.0.0.1"`, new: `"127.0.0.2"`, wantErr: true},
		{name: "protocol", give: "dockershim-sctp.json", old: `"sctp"`, new: `"tcp"`, wantErr: true},
		{name: "host network", give: "cri-dockerd-hostnetwork.json", old: `"data":{"host_network":true}`, new: `"data":{}`, wantErr: true},
		{name: "port added", give: "dockershim-noports.json", old: `"data":{}`, new: `"data":{"port_mappings":[{"container_port":22,"host_port":22}]}`, wantErr: true},
		{name: "checksum", give: "cri-dockerd-sctp.json", old: `"checksum":2550450186`, new: `"checksum":2550450187`, wantErr: true},
		{name: "checksum of the other writer", give: "cri-dockerd-sctp.json", old: `"checksum":2550450186`, new: `"checksum":1250797866`, wantWriter: Dockershim, wantName: "sctp-probe", wantSpace: "telco"},
		{name: "version", give: "cri-dockerd-noports.json", old: `"version":"v1"`, new: `"version":"v2"`, wantErr: true},
		{name: "name not covered", give: "cri-dockerd-ports.json", old: `"name":"frontend-0"`, new: `"name":"frontend-1"`, wantWriter: CRIDockerd, wantName: "frontend-1", wantSpace: "web"},
		{name: "namespace not covered", give: "dockershim-ports.json", old: `"namespace":"web"`, new: `"namespace":"wex"`, wantWriter: Dockershim, wantName: "frontend-0", wantSpace: "wex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := fixture(t, tt.give)
			give := bytes.Replace(orig, []byte(tt.old), []byte(tt.new), 1)
			if bytes.Equal(give, orig) {
				t.Fatalf("%q not in %s", tt.old, tt.give)
			}
			got, err := Parse(give)
			if tt.wantErr {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Parse = %+v, %v; want ErrCorrupt", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Writer != tt.wantWriter || got.Name != tt.wantName || got.Namespace != tt.wantSpace {
				t.Errorf("Parse = %s %s/%s, want %s %s/%s", got.Writer, got.Namespace, got.Name, tt.wantWriter, tt.wantSpace, tt.wantName)
			}
		})
	}
}

func TestParseGarbage(t *testing.T) {
	// A null mapping is something neither writer made, but its checksum can
	// be right; it must not panic and is kept as an empty mapping.
	nullSum := checksum(core.CheckpointData{PortMappings: []*config.PortMapping{nil}})
	tests := []struct {
		name    string
		give    string
		wantErr bool
	}{
		{name: "empty", give: "", wantErr: true},
		{name: "not json", give: "\x00\x01garbage", wantErr: true},
		{name: "null", give: "null", wantErr: true},
		{name: "array", give: "[]", wantErr: true},
		{name: "no data", give: `{"version":"v1","name":"a","namespace":"b","checksum":0}`, wantErr: true},
		{name: "null data", give: `{"version":"v1","name":"a","namespace":"b","data":null,"checksum":0}`, wantErr: true},
		{name: "negative checksum", give: `{"version":"v1","data":{},"checksum":-1}`, wantErr: true},
		{name: "string port", give: `{"version":"v1","data":{"port_mappings":[{"host_port":"80"}]},"checksum":0}`, wantErr: true},
		{name: "trailing bytes", give: string(fixture(t, "cri-dockerd-noports.json")) + "x", wantErr: true},
		{name: "null mapping", give: fmt.Sprintf(`{"version":"v1","name":"a","namespace":"b","data":{"port_mappings":[null]},"checksum":%d}`, nullSum)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.give))
			if tt.wantErr {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Parse = %+v, %v; want ErrCorrupt", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := []PortMapping{{Protocol: "tcp"}}
			if !reflect.DeepEqual(got.PortMappings, want) {
				t.Errorf("PortMappings = %+v, want %+v", got.PortMappings, want)
			}
		})
	}
}

// TestChecksumTypeNames pins why the internal packages are named as they
// are: the hashed text carries the writers' package names.
func TestChecksumTypeNames(t *testing.T) {
	text := printer.Sprintf("%#v", core.CheckpointData{PortMappings: []*config.PortMapping{{}}})
	for _, want := range []string{"core.CheckpointData", "[]*config.PortMapping", "*config.Protocol"} {
		if !strings.Contains(text, want) {
			t.Errorf("spew text lacks %q:\n%s", want, text)
		}
	}
}

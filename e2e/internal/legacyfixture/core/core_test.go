package core

import (
	"testing"

	"dockercri/e2e/internal/legacyfixture"
)

// TestCheckpointMatchesCriDockerd pins the files to what cri-dockerd's own
// code (core/checkpoint.go and store/checksum.go at its commit 246bd657,
// run with these inputs) writes, checksums included.
func TestCheckpointMatchesCriDockerd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ports       []legacyfixture.Port
		hostNetwork bool
		want        string
	}{
		{
			name:  "host port",
			ports: []legacyfixture.Port{{Protocol: "tcp", ContainerPort: 80, HostPort: 12471}},
			want:  `{"version":"v1","name":"web","namespace":"e2e-takeover","data":{"port_mappings":[{"protocol":"tcp","container_port":80,"host_port":12471}]},"checksum":2882167276}`,
		},
		{
			name:        "host network",
			hostNetwork: true,
			want:        `{"version":"v1","name":"web","namespace":"e2e-takeover","data":{"host_network":true},"checksum":12315789}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Checkpoint("e2e-takeover", "web", tc.ports, tc.hostNetwork)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Checkpoint() = %s\nwant %s", got, tc.want)
			}
		})
	}
}

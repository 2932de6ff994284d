// Package core writes cri-dockerd's sandbox checkpoints (its core/checkpoint.go
// and store/checksum.go), with its type names (see package legacyfixture).
package core

import (
	"encoding/json"

	"dockercri/e2e/internal/legacyfixture"
	"dockercri/e2e/internal/legacyfixture/config"
)

// CheckpointData is cri-dockerd's core.CheckpointData.
type CheckpointData struct {
	PortMappings []*config.PortMapping `json:"port_mappings,omitempty"`
	HostNetwork  bool                  `json:"host_network,omitempty"`
}

// PodSandboxCheckpoint is cri-dockerd's core.PodSandboxCheckpoint (its
// Checksum is a store.Checksum, a uint64).
type PodSandboxCheckpoint struct {
	Version   string          `json:"version"`
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Data      *CheckpointData `json:"data,omitempty"`
	Checksum  uint64          `json:"checksum"`
}

// Checkpoint is the file cri-dockerd writes for a pod's sandbox
// (constructPodSandboxCheckpoint, then MarshalCheckpoint).
func Checkpoint(namespace, name string, ports []legacyfixture.Port, hostNetwork bool) ([]byte, error) {
	data := CheckpointData{HostNetwork: hostNetwork}
	for _, p := range ports {
		proto := config.Protocol(p.Protocol)
		data.PortMappings = append(data.PortMappings, &config.PortMapping{
			Protocol: &proto, ContainerPort: &p.ContainerPort, HostPort: &p.HostPort, HostIP: p.HostIP,
		})
	}
	cp := PodSandboxCheckpoint{Version: "v1", Name: name, Namespace: namespace, Data: &data}
	cp.Checksum = legacyfixture.Checksum(*cp.Data)
	return json.Marshal(cp)
}

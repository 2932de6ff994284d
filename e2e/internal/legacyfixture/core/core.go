// Package core writes cri-dockerd's sandbox checkpoints (its core/checkpoint.go
// and store/checksum.go), with its type names (see package legacyfixture).
package core

import (
	"dockercri/e2e/internal/legacyfixture"
	"dockercri/e2e/internal/legacyfixture/config"
)

// CheckpointData is cri-dockerd's core.CheckpointData.
type CheckpointData struct {
	PortMappings []*config.PortMapping `json:"port_mappings,omitempty"`
	HostNetwork  bool                  `json:"host_network,omitempty"`
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
	return legacyfixture.Marshal(namespace, name, data)
}

// Package dockershim writes dockershim's sandbox checkpoints (Kubernetes
// 1.23 pkg/kubelet/dockershim/docker_checkpoint.go and
// pkg/kubelet/checkpointmanager/checksum), with its type names (see package
// legacyfixture).
package dockershim

import (
	"dockercri/e2e/internal/legacyfixture"
)

// Protocol is dockershim's Protocol.
type Protocol string

// PortMapping is dockershim's PortMapping: same fields, order and JSON tags.
type PortMapping struct {
	Protocol      *Protocol `json:"protocol,omitempty"`
	ContainerPort *int32    `json:"container_port,omitempty"`
	HostPort      *int32    `json:"host_port,omitempty"`
	HostIP        string    `json:"host_ip,omitempty"`
}

// CheckpointData is dockershim's CheckpointData.
type CheckpointData struct {
	PortMappings []*PortMapping `json:"port_mappings,omitempty"`
	HostNetwork  bool           `json:"host_network,omitempty"`
}

// Checkpoint is the file dockershim writes for a pod's sandbox
// (constructPodSandboxCheckpoint, then MarshalCheckpoint).
func Checkpoint(namespace, name string, ports []legacyfixture.Port, hostNetwork bool) ([]byte, error) {
	data := CheckpointData{HostNetwork: hostNetwork}
	for _, p := range ports {
		proto := Protocol(p.Protocol)
		data.PortMappings = append(data.PortMappings, &PortMapping{
			Protocol: &proto, ContainerPort: &p.ContainerPort, HostPort: &p.HostPort, HostIP: p.HostIP,
		})
	}
	return legacyfixture.Marshal(namespace, name, data)
}

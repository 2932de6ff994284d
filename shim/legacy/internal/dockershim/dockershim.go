// Package dockershim holds the checkpoint types of the kubelet's dockershim
// (k8s.io/kubernetes/pkg/kubelet/dockershim, Kubernetes 1.14 to 1.23).
//
// Its name is not a choice: dockershim declared all three types in its
// package dockershim, and the stored checksum hashes the printed type names
// ("dockershim.CheckpointData", "*dockershim.Protocol"). The layout is the
// same as cri-dockerd's, which was forked from it; only the names differ.
package dockershim

// Protocol is the lower-case protocol name: "tcp", "udp" or "sctp".
type Protocol string

// PortMapping is one host port of a sandbox, as dockershim stored it.
type PortMapping struct {
	Protocol      *Protocol `json:"protocol,omitempty"`
	ContainerPort *int32    `json:"container_port,omitempty"`
	HostPort      *int32    `json:"host_port,omitempty"`
	HostIP        string    `json:"host_ip,omitempty"`
}

// CheckpointData is the part of a dockershim checkpoint that its checksum
// covers.
type CheckpointData struct {
	PortMappings []*PortMapping `json:"port_mappings,omitempty"`
	HostNetwork  bool           `json:"host_network,omitempty"`
}

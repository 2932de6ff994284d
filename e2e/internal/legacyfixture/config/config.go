// Package config holds cri-dockerd's config.PortMapping and config.Protocol
// under their own package name, so that a spew dump of them reads as
// cri-dockerd's does (see package legacyfixture).
package config

// Protocol is cri-dockerd's config.Protocol.
type Protocol string

// PortMapping is cri-dockerd's config.PortMapping: same fields, order and
// JSON tags.
type PortMapping struct {
	Protocol      *Protocol `json:"protocol,omitempty"`
	ContainerPort *int32    `json:"container_port,omitempty"`
	HostPort      *int32    `json:"host_port,omitempty"`
	HostIP        string    `json:"host_ip,omitempty"`
}

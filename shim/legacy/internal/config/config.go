// Package config holds the port mapping types of cri-dockerd's checkpoints.
//
// Its name is not a choice: cri-dockerd declares these types in its package
// config, and the checksum it stores hashes their printed type names
// ("*config.Protocol", "[]*config.PortMapping"). Renaming this package, or
// changing a field, a field order or a pointer, changes every checksum.
package config

// Protocol is the lower-case protocol name: "tcp", "udp" or "sctp".
type Protocol string

// PortMapping is one host port of a sandbox, as cri-dockerd stores it.
type PortMapping struct {
	Protocol      *Protocol `json:"protocol,omitempty"`
	ContainerPort *int32    `json:"container_port,omitempty"`
	HostPort      *int32    `json:"host_port,omitempty"`
	HostIP        string    `json:"host_ip,omitempty"`
}

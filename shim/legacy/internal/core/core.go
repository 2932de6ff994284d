// Package core holds the checkpoint data type of cri-dockerd.
//
// Its name is not a choice: cri-dockerd declares CheckpointData in its
// package core, and the stored checksum hashes the printed type name
// "core.CheckpointData". Renaming this package or changing a field changes
// every checksum.
package core

import "dockercri/shim/legacy/internal/config"

// CheckpointData is the part of a cri-dockerd checkpoint that its checksum
// covers.
type CheckpointData struct {
	PortMappings []*config.PortMapping `json:"port_mappings,omitempty"`
	HostNetwork  bool                  `json:"host_network,omitempty"`
}

package legacy

import (
	"encoding/json"
	"errors"
	"fmt"

	"dockercri/shim/legacy/internal/config"
	"dockercri/shim/legacy/internal/core"
	"dockercri/shim/legacy/internal/dockershim"
)

// Writer names the runtime that wrote a checkpoint.
type Writer string

const (
	// CRIDockerd is Mirantis cri-dockerd.
	CRIDockerd Writer = "cri-dockerd"
	// Dockershim is the kubelet's built-in dockershim (Kubernetes ≤ 1.23).
	Dockershim Writer = "dockershim"
)

// schemaVersion is the only version either writer ever wrote.
const schemaVersion = "v1"

// ErrCorrupt is wrapped by every error about the content of a checkpoint:
// bad JSON, another version, no data, or a checksum neither writer made.
var ErrCorrupt = errors.New("corrupt checkpoint")

// PortMapping is one host port of a sandbox.
type PortMapping struct {
	// Protocol is as stored, lower-case; "tcp" when the file has none.
	Protocol string
	// ContainerPort and HostPort are 0 when the file has none; callers
	// skip a mapping whose HostPort is not positive.
	ContainerPort, HostPort int32
	HostIP                  string
}

// Checkpoint is what a verified checkpoint says about its sandbox. Name and
// Namespace are outside the checksum: they are not authenticated.
type Checkpoint struct {
	Writer          Writer
	Name, Namespace string
	HostNetwork     bool
	PortMappings    []PortMapping
}

// file is the envelope of a checkpoint, generic in the type of its data so
// that each writer's copy decodes the whole file the way that writer did.
// Decoding the whole file again, rather than its data alone, keeps
// encoding/json's handling of odd input (repeated keys merge into the one
// data object, keys match case-insensitively) the same as the writers'.
type file[D any] struct {
	Version   string `json:"version"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Data      *D     `json:"data,omitempty"`
	Checksum  uint64 `json:"checksum"`
}

// Parse decodes and verifies one checkpoint file's bytes.
func Parse(b []byte) (*Checkpoint, error) {
	var cd file[core.CheckpointData]
	if err := json.Unmarshal(b, &cd); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cd.Version != schemaVersion {
		return nil, fmt.Errorf("%w: version %q, want %q", ErrCorrupt, cd.Version, schemaVersion)
	}
	// Both writers would dereference a nil data and panic.
	if cd.Data == nil {
		return nil, fmt.Errorf("%w: no data", ErrCorrupt)
	}
	if checksum(*cd.Data) == cd.Checksum {
		return fromCRIDockerd(&cd), nil
	}

	var ds file[dockershim.CheckpointData]
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if ds.Data != nil && checksum(*ds.Data) == ds.Checksum {
		return fromDockershim(&ds), nil
	}
	return nil, fmt.Errorf("%w: checksum %d matches neither %s nor %s", ErrCorrupt, cd.Checksum, CRIDockerd, Dockershim)
}

func fromCRIDockerd(f *file[core.CheckpointData]) *Checkpoint {
	cp := &Checkpoint{Writer: CRIDockerd, Name: f.Name, Namespace: f.Namespace, HostNetwork: f.Data.HostNetwork}
	for _, pm := range f.Data.PortMappings {
		cp.PortMappings = append(cp.PortMappings, mapping(pm))
	}
	return cp
}

func fromDockershim(f *file[dockershim.CheckpointData]) *Checkpoint {
	cp := &Checkpoint{Writer: Dockershim, Name: f.Name, Namespace: f.Namespace, HostNetwork: f.Data.HostNetwork}
	for _, pm := range f.Data.PortMappings {
		var c *config.PortMapping
		if pm != nil {
			c = &config.PortMapping{
				Protocol:      (*config.Protocol)(pm.Protocol),
				ContainerPort: pm.ContainerPort,
				HostPort:      pm.HostPort,
				HostIP:        pm.HostIP,
			}
		}
		cp.PortMappings = append(cp.PortMappings, mapping(c))
	}
	return cp
}

// mapping flattens the writers' pointers. A JSON null in port_mappings is a
// nil element; it verified, so it is kept as an empty mapping, which the
// caller skips for its zero HostPort.
func mapping(pm *config.PortMapping) PortMapping {
	out := PortMapping{Protocol: "tcp"}
	if pm == nil {
		return out
	}
	if pm.Protocol != nil && *pm.Protocol != "" {
		out.Protocol = string(*pm.Protocol)
	}
	if pm.ContainerPort != nil {
		out.ContainerPort = *pm.ContainerPort
	}
	if pm.HostPort != nil {
		out.HostPort = *pm.HostPort
	}
	out.HostIP = pm.HostIP
	return out
}

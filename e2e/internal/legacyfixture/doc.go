// Package legacyfixture writes sandbox checkpoints exactly as cri-dockerd and
// dockershim wrote them, for the takeover e2e test.
//
// Both runtimes store, under <root>/sandbox/<sandbox id>, the JSON of a
// PodSandboxCheckpoint whose checksum is fnv32a over a spew dump ("%#v") of
// its CheckpointData value. A spew dump names every type by its package's
// name, so the types must live in packages of the same names as the
// originals: core and config (cri-dockerd: core.CheckpointData,
// []*config.PortMapping, *config.Protocol) and dockershim (dockershim's
// three types). Those packages are this one's subpackages; their fields and
// JSON tags are the originals', in the same order.
package legacyfixture

import (
	"encoding/json"
	"hash/fnv"

	"github.com/davecgh/go-spew/spew"
)

// Checksum is the checksum both runtimes compute over a checkpoint's data
// (cri-dockerd store/checksum.go, Kubernetes pkg/util/hash DeepHashObject as
// of 1.23): fnv32a of the spew dump below. data must be the CheckpointData
// value, not a pointer to it, as they pass it.
func Checksum(data any) uint64 {
	h := fnv.New32a()
	printer := spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}
	printer.Fprintf(h, "%#v", data)
	return uint64(h.Sum32())
}

// Port is one host port of a pod, as the kubelet asked for it.
type Port struct {
	Protocol      string // "tcp", "udp", "sctp": lower case, as both stored it
	ContainerPort int32
	HostPort      int32
	HostIP        string
}

// file is the checkpoint file both runtimes wrote, whatever their data's
// type (PodSandboxCheckpoint in each).
type file[D any] struct {
	Version   string `json:"version"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Data      *D     `json:"data,omitempty"`
	Checksum  uint64 `json:"checksum"`
}

// Marshal writes a checkpoint file as both runtimes did: version v1, the
// checksum over the data alone.
func Marshal[D any](namespace, name string, data D) ([]byte, error) {
	return json.Marshal(file[D]{Version: "v1", Name: name, Namespace: namespace, Data: &data, Checksum: Checksum(data)})
}

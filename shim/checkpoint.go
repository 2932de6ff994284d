package shim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"k8s.io/klog/v2"

	"dockercri/shim/legacy"
)

// A sandbox checkpoint is the part of a pod's state that must outlive its
// pause container: it lets StopPodSandbox tear down what the pod held after
// the container is gone, and lets ListPodSandbox show a checkpoint-only pod
// as NOTREADY so the kubelet cleans it up. One JSON file per sandbox under
// <root>/sandbox/<id>, written atomically, with a checksum over everything.

const checkpointVersion = "v1"

// errCorruptCheckpoint is returned (wrapped) for a checkpoint whose checksum
// or JSON is wrong. Callers test it with errors.Is: cri-dockerd compares
// against a fresh error value, so its corruption check never fires.
var errCorruptCheckpoint = errors.New("corrupt sandbox checkpoint")

type portMapping struct {
	Protocol      string `json:"protocol"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	HostIP        string `json:"hostIP,omitempty"`
}

type sandboxCheckpoint struct {
	Version        string        `json:"version"`
	Name           string        `json:"name"`
	Namespace      string        `json:"namespace"`
	UID            string        `json:"uid"`
	Attempt        uint32        `json:"attempt"`
	RuntimeHandler string        `json:"runtimeHandler,omitempty"`
	HostNetwork    bool          `json:"hostNetwork,omitempty"`
	PortMappings   []portMapping `json:"portMappings,omitempty"`
	// Network is the pod's CNI state (netCNI... below; "" for Docker's
	// networking or host network), IPs its addresses, the primary first.
	Network string   `json:"network,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	// Overhead and Resources are the pod-level resources the kubelet last
	// gave (RunPodSandbox, then UpdatePodSandboxResources); nil if never.
	// Omitted when nil, so checkpoints written before they existed keep
	// their checksum.
	Overhead  *podResources `json:"overhead,omitempty"`
	Resources *podResources `json:"resources,omitempty"`
	CreatedAt int64         `json:"createdAt"`
	Checksum  string        `json:"checksum"`
}

// podResources is a LinuxContainerResources of the pod, under protojson's
// field names. Nothing applies it: the kubelet sizes the pod cgroup.
type podResources struct {
	CPUPeriod              int64             `json:"cpuPeriod,omitempty"`
	CPUQuota               int64             `json:"cpuQuota,omitempty"`
	CPUShares              int64             `json:"cpuShares,omitempty"`
	MemoryLimitInBytes     int64             `json:"memoryLimitInBytes,omitempty"`
	MemorySwapLimitInBytes int64             `json:"memorySwapLimitInBytes,omitempty"`
	OOMScoreAdj            int64             `json:"oomScoreAdj,omitempty"`
	CpusetCpus             string            `json:"cpusetCpus,omitempty"`
	CpusetMems             string            `json:"cpusetMems,omitempty"`
	HugepageLimits         []hugepageLimit   `json:"hugepageLimits,omitempty"`
	Unified                map[string]string `json:"unified,omitempty"`
}

type hugepageLimit struct {
	PageSize string `json:"pageSize"`
	Limit    uint64 `json:"limit"`
}

func (c *sandboxCheckpoint) sum() (string, error) {
	copied := *c
	copied.Checksum = ""
	b, err := json.Marshal(&copied)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// dockerID matches a full Docker container ID; checkpoint file names are
// only ever these, so no request can steer a path out of the directory.
var dockerID = regexp.MustCompile(`^[a-f0-9]{64}$`)

// checkpointStore keeps every checkpoint in memory too, so that the
// kubelet's relist every second reads no files.
type checkpointStore struct {
	dir string

	// writes serializes the writes of one sandbox's checkpoint, so that
	// update's read-change-write loses no other write and never brings
	// back a checkpoint removed meanwhile. Sandboxes do not wait on each
	// other.
	writes keyedLock

	mu   sync.RWMutex
	byID map[string]*sandboxCheckpoint
}

// openCheckpointStore loads every checkpoint under dir, removing corrupt
// ones and leftovers of interrupted writes.
func openCheckpointStore(dir string) (*checkpointStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	}
	// cri-dockerd and dockershim keep their checkpoints in the same
	// layout (<root>/sandbox/<id>); a root directory of theirs given as
	// dockercri's would have theirs removed below as unreadable.
	if theirs, err := legacy.Any(dir); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	} else if theirs {
		return nil, fmt.Errorf("checkpoint directory %s holds cri-dockerd's or dockershim's checkpoints: give dockercri a --root-directory of its own and name theirs with --adopt-checkpoints-from", dir)
	}
	s := &checkpointStore{dir: dir, byID: map[string]*sandboxCheckpoint{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !dockerID.MatchString(name) {
			klog.InfoS("Removing stray file from the checkpoint directory", "file", filepath.Join(dir, name))
			os.Remove(filepath.Join(dir, name))
			continue
		}
		cp, err := s.readFile(name)
		if err != nil {
			klog.ErrorS(err, "Removing unreadable sandbox checkpoint", "sandbox", name)
			os.Remove(filepath.Join(dir, name))
			continue
		}
		s.byID[name] = cp
	}
	return s, nil
}

func (s *checkpointStore) readFile(id string) (*sandboxCheckpoint, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, id))
	if err != nil {
		return nil, err
	}
	var cp sandboxCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("sandbox %s: %v: %w", id, err, errCorruptCheckpoint)
	}
	want, err := cp.sum()
	if err != nil || cp.Checksum != want {
		return nil, fmt.Errorf("sandbox %s: checksum mismatch: %w", id, errCorruptCheckpoint)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("sandbox %s: unknown checkpoint version %q: %w", id, cp.Version, errCorruptCheckpoint)
	}
	return &cp, nil
}

// put writes the checkpoint: a temporary file, fsync, rename over the old
// one, fsync of the directory, so a crash leaves the old or the new file,
// never a torn one.
func (s *checkpointStore) put(id string, cp *sandboxCheckpoint) error {
	unlock := s.lock(id)
	defer unlock()
	return s.putLocked(id, cp)
}

// update changes one checkpoint under the sandbox's write lock. change gets
// a copy of the checkpoint (nil when there is none) and returns the one to
// write, or nil to write nothing; its error is update's.
func (s *checkpointStore) update(id string, change func(*sandboxCheckpoint) (*sandboxCheckpoint, error)) error {
	unlock := s.lock(id)
	defer unlock()
	cp, err := change(s.get(id))
	if err != nil || cp == nil {
		return err
	}
	return s.putLocked(id, cp)
}

// lock takes the sandbox's write lock. It cannot fail: no deadline, and the
// holders only write a small file.
func (s *checkpointStore) lock(id string) (unlock func()) {
	unlock, _ = s.writes.lock(context.Background(), id)
	return unlock
}

func (s *checkpointStore) putLocked(id string, cp *sandboxCheckpoint) error {
	if !dockerID.MatchString(id) {
		return fmt.Errorf("checkpoint for %q: not a container ID", id)
	}
	cp.Version = checkpointVersion
	sum, err := cp.sum()
	if err != nil {
		return err
	}
	cp.Checksum = sum
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+id)
	if err != nil {
		return fmt.Errorf("write checkpoint of sandbox %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write checkpoint of sandbox %s: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync checkpoint of sandbox %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("commit checkpoint of sandbox %s: %w", id, err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	s.mu.Lock()
	copied := *cp
	s.byID[id] = &copied
	s.mu.Unlock()
	return nil
}

// get returns a copy of the checkpoint, or nil.
func (s *checkpointStore) get(id string) *sandboxCheckpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cp, ok := s.byID[id]; ok {
		copied := *cp
		return &copied
	}
	return nil
}

// remove deletes a checkpoint; an absent one is not an error.
func (s *checkpointStore) remove(id string) error {
	unlock := s.lock(id)
	defer unlock()
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
	if !dockerID.MatchString(id) {
		return nil
	}
	if err := os.Remove(filepath.Join(s.dir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove checkpoint of sandbox %s: %w", id, err)
	}
	return nil
}

// ids lists the sandboxes that have a checkpoint.
func (s *checkpointStore) ids() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.byID))
	for id := range s.byID {
		out = append(out, id)
	}
	return out
}

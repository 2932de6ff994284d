// Package cni attaches pods to the network through CNI plugins, the way a
// Kubernetes node does: the first valid network config in the config
// directory (sorted by name), plus loopback, on the pause container's network
// namespace. It holds no lock across a plugin call, so one slow ADD never
// delays another pod's, or a Status or List call.
//
// It owns libcni's configuration, the ADD/DEL calls and their cache; it may
// import libcni and the standard library, never package shim (which passes
// it a pod's id, namespace path and port mappings).
package cni

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// Config is where the plugins and their configs are.
type Config struct {
	BinDirs  []string // searched in order for plugin binaries
	ConfDir  string   // network configs: *.conf, *.conflist, *.json
	CacheDir string   // libcni's cache of results, for DEL ("" = libcni's default)
	// Default, when set, is written to ConfDir while it holds no other
	// config (default.go).
	Default *Default
	Timeout time.Duration // bound of one ADD or DEL (0 = none)
	// ReadFilterTable returns the host's iptables filter table as
	// iptables-save prints it, for Warning (nil = run iptables-save).
	ReadFilterTable func() (string, error)
}

// PortMapping is one host port, for the portmap plugin.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"` // "tcp", "udp", "sctp"
	HostIP        string `json:"hostIP,omitempty"`
}

// Bandwidth is the bandwidth plugin's capability, in bits per second.
type Bandwidth struct {
	IngressRate  uint64 `json:"ingressRate,omitempty"`
	IngressBurst uint64 `json:"ingressBurst,omitempty"`
	EgressRate   uint64 `json:"egressRate,omitempty"`
	EgressBurst  uint64 `json:"egressBurst,omitempty"`
}

// Pod is what a plugin is told about a pod.
type Pod struct {
	ID        string // the pause container's ID: CNI's container ID
	Name      string
	Namespace string
	UID       string
	NetNS     string // /proc/<pid>/ns/net, or "" on DEL when it is gone
	Ports     []PortMapping
	Bandwidth *Bandwidth
	PodCIDRs  []string // ipRanges for host-local, from UpdateRuntimeConfig
}

// Network is the node's pod network.
type Network struct {
	cfg    Config
	cni    *libcni.CNIConfig
	lo     *libcni.NetworkConfigList
	ifName string

	mu       sync.Mutex
	loaded   map[string]*loadedConf // by file
	podCIDRs []string               // the kubelet's, for the default network

	forward forwardCheck
}

type loadedConf struct {
	mtime time.Time
	size  int64
	list  *libcni.NetworkConfigList
	err   error
}

const loopbackConf = `{"cniVersion": "1.0.0", "name": "cni-loopback", "plugins": [{"type": "loopback"}]}`

// New makes a Network; nothing is read until the first call.
func New(cfg Config) (*Network, error) {
	lo, err := libcni.ConfListFromBytes([]byte(loopbackConf))
	if err != nil {
		return nil, fmt.Errorf("cni: loopback config: %w", err)
	}
	if cfg.ReadFilterTable == nil {
		cfg.ReadFilterTable = iptablesSaveFilter
	}
	return &Network{
		cfg:    cfg,
		cni:    libcni.NewCNIConfigWithCacheDir(cfg.BinDirs, cfg.CacheDir, nil),
		lo:     lo,
		ifName: "eth0",
	}, nil
}

// ErrNotReady wraps every "no usable network config" answer.
var ErrNotReady = errors.New("cni: network not ready")

// Status is nil when a valid network config exists; otherwise it says why.
// It re-reads the config directory on every call (a directory listing and a
// stat; the file is parsed again only when it changed), so a config written
// after start is picked up without a restart.
func (n *Network) Status() error {
	_, err := n.config()
	return err
}

func (n *Network) config() (*libcni.NetworkConfigList, error) {
	list, ours, others, err := n.pick()
	if n.cfg.Default == nil || others > 0 || (err == nil && !ours) {
		return list, err
	}
	// Nothing but ours, or nothing at all: (re)write ours for the current
	// pod CIDRs (a no-op when the file says that already).
	if werr := n.writeDefault(n.lastPodCIDRs()); werr != nil {
		if err != nil {
			return nil, fmt.Errorf("%w (and writing the default network: %v)", err, werr)
		}
		return list, nil
	}
	list, _, _, err = n.pick()
	return list, err
}

// pick returns the network config to use: the first valid one by file name,
// dockercri's default network only when no other is valid. ours says it is
// the default; others counts the configs that are not (valid or not).
func (n *Network) pick() (list *libcni.NetworkConfigList, ours bool, others int, err error) {
	files, err := libcni.ConfFiles(n.cfg.ConfDir, []string{".conf", ".conflist", ".json"})
	if err != nil && !os.IsNotExist(err) {
		return nil, false, 0, fmt.Errorf("%w: read %s: %v", ErrNotReady, n.cfg.ConfDir, err)
	}
	sort.Strings(files)
	var firstErr error
	var def *libcni.NetworkConfigList
	for _, f := range files {
		isDefault := n.cfg.Default != nil && isDefaultFile(f)
		if !isDefault {
			others++
		}
		l, err := n.load(f)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case isDefault:
			if def == nil {
				def = l
			}
		default:
			return l, false, others, nil
		}
	}
	if def != nil {
		return def, true, others, nil
	}
	if firstErr != nil {
		return nil, false, others, fmt.Errorf("%w: no valid network config in %s: %v", ErrNotReady, n.cfg.ConfDir, firstErr)
	}
	return nil, false, others, fmt.Errorf("%w: no network config in %s", ErrNotReady, n.cfg.ConfDir)
}

// load parses one config file, or returns the cached parse if the file has
// not changed since.
func (n *Network) load(file string) (*libcni.NetworkConfigList, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	c := n.loaded[file]
	n.mu.Unlock()
	if c != nil && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.list, c.err
	}
	list, err := readConf(file)
	if err == nil && len(list.Plugins) == 0 {
		err = fmt.Errorf("%s: no plugins", file)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	n.mu.Lock()
	if n.loaded == nil {
		n.loaded = map[string]*loadedConf{}
	}
	n.loaded[file] = &loadedConf{mtime: st.ModTime(), size: st.Size(), list: list, err: err}
	n.mu.Unlock()
	return list, err
}

// readConf reads a .conflist, or a single plugin's .conf as a list of one
// (.json may be either).
func readConf(file string) (*libcni.NetworkConfigList, error) {
	if strings.HasSuffix(file, ".conflist") {
		return libcni.ConfListFromFile(file)
	}
	if strings.HasSuffix(file, ".json") {
		if list, err := libcni.ConfListFromFile(file); err == nil && len(list.Plugins) > 0 {
			return list, nil
		}
	}
	conf, err := libcni.ConfFromFile(file)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func (n *Network) runtimeConf(p Pod) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: p.ID,
		NetNS:       p.NetNS,
		IfName:      n.ifName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", p.Namespace},
			{"K8S_POD_NAME", p.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", p.ID},
			{"K8S_POD_UID", p.UID},
		},
		CapabilityArgs: map[string]any{},
	}
	ports := p.Ports
	if ports == nil {
		ports = []PortMapping{}
	}
	rt.CapabilityArgs["portMappings"] = ports
	if p.Bandwidth != nil {
		rt.CapabilityArgs["bandwidth"] = p.Bandwidth
	}
	if len(p.PodCIDRs) > 0 {
		var ranges [][]map[string]string
		for _, cidr := range p.PodCIDRs {
			ranges = append(ranges, []map[string]string{{"subnet": cidr}})
		}
		rt.CapabilityArgs["ipRanges"] = ranges
	}
	return rt
}

func (n *Network) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if n.cfg.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, n.cfg.Timeout)
}

// Setup runs ADD for loopback and the pod network and returns the pod's
// IPs, the primary first. On failure the caller runs Teardown.
func (n *Network) Setup(ctx context.Context, p Pod) ([]string, error) {
	n.setPodCIDRs(p.PodCIDRs)
	list, err := n.config()
	if err != nil {
		return nil, err
	}
	ctx, cancel := n.bounded(ctx)
	defer cancel()
	if _, err := n.cni.AddNetworkList(ctx, n.lo, n.runtimeConf(p)); err != nil {
		return nil, fmt.Errorf("cni: loopback ADD for pod %s: %w", p.ID, err)
	}
	res, err := n.cni.AddNetworkList(ctx, list, n.runtimeConf(p))
	if err != nil {
		return nil, fmt.Errorf("cni: network %q ADD for pod %s: %w", list.Name, p.ID, err)
	}
	ips, err := podIPs(res)
	if err != nil {
		return nil, fmt.Errorf("cni: network %q ADD for pod %s: %w", list.Name, p.ID, err)
	}
	return ips, nil
}

// Teardown runs DEL for the pod network and loopback. A DEL of what was
// never added, or of a namespace that is gone, succeeds: plugins must
// tolerate it, and host-local releases the pod's addresses either way.
func (n *Network) Teardown(ctx context.Context, p Pod) error {
	list, err := n.config()
	if err != nil {
		return err
	}
	ctx, cancel := n.bounded(ctx)
	defer cancel()
	if err := n.cni.DelNetworkList(ctx, list, n.runtimeConf(p)); err != nil {
		return fmt.Errorf("cni: network %q DEL for pod %s: %w", list.Name, p.ID, err)
	}
	if p.NetNS != "" {
		if err := n.cni.DelNetworkList(ctx, n.lo, n.runtimeConf(p)); err != nil {
			return fmt.Errorf("cni: loopback DEL for pod %s: %w", p.ID, err)
		}
	}
	return nil
}

// podIPs reads the addresses of the pod's interfaces from an ADD result,
// IPv4 before IPv6 as the kubelet takes the first as primary.
func podIPs(res types.Result) ([]string, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	var v4, v6 []string
	for _, ip := range r.IPs {
		// Only addresses on an interface inside the pod (or unattributed).
		if ip.Interface != nil && *ip.Interface >= 0 && *ip.Interface < len(r.Interfaces) && r.Interfaces[*ip.Interface].Sandbox == "" {
			continue
		}
		if ip.Address.IP.To4() != nil {
			v4 = append(v4, ip.Address.IP.String())
		} else if ip.Address.IP.To16() != nil && !ip.Address.IP.IsLinkLocalUnicast() {
			v6 = append(v6, ip.Address.IP.String())
		}
	}
	ips := append(v4, v6...)
	if len(ips) == 0 {
		return nil, errors.New("the plugin returned no pod IP")
	}
	return ips, nil
}

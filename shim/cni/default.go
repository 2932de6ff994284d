package cni

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Default is dockercri's own pod network (--cni-default-network), for a node
// whose config directory holds none: a bridge of its own with host-local
// addresses from the pod CIDRs, portmap for hostPorts, and firewall, whose
// CNI-FORWARD chain lets pod traffic through Docker's FORWARD policy DROP.
// It is written only while the directory has no other valid config, and
// only ever to its own file: an operator's config (flannel, calico, ...)
// always wins, whatever its name, and is never touched.
type Default struct {
	// Subnets are the pod CIDRs, at most one per IP family, used until the
	// kubelet hands down its own (UpdateRuntimeConfig).
	Subnets []string
	Bridge  string // the bridge's name
}

// DefaultConfFile is the file the default network is written to, and
// defaultName the network's name: together they mark the file as ours.
const (
	DefaultConfFile = "99-dockercri-default.conflist"
	defaultName     = "dockercri-default"
)

// Validate checks the subnets (one IPv4, one IPv6 at most) and the bridge name.
func (d *Default) Validate() error {
	if len(d.Subnets) == 0 || len(d.Subnets) > 2 {
		return fmt.Errorf("want one or two pod CIDRs (IPv4, IPv6), got %q", d.Subnets)
	}
	v4 := 0
	for _, s := range d.Subnets {
		ip, _, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("pod CIDR %q: %w", s, err)
		}
		if ip.To4() != nil {
			v4++
		}
	}
	if len(d.Subnets) == 2 && v4 != 1 {
		return fmt.Errorf("two pod CIDRs must be one IPv4 and one IPv6, got %q", d.Subnets)
	}
	if d.Bridge == "" || len(d.Bridge) > 15 || strings.ContainsAny(d.Bridge, "/ \t\n:") {
		return fmt.Errorf("bridge name %q: want 1 to 15 characters, no '/', ':' or space", d.Bridge)
	}
	return nil
}

// conflist renders the default network for subnets.
func (d *Default) conflist(subnets []string) ([]byte, error) {
	var ranges [][]map[string]string
	var routes []map[string]string
	for _, s := range subnets {
		ranges = append(ranges, []map[string]string{{"subnet": s}})
		ip, _, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", s, err)
		}
		if ip.To4() != nil {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       defaultName,
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": d.Bridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": map[string]any{"type": "host-local", "ranges": ranges, "routes": routes},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "firewall", "backend": "iptables"},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// isDefaultFile says file is the default network dockercri wrote: its name,
// and the network's name inside.
func isDefaultFile(file string) bool {
	if filepath.Base(file) != DefaultConfFile {
		return false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var c struct {
		Name string `json:"name"`
	}
	return json.Unmarshal(b, &c) == nil && c.Name == defaultName
}

// writeDefault writes the default network for subnets (the kubelet's pod
// CIDRs, or the configured ones when it gave none), atomically, unless the
// file already says exactly that. A file of that name that is not ours is
// left alone.
func (n *Network) writeDefault(subnets []string) error {
	d := n.cfg.Default
	if len(subnets) == 0 {
		subnets = d.Subnets
	}
	want, err := d.conflist(subnets)
	if err != nil {
		return err
	}
	file := filepath.Join(n.cfg.ConfDir, DefaultConfFile)
	if have, err := os.ReadFile(file); err == nil {
		if bytes.Equal(have, want) {
			return nil
		}
		if !isDefaultFile(file) {
			return fmt.Errorf("cni: %s exists and is not dockercri's: left alone", file)
		}
	}
	if err := os.MkdirAll(n.cfg.ConfDir, 0o755); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	tmp, err := os.CreateTemp(n.cfg.ConfDir, ".dockercri-default-*")
	if err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, nothing is there
	if _, err := tmp.Write(want); err != nil {
		tmp.Close()
		return fmt.Errorf("cni: write %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("cni: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cni: write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	return nil
}

// setPodCIDRs records the kubelet's pod CIDRs, which the default network
// then uses instead of its configured subnets.
func (n *Network) setPodCIDRs(cidrs []string) {
	if len(cidrs) == 0 {
		return
	}
	n.mu.Lock()
	n.podCIDRs = slices.Clone(cidrs)
	n.mu.Unlock()
}

func (n *Network) lastPodCIDRs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.podCIDRs
}

package cni

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Docker's default firewall and a pod network: Docker sets the FORWARD
// policy to DROP, and on a Kubernetes node bridged traffic passes iptables
// (net.bridge.bridge-nf-call-iptables=1), so two pods on a plain CNI bridge
// get their addresses and still cannot reach each other. A chain with the
// standard firewall plugin, a network plugin that manages forwarding itself,
// or an ACCEPT rule in Docker's DOCKER-USER chain lets their traffic through.
// dockercri cannot tell from here which rule would accept which pod's
// traffic, so it says what it sees: the node's network stays ready, and the
// condition's message names the fix.

// forwardingPlugins are CNI plugin types that let pod traffic through the
// FORWARD chain themselves (or whose daemons add the rules).
var forwardingPlugins = []string{"firewall", "calico", "cilium-cni", "flannel", "weave-net", "antrea",
	"kube-router", "ovn-k8s-cni-overlay"}

// ForwardingProblem says why pod traffic will be dropped, or "" when nothing
// shows it will: filter is the filter table as iptables-save prints it,
// bridgeNF whether bridged traffic passes iptables, network and plugins the
// CNI network's name and plugin types.
func ForwardingProblem(filter string, bridgeNF bool, network string, plugins []string) string {
	if !bridgeNF || forwardPolicy(filter) != "DROP" {
		return ""
	}
	for _, p := range plugins {
		if slices.Contains(forwardingPlugins, p) {
			return ""
		}
	}
	if acceptsAll(filter, "FORWARD") || acceptsAll(filter, "DOCKER-USER") {
		return ""
	}
	return fmt.Sprintf("pod traffic between pods will be dropped: the FORWARD policy is DROP (Docker's default) and "+
		"bridged traffic passes iptables (net.bridge.bridge-nf-call-iptables=1), but CNI network %q (%s) has no "+
		"plugin that lets it through: add {\"type\": \"firewall\"} to its plugins, or accept the pod CIDR in "+
		"Docker's DOCKER-USER chain", network, strings.Join(plugins, ", "))
}

// forwardPolicy is the FORWARD chain's policy in iptables-save's filter table.
func forwardPolicy(filter string) string {
	sc := bufio.NewScanner(strings.NewReader(filter))
	inFilter := true // iptables-save -t filter prints the table header; a bare dump is the filter table
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			inFilter = line == "*filter"
		case inFilter && strings.HasPrefix(line, ":FORWARD "):
			if f := strings.Fields(line); len(f) > 1 {
				return f[1]
			}
		}
	}
	return ""
}

// acceptsAll reports whether chain has a rule that accepts every packet
// (no match at all).
func acceptsAll(filter, chain string) bool {
	for _, line := range strings.Split(filter, "\n") {
		if strings.TrimSpace(line) == "-A "+chain+" -j ACCEPT" {
			return true
		}
	}
	return false
}

// forwardCheckTTL spaces out the iptables-save runs of a Status polled every
// few seconds.
const forwardCheckTTL = 30 * time.Second

// forwardCheck caches the last finding and logs each new one once.
type forwardCheck struct {
	mu      sync.Mutex
	at      time.Time
	key     string // the network and plugins the finding is for
	finding string
}

// Warning is ForwardingProblem for this host and the current network
// config, read at most every 30 s; "" when there is no config or iptables
// cannot be read.
func (n *Network) Warning() string {
	list, err := n.config()
	if err != nil {
		return ""
	}
	var plugins []string
	for _, p := range list.Plugins {
		plugins = append(plugins, p.Network.Type)
	}
	key := list.Name + "/" + strings.Join(plugins, ",")
	c := &n.forward
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key == key && time.Since(c.at) < forwardCheckTTL {
		return c.finding
	}
	finding := ""
	if filter, err := n.cfg.ReadFilterTable(); err == nil {
		finding = ForwardingProblem(filter, bridgeNFCallIptables(), list.Name, plugins)
	}
	if finding != "" && finding != c.finding {
		klog.InfoS("Pod network will drop pod traffic", "reason", finding)
	}
	c.at, c.key, c.finding = time.Now(), key, finding
	return finding
}

// bridgeNFCallIptables reads net.bridge.bridge-nf-call-iptables (false when
// br_netfilter is not loaded: bridged traffic then skips iptables).
func bridgeNFCallIptables() bool {
	b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// iptablesSaveFilter runs iptables-save for the filter table. It runs at
// most every forwardCheckTTL for whichever caller comes then, so it is bounded
// on its own (5 s) rather than by that caller's request.
func iptablesSaveFilter() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "iptables-save", "-t", "filter").Output()
	return string(out), err
}

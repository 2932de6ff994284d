package cni

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newDefaultNetwork(t *testing.T, dir string) *Network {
	t.Helper()
	n, err := New(Config{ConfDir: dir, Default: &Default{Subnets: []string{"10.88.0.0/16", "fd88::/64"}, Bridge: "dcri-cni0"}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// defaultConf reads back the default network's file.
func defaultConf(t *testing.T, dir string) (name string, plugins []string, subnets []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, DefaultConfFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Name    string `json:"name"`
		Plugins []struct {
			Type string `json:"type"`
			IPAM struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Plugins {
		plugins = append(plugins, p.Type)
		for _, r := range p.IPAM.Ranges {
			for _, s := range r {
				subnets = append(subnets, s.Subnet)
			}
		}
	}
	return c.Name, plugins, subnets
}

func TestDefaultNetworkWrittenWhenNoneExists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d") // not even the directory yet
	n := newDefaultNetwork(t, dir)
	if err := n.Status(); err != nil {
		t.Fatalf("Status = %v, want ready on the default network", err)
	}
	name, plugins, subnets := defaultConf(t, dir)
	if name != defaultName || strings.Join(plugins, ",") != "bridge,portmap,firewall" || strings.Join(subnets, ",") != "10.88.0.0/16,fd88::/64" {
		t.Fatalf("default network = %s %v %v", name, plugins, subnets)
	}
	// The kubelet's pod CIDR replaces the configured subnets.
	n.setPodCIDRs([]string{"10.244.3.0/24"})
	if err := n.Status(); err != nil {
		t.Fatal(err)
	}
	if _, _, subnets := defaultConf(t, dir); strings.Join(subnets, ",") != "10.244.3.0/24" {
		t.Fatalf("subnets after UpdateRuntimeConfig = %v", subnets)
	}
}

func TestOperatorConfigWins(t *testing.T) {
	dir := t.TempDir()
	n := newDefaultNetwork(t, dir)
	if err := n.Status(); err != nil {
		t.Fatal(err)
	}
	// An operator's config sorts after ours by name and still wins.
	op := `{"cniVersion": "1.0.0", "name": "operator", "plugins": [{"type": "bridge"}]}`
	if err := os.WriteFile(filepath.Join(dir, "zz-operator.conflist"), []byte(op), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := n.config()
	if err != nil || list.Name != "operator" {
		t.Fatalf("config = %v, %v; want the operator's", list, err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "zz-operator.conflist"))
	if string(before) != op {
		t.Fatal("the operator's config was changed")
	}
	// Ours removed by hand: not written again while the operator's is there.
	if err := os.Remove(filepath.Join(dir, DefaultConfFile)); err != nil {
		t.Fatal(err)
	}
	if list, err := n.config(); err != nil || list.Name != "operator" {
		t.Fatalf("config = %v, %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultConfFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the default network came back beside the operator's: %v", err)
	}
}

func TestBrokenOperatorConfigIsNotMasked(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "10-flannel.conflist"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := newDefaultNetwork(t, dir)
	if err := n.Status(); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "10-flannel.conflist") {
		t.Fatalf("Status = %v, want NotReady naming the operator's file", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultConfFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the default network was written over a broken operator config: %v", err)
	}
}

func TestForeignFileUnderOurNameIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	foreign := `{"cniVersion": "1.0.0", "name": "someone-else", "plugins": [{"type": "bridge"}]}`
	file := filepath.Join(dir, DefaultConfFile)
	if err := os.WriteFile(file, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	n := newDefaultNetwork(t, dir)
	list, err := n.config()
	if err != nil || list.Name != "someone-else" {
		t.Fatalf("config = %v, %v; want the file as it is", list, err)
	}
	if b, _ := os.ReadFile(file); string(b) != foreign {
		t.Fatal("a file dockercri did not write was changed")
	}
}

func TestDefaultValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Default
		wantErr bool
	}{
		{name: "IPv4", give: Default{Subnets: []string{"10.88.0.0/16"}, Bridge: "cni0"}},
		{name: "dual stack", give: Default{Subnets: []string{"fd88::/64", "10.88.0.0/16"}, Bridge: "cni0"}},
		{name: "none", give: Default{Bridge: "cni0"}, wantErr: true},
		{name: "two IPv4", give: Default{Subnets: []string{"10.88.0.0/16", "10.89.0.0/16"}, Bridge: "cni0"}, wantErr: true},
		{name: "not a CIDR", give: Default{Subnets: []string{"10.88.0.0"}, Bridge: "cni0"}, wantErr: true},
		{name: "bridge name too long", give: Default{Subnets: []string{"10.88.0.0/16"}, Bridge: "a-very-long-bridge"}, wantErr: true},
		{name: "bridge name with a slash", give: Default{Subnets: []string{"10.88.0.0/16"}, Bridge: "a/b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.give.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

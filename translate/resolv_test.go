package translate

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestResolvConf(t *testing.T) {
	tests := []struct {
		name string
		give *runtimeapi.DNSConfig
		want string
	}{
		{name: "nil", give: nil, want: ""},
		{name: "empty", give: &runtimeapi.DNSConfig{}, want: ""},
		{name: "cluster first", give: &runtimeapi.DNSConfig{
			Servers:  []string{"10.96.0.10"},
			Searches: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			Options:  []string{"ndots:5"},
		}, want: "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"},
		{name: "two servers, ipv6", give: &runtimeapi.DNSConfig{Servers: []string{"1.1.1.1", "2606:4700:4700::1111"}},
			want: "nameserver 1.1.1.1\nnameserver 2606:4700:4700::1111\n"},
		{name: "options only", give: &runtimeapi.DNSConfig{Options: []string{"timeout:1", "attempts:2"}}, want: "options timeout:1 attempts:2\n"},
		{name: "entries that would break the file are skipped", give: &runtimeapi.DNSConfig{
			Servers:  []string{"10.0.0.1\nnameserver 6.6.6.6", "dns.example"},
			Searches: []string{"a.local", "b.local\noptions debug", ""},
		}, want: "search a.local\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolvConf(tt.give); got != tt.want {
				t.Fatalf("ResolvConf =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestSandboxDNSConfig(t *testing.T) {
	tests := []struct {
		name    string
		give    *runtimeapi.DNSConfig
		mention string // "" = accepted
	}{
		{name: "valid", give: &runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"cluster.local"}, Options: []string{"ndots:5"}}},
		{name: "server not an IP", give: &runtimeapi.DNSConfig{Servers: []string{"dns.example"}}, mention: "dns_config.servers[0]"},
		{name: "search with newline", give: &runtimeapi.DNSConfig{Searches: []string{"a\nnameserver 6.6.6.6"}}, mention: "dns_config.searches[0]"},
		{name: "empty option", give: &runtimeapi.DNSConfig{Options: []string{"ndots:5", ""}}, mention: "dns_config.options[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SandboxCreateConfig(cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.DnsConfig = tt.give }), "", cfgTestSandboxOpts)
			if tt.mention != "" {
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.mention)
				return
			}
			if err != nil || got.HostConfig.DNS != nil || got.HostConfig.DNSSearch != nil || got.HostConfig.DNSOptions != nil {
				t.Fatalf("SandboxCreateConfig = %+v, %v; want no Docker DNS fields (the shim writes resolv.conf)", got, err)
			}
		})
	}
}

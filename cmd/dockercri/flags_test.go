package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.endpoint != "unix:///run/dockercri.sock" || o.networkPlugin != "cni" || o.requestTimeout != 2*time.Minute ||
		o.restrictOOM != "auto" || len(o.cniBinDirs) != 1 || o.cniBinDirs[0] != "/opt/cni/bin" || o.cniDefault != nil {
		t.Fatalf("defaults = %+v", o)
	}
}

func TestParseFlagsDefaultNetwork(t *testing.T) {
	o, err := parseFlags([]string{"--cni-default-network", "10.88.0.0/16,fd88::/64", "--cni-default-bridge", "podbr0"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d := o.cniDefault; d == nil || strings.Join(d.Subnets, ",") != "10.88.0.0/16,fd88::/64" || d.Bridge != "podbr0" {
		t.Fatalf("default network = %+v", o.cniDefault)
	}
}

func TestParseFlagsAccepts(t *testing.T) {
	o, err := parseFlags([]string{
		"--container-runtime-endpoint", "fd://", "--network-plugin", "none", "--docker-network-mode", "none",
		"--restrict-oom-score-adj", "false", "--cni-bin-dir", "/a,/b", "--metrics-bind-addr", "127.0.0.1:9090",
		"--streaming-tls-cert", "c.pem", "--streaming-tls-key", "k.pem", "--streaming-tls-client-ca", "ca.pem",
		"--registry-mirror", "registry.k8s.io=http://127.0.0.1:5000/k8s", "--registry-mirror", "docker.io=http://127.0.0.1:5000/hub",
		"--adopt-checkpoints-from", "/var/lib/cri-dockerd/", "--adopt-checkpoints-from", "/var/lib/dockershim,/srv/old",
		"-v", "4",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.endpoint != "fd://" || len(o.cniBinDirs) != 2 || len(o.mirrors) != 2 || o.restrictOOM != "false" {
		t.Fatalf("options = %+v", o)
	}
	if got := strings.Join(o.adoptFrom, " "); got != "/var/lib/cri-dockerd /var/lib/dockershim /srv/old" {
		t.Fatalf("adoptFrom = %s", got)
	}
}

// Every flag's check, one at a time: each bad command line is refused with a
// message naming the flag, and a non-zero exit (errUsage).
func TestParseFlagsRefuses(t *testing.T) {
	tests := []struct {
		name string
		give []string
		want string
	}{
		{name: "subcommand", give: []string{"migrate", "check"}, want: `takes no arguments, only flags: ["migrate" "check"]`},
		{name: "argument after flags", give: []string{"-v", "2", "extra"}, want: "takes no arguments"},
		{name: "unknown flag", give: []string{"--no-such-flag"}, want: "flag provided but not defined: -no-such-flag"},
		{name: "default network CIDR", give: []string{"--cni-default-network", "10.88.0.0"}, want: "--cni-default-network"},
		{name: "default network without CNI", give: []string{"--cni-default-network", "10.88.0.0/16", "--network-plugin", "none"}, want: "--cni-default-network needs --network-plugin=cni"},
		{name: "default network bridge", give: []string{"--cni-default-network", "10.88.0.0/16", "--cni-default-bridge", "a/b"}, want: "bridge name"},
		{name: "endpoint scheme", give: []string{"--container-runtime-endpoint", "tcp://1.2.3.4:1"}, want: "--container-runtime-endpoint"},
		{name: "empty docker endpoint", give: []string{"--docker-endpoint", ""}, want: "--docker-endpoint"},
		{name: "empty root", give: []string{"--root-directory", ""}, want: "--root-directory"},
		{name: "relative adopt dir", give: []string{"--adopt-checkpoints-from", "var/lib/cri-dockerd"}, want: "want an absolute directory"},
		{name: "adopt dir is the root", give: []string{"--root-directory", "/var/lib/cri-dockerd", "--adopt-checkpoints-from", "/var/lib/cri-dockerd/"},
			want: "is also --root-directory"},
		{name: "pull deadline", give: []string{"--image-pull-progress-deadline", "0s"}, want: "--image-pull-progress-deadline"},
		{name: "pull deadline not a duration", give: []string{"--image-pull-progress-deadline", "soon"}, want: "image-pull-progress-deadline"},
		{name: "request timeout", give: []string{"--runtime-request-timeout", "-1s"}, want: "--runtime-request-timeout"},
		{name: "network mode", give: []string{"--docker-network-mode", "host"}, want: "--docker-network-mode"},
		{name: "network plugin", give: []string{"--network-plugin", "kubenet"}, want: "--network-plugin"},
		{name: "OOM restriction", give: []string{"--restrict-oom-score-adj", "maybe"}, want: "--restrict-oom-score-adj"},
		{name: "cert without key", give: []string{"--streaming-tls-cert", "c.pem"}, want: "--streaming-tls-key go together"},
		{name: "key without cert", give: []string{"--streaming-tls-key", "k.pem"}, want: "go together"},
		{name: "client CA without TLS", give: []string{"--streaming-tls-client-ca", "ca.pem"}, want: "--streaming-tls-client-ca requires"},
		{name: "streaming address", give: []string{"--streaming-bind-addr", "127.0.0.1"}, want: "--streaming-bind-addr"},
		{name: "metrics address", give: []string{"--metrics-bind-addr", "9090"}, want: "--metrics-bind-addr"},
		{name: "list cache age", give: []string{"--list-cache-max-age", "-1s"}, want: "--list-cache-max-age"},
		{name: "profiling without metrics", give: []string{"--profiling"}, want: "--profiling needs --metrics-bind-addr"},
		{name: "mirror syntax", give: []string{"--registry-mirror", "nonsense"}, want: "registry-mirror"},
		{name: "two mirrors of a registry", give: []string{"--registry-mirror", "docker.io=http://a.example", "--registry-mirror", "docker.io=http://b.example"}, want: "two mirrors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o, err := parseFlags(tt.give, &out)
			if !errors.Is(err, errUsage) || o != nil {
				t.Fatalf("parseFlags(%q) = %+v, %v; want errUsage", tt.give, o, err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output does not say %q:\n%s", tt.want, out.String())
			}
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-container-runtime-endpoint") {
		t.Fatalf("-h does not print the flags:\n%s", out.String())
	}
}

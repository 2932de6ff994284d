package migrate

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
)

func TestCheckDaemonFixture(t *testing.T) {
	cfg, err := ReadDaemonConfig("testdata/daemon.json")
	if err != nil {
		t.Fatal(err)
	}
	info := system.Info{CgroupDriver: "systemd", LoggingDriver: "journald", DefaultRuntime: "nvidia",
		Runtimes: map[string]system.RuntimeWithStatus{"runc": {}, "io.containerd.runc.v2": {}}}
	got := map[string]Finding{}
	for _, f := range CheckDaemon(cfg, info, "/etc/containerd/certs.d") {
		got[f.Object] = f
	}
	want := map[string]Severity{
		"daemon registry-mirrors":                           Warning,
		"daemon insecure-registries registry.internal:5000": Warning,
		"daemon insecure-registries 10.20.0.0/16":           Warning,
		"daemon runtimes.nvidia":                            Warning,
		"daemon default-runtime":                            Warning,
		"daemon log-driver":                                 Warning,
		"daemon log-opts":                                   Warning,
		"daemon default-ulimits":                            Warning,
		"daemon live-restore":                               Info,
		"daemon userns-remap":                               Warning,
		"daemon data-root":                                  Info,
		"daemon default-address-pools":                      Info,
		"daemon testdata/daemon.json":                       Info,
		"daemon cgroup driver":                              Info,
	}
	gotSev := map[string]Severity{}
	for k, f := range got {
		gotSev[k] = f.Severity
	}
	if !reflect.DeepEqual(gotSev, want) {
		t.Errorf("findings by object:\ngot  %v\nwant %v", gotSev, want)
	}
	for object, fragment := range map[string]string{
		"daemon registry-mirrors": "write /etc/containerd/certs.d/docker.io/hosts.toml:\n" +
			"server = \"https://registry-1.docker.io\"\n\n[host.\"https://mirror.example.com\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
		"daemon insecure-registries registry.internal:5000": "[host.\"http://registry.internal:5000\"]",
		"daemon runtimes.nvidia":                            `BinaryName = "/usr/bin/nvidia-container-runtime"`,
		"daemon default-runtime":                            `default_runtime_name = "nvidia"`,
		"daemon log-opts":                                   "max-size 10m → containerLogMaxSize, max-file 3 → containerLogMaxFiles",
		"daemon cgroup driver":                              "SystemdCgroup = true",
		"daemon testdata/daemon.json":                       "bip, storage-driver",
	} {
		f := got[object]
		if !strings.Contains(f.What+"\n"+f.CarryOver, fragment) {
			t.Errorf("%s: want %q in\n%s\n%s", object, fragment, f.What, f.CarryOver)
		}
	}
}

// Without daemon.json, what flags set still shows through Info; Docker's
// built-in runtimes and loopback trust are nothing to carry over.
func TestCheckDaemonFromInfo(t *testing.T) {
	cfg, err := ReadDaemonConfig("testdata/does-not-exist.json")
	if err != nil {
		t.Fatal(err)
	}
	info := system.Info{
		CgroupDriver: "cgroupfs", LoggingDriver: "json-file", DefaultRuntime: "runc", DockerRootDir: "/var/lib/docker",
		Runtimes: map[string]system.RuntimeWithStatus{"runc": {}, "io.containerd.runc.v2": {}, "io.containerd.runtime.v1.linux": {}},
		RegistryConfig: &registry.ServiceConfig{
			Mirrors:               []string{"https://m.example/"},
			InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			IndexConfigs: map[string]*registry.IndexInfo{
				"docker.io": {Name: "docker.io", Secure: true}, "old.example:5000": {Name: "old.example:5000", Secure: false},
			},
		},
		SecurityOptions: []string{"name=seccomp,profile=builtin", "name=userns"},
	}
	var got []string
	for _, f := range CheckDaemon(cfg, info, "/etc/containerd/certs.d") {
		got = append(got, string(f.Severity)+" "+f.Object)
	}
	want := []string{
		"warning daemon registry-mirrors",
		"warning daemon insecure-registries old.example:5000",
		"warning daemon userns-remap",
		"info daemon cgroup driver",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestReadDaemonConfigErrors(t *testing.T) {
	bad := t.TempDir() + "/daemon.json"
	if err := os.WriteFile(bad, []byte(`{"registry-mirrors": "not a list"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDaemonConfig(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("got %v, want a parse error naming %s", err, bad)
	}
}

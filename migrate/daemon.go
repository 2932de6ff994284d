package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/system"
)

// DaemonConfig is the part of Docker's daemon.json that containerd does
// not take over by itself. Other keys are listed by name only.
type DaemonConfig struct {
	RegistryMirrors     []string                   `json:"registry-mirrors"`
	InsecureRegistries  []string                   `json:"insecure-registries"`
	Runtimes            map[string]system.Runtime  `json:"runtimes"`
	DefaultRuntime      string                     `json:"default-runtime"`
	LogDriver           string                     `json:"log-driver"`
	LogOpts             map[string]string          `json:"log-opts"`
	DefaultUlimits      map[string]json.RawMessage `json:"default-ulimits"`
	LiveRestore         *bool                      `json:"live-restore"`
	UsernsRemap         string                     `json:"userns-remap"`
	DataRoot            string                     `json:"data-root"`
	DefaultAddressPools []json.RawMessage          `json:"default-address-pools"`
	ExecOpts            []string                   `json:"exec-opts"`

	// Path is where it was read from; empty when there was no file.
	Path string `json:"-"`
	// Other holds the names of the keys not above.
	Other []string `json:"-"`
}

// ReadDaemonConfig reads daemon.json. A missing file is no error: Docker
// then runs on its defaults and flags, which Info shows.
func ReadDaemonConfig(path string) (DaemonConfig, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DaemonConfig{}, nil
	}
	if err != nil {
		return DaemonConfig{}, fmt.Errorf("read daemon config: %w", err)
	}
	return ParseDaemonConfig(path, data)
}

// ParseDaemonConfig parses the contents of daemon.json.
func ParseDaemonConfig(path string, data []byte) (DaemonConfig, error) {
	var cfg DaemonConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return DaemonConfig{}, fmt.Errorf("parse %s: %w", path, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return DaemonConfig{}, fmt.Errorf("parse %s: %w", path, err)
	}
	for k := range all {
		if !knownDaemonKeys[k] {
			cfg.Other = append(cfg.Other, k)
		}
	}
	sort.Strings(cfg.Other)
	cfg.Path = path
	return cfg, nil
}

var knownDaemonKeys = map[string]bool{
	"registry-mirrors": true, "insecure-registries": true, "runtimes": true, "default-runtime": true,
	"log-driver": true, "log-opts": true, "default-ulimits": true, "live-restore": true,
	"userns-remap": true, "data-root": true, "default-address-pools": true, "exec-opts": true,
}

// CheckDaemon reports Docker's settings that containerd does not take over,
// each with how to carry it over. Info adds what flags set and daemon.json
// does not show; certsDir is containerd's registry config_path.
func CheckDaemon(cfg DaemonConfig, info system.Info, certsDir string) []Finding {
	var findings []Finding
	findings = append(findings, registryFindings(cfg, info, certsDir)...)
	findings = append(findings, runtimeFindings(cfg, info)...)
	findings = append(findings, loggingFindings(cfg, info)...)
	findings = append(findings, otherDaemonFindings(cfg, info)...)
	findings = append(findings, cgroupFinding(info))
	return findings
}

func runtimeFindings(cfg DaemonConfig, info system.Info) []Finding {
	runtimes := map[string]string{} // name → binary path
	for name, rt := range info.Runtimes {
		runtimes[name] = rt.Path
	}
	for name, rt := range cfg.Runtimes {
		runtimes[name] = rt.Path
	}
	var findings []Finding
	for _, name := range sortedKeys(runtimes) {
		if name == "runc" || strings.HasPrefix(name, "io.containerd.") {
			continue // Docker's built-ins: runc is containerd's default handler too
		}
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon runtimes." + name,
			What: fmt.Sprintf("Docker runtime %q (%s)", name, orDefault(runtimes[name], "no path")),
			CarryOver: "add a runtime handler to containerd's config.toml and a RuntimeClass with handler " + name + ":\n" +
				criRuntimeTOML(name, runtimes[name]),
		})
	}
	def := cfg.DefaultRuntime
	if def == "" {
		def = info.DefaultRuntime
	}
	if def != "" && def != "runc" {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon default-runtime",
			What: fmt.Sprintf("containers run with %q unless they say otherwise", def),
			CarryOver: "in containerd's config.toml, [plugins.\"io.containerd.grpc.v1.cri\".containerd] " +
				fmt.Sprintf("default_runtime_name = %q (containerd 2.x: plugins.\"io.containerd.cri.v1.runtime\".containerd)", def),
		})
	}
	return findings
}

// criRuntimeTOML is a runtime handler for containerd 1.6/1.7's config
// (version 2); containerd 2.x migrates it on start.
func criRuntimeTOML(name, binary string) string {
	s := fmt.Sprintf("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.%s]\n"+
		"  runtime_type = \"io.containerd.runc.v2\"\n", name)
	if binary != "" {
		s += fmt.Sprintf("  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.%s.options]\n"+
			"    BinaryName = %q\n", name, binary)
	}
	return s
}

func loggingFindings(cfg DaemonConfig, info system.Info) []Finding {
	var findings []Finding
	driver := orDefault(cfg.LogDriver, info.LoggingDriver)
	if driver != "" && driver != "json-file" && driver != "local" {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon log-driver",
			What:      fmt.Sprintf("container logs go to %q", driver),
			CarryOver: "containerd's CRI writes logs only to /var/log/pods: ship them from there (fluent-bit, vector)",
		})
	}
	if len(cfg.LogOpts) > 0 {
		f := Finding{
			Severity: Warning, Object: "daemon log-opts",
			What:      "log options " + strings.Join(sortedKeys(cfg.LogOpts), ", "),
			CarryOver: "the kubelet rotates CRI logs: set containerLogMaxSize / containerLogMaxFiles in its config",
		}
		if size, files := cfg.LogOpts["max-size"], cfg.LogOpts["max-file"]; size != "" || files != "" {
			f.CarryOver += fmt.Sprintf(" (max-size %s → containerLogMaxSize, max-file %s → containerLogMaxFiles)",
				orDefault(size, "-"), orDefault(files, "-"))
		}
		findings = append(findings, f)
	}
	return findings
}

func cgroupFinding(info system.Info) Finding {
	driver := orDefault(info.CgroupDriver, "unknown")
	systemd := "false"
	if driver == "systemd" {
		systemd = "true"
	}
	return Finding{
		Severity: Info, Object: "daemon cgroup driver",
		What: fmt.Sprintf("Docker uses the %s cgroup driver; the kubelet's cgroupDriver must stay %s", driver, driver),
		CarryOver: fmt.Sprintf("runc options of containerd's CRI: SystemdCgroup = %s "+
			"([plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options])", systemd),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

package migrate

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/system"
)

// otherDaemonFindings covers the settings that have no file to write:
// limits, restore, user namespaces, storage and networking.
func otherDaemonFindings(cfg DaemonConfig, info system.Info) []Finding {
	var findings []Finding
	if len(cfg.DefaultUlimits) > 0 {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon default-ulimits",
			What: "containers get limits " + strings.Join(sortedKeys(cfg.DefaultUlimits), ", ") + " from Docker",
			CarryOver: "containerd's containers inherit containerd's own limits: set them in its systemd unit " +
				"(LimitNOFILE=... in a drop-in); note Docker 29 lowered the default open-file limit",
		})
	}
	if (cfg.LiveRestore != nil && *cfg.LiveRestore) || info.LiveRestoreEnabled {
		findings = append(findings, Finding{
			Severity: Info, Object: "daemon live-restore",
			What:      "containers survive a dockerd restart",
			CarryOver: "nothing to do: containerd's shims keep containers running across containerd restarts",
		})
	}
	if remap := usernsRemap(cfg, info); remap != "" {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon userns-remap",
			What: "every container runs in a user namespace (" + remap + ")",
			CarryOver: "containerd has no node-wide remap: give pods hostUsers: false (user namespaces, " +
				"containerd 2.x and Kubernetes 1.30+) and chown volumes written by remapped UIDs",
		})
	}
	if root := orDefault(cfg.DataRoot, info.DockerRootDir); root != "" && root != "/var/lib/docker" {
		findings = append(findings, Finding{
			Severity: Info, Object: "daemon data-root",
			What: "Docker keeps its data in " + root,
			CarryOver: "containerd's store is separate (root in config.toml, /var/lib/containerd by default): " +
				"put it on the same disk if that is why data-root moved, then copy images with `dockercri-migrate images`",
		})
	}
	if len(cfg.DefaultAddressPools) > 0 {
		findings = append(findings, Finding{
			Severity: Info, Object: "daemon default-address-pools",
			What:      fmt.Sprintf("%d address pool(s) for Docker networks", len(cfg.DefaultAddressPools)),
			CarryOver: "pods get addresses from the CNI config, not Docker's pools: check the CNI ranges avoid the same conflicts",
		})
	}
	if len(cfg.Other) > 0 {
		findings = append(findings, Finding{
			Severity: Info, Object: "daemon " + cfg.Path,
			What:      "other settings: " + strings.Join(cfg.Other, ", "),
			CarryOver: "containerd does not read daemon.json: check whether any of these matters to pods",
		})
	}
	return findings
}

// usernsRemap is daemon.json's userns-remap, or what Info's security
// options say when it came from a flag.
func usernsRemap(cfg DaemonConfig, info system.Info) string {
	if cfg.UsernsRemap != "" {
		return cfg.UsernsRemap
	}
	for _, opt := range info.SecurityOptions {
		if strings.Contains(opt, "name=userns") {
			return "set by flag"
		}
	}
	return ""
}

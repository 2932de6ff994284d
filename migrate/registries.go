package migrate

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/moby/moby/api/types/system"
)

// registryFindings turns Docker's mirrors and insecure registries into the
// hosts.toml files containerd reads from its registry config_path (certsDir).
func registryFindings(cfg DaemonConfig, info system.Info, certsDir string) []Finding {
	mirrors, insecure, cidrs := cfg.RegistryMirrors, cfg.InsecureRegistries, []string(nil)
	if rc := info.RegistryConfig; rc != nil {
		mirrors = union(mirrors, rc.Mirrors)
		for _, p := range rc.InsecureRegistryCIDRs {
			// Docker always trusts loopback; containerd does the same for
			// localhost pulls over http, so it is nothing to carry.
			if p != netip.MustParsePrefix("127.0.0.0/8") && p != netip.MustParsePrefix("::1/128") {
				cidrs = append(cidrs, p.String())
			}
		}
		for name, idx := range rc.IndexConfigs {
			if idx != nil && !idx.Secure {
				insecure = union(insecure, []string{name})
			}
		}
	}
	var findings []Finding
	if len(mirrors) > 0 {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon registry-mirrors",
			What:      "Docker Hub pulls go through " + strings.Join(mirrors, ", "),
			CarryOver: mirrorHostsTOML(certsDir, mirrors),
		})
	}
	for _, entry := range insecure {
		if _, err := netip.ParsePrefix(entry); err == nil {
			cidrs = union(cidrs, []string{entry})
			continue
		}
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon insecure-registries " + entry,
			What:      "pulls from " + entry + " use http or skip TLS verification",
			CarryOver: insecureHostsTOML(certsDir, entry),
		})
	}
	for _, cidr := range cidrs {
		findings = append(findings, Finding{
			Severity: Warning, Object: "daemon insecure-registries " + cidr,
			What:      "registries in " + cidr + " are trusted without TLS",
			CarryOver: "containerd has no address ranges here: write a hosts.toml per registry host (as for a named insecure registry)",
		})
	}
	return findings
}

// mirrorHostsTOML is the file that sends Docker Hub pulls to the mirrors,
// in Docker's order, falling back to Docker Hub as Docker does.
func mirrorHostsTOML(certsDir string, mirrors []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "write %s:\n", path.Join(certsDir, "docker.io", "hosts.toml"))
	b.WriteString("server = \"https://registry-1.docker.io\"\n")
	for _, m := range mirrors {
		fmt.Fprintf(&b, "\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", strings.TrimRight(m, "/"))
	}
	return b.String()
}

// insecureHostsTOML: Docker tries https without verification and then
// http; containerd needs both spelled out.
func insecureHostsTOML(certsDir, host string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "write %s:\n", path.Join(certsDir, host, "hosts.toml"))
	fmt.Fprintf(&b, "server = %q\n", "https://"+host)
	fmt.Fprintf(&b, "\n[host.%q]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n  skip_verify = true\n", "https://"+host)
	fmt.Fprintf(&b, "\n[host.%q]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n", "http://"+host)
	return b.String()
}

// union appends to a the elements of b it lacks, keeping a's order.
func union(a, b []string) []string {
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			seen[s] = true
			a = append(a, s)
		}
	}
	return a
}

package translate

import (
	"net/netip"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ResolvConf renders a pod's resolv.conf from its DNS config: one
// "nameserver" line per server, then "search" and "options" lines. It
// returns "" when dns is nil or empty (the shim then keeps Docker's file).
// An entry that would break the file's syntax (a server that is not an IP
// address, a search domain or option containing white space) is skipped;
// SandboxCreateConfig refuses such a config before the shim gets here.
func ResolvConf(dns *runtimeapi.DNSConfig) string {
	var b strings.Builder
	for _, s := range dns.GetServers() {
		if resolvServerOK(s) {
			b.WriteString("nameserver " + s + "\n")
		}
	}
	resolvLine(&b, "search", dns.GetSearches())
	resolvLine(&b, "options", dns.GetOptions())
	return b.String()
}

func resolvLine(b *strings.Builder, key string, words []string) {
	n := 0
	for _, w := range words {
		if !resolvWordOK(w) {
			continue
		}
		if n == 0 {
			b.WriteString(key)
		}
		b.WriteString(" " + w)
		n++
	}
	if n > 0 {
		b.WriteString("\n")
	}
}

func resolvServerOK(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func resolvWordOK(w string) bool {
	return w != "" && !strings.ContainsFunc(w, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// resolvCheck refuses a DNS config that ResolvConf could not render whole.
func resolvCheck(dns *runtimeapi.DNSConfig) cfgOpt {
	return func(*Created) error {
		for i, s := range dns.GetServers() {
			if !resolvServerOK(s) {
				return cfgInvalid("dns_config.servers[%d] %q is not an IP address", i, s)
			}
		}
		for i, s := range dns.GetSearches() {
			if !resolvWordOK(s) {
				return cfgInvalid("dns_config.searches[%d] %q is empty or contains white space", i, s)
			}
		}
		for i, s := range dns.GetOptions() {
			if !resolvWordOK(s) {
				return cfgInvalid("dns_config.options[%d] %q is empty or contains white space", i, s)
			}
		}
		return nil
	}
}

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// cniNet is a CNI network of one test: its own bridge and subnet, configs,
// cache and IPAM state in temporary directories, torn down at the end.
type cniNet struct {
	bridge  string
	confDir string
	binDir  string // extra plugins of the test, searched before Debian's
	ipamDir string
	args    []string // dockercri flags
}

func newCNINet(t *testing.T, bridge string, subnets ...string) *cniNet {
	t.Helper()
	env := framework.LoadEnv(t)
	dir := t.TempDir()
	n := &cniNet{
		bridge:  bridge,
		confDir: filepath.Join(dir, "net.d"),
		binDir:  filepath.Join(dir, "bin"),
		ipamDir: filepath.Join(dir, "ipam"),
	}
	for _, d := range []string{n.confDir, n.binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.args = []string{"--network-plugin", "cni", "--cni-conf-dir", n.confDir,
		"--cni-bin-dir", n.binDir + "," + env.CNIBinDir, "--cni-cache-dir", filepath.Join(dir, "cache")}
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	if len(subnets) > 0 {
		n.writeConf(t, "bridge", subnets...)
	}
	return n
}

// writeConf writes the network config: a bridge (or a plugin of that type
// wrapping it) with host-local IPAM, portmap, and firewall, which lets the
// pods' traffic through Docker's FORWARD policy DROP.
func (n *cniNet) writeConf(t *testing.T, pluginType string, subnets ...string) {
	t.Helper()
	var ranges []string
	for _, s := range subnets {
		ranges = append(ranges, fmt.Sprintf(`[{"subnet": %q}]`, s))
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0", "name": "dcri-e2e",
  "plugins": [
    {"type": %q, "bridge": %q, "isGateway": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [%s], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
    {"type": "firewall"}
  ]
}`, pluginType, n.bridge, strings.Join(ranges, ", "), n.ipamDir)
	tmp := filepath.Join(n.confDir, ".tmp")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(n.confDir, "10-dcri.conflist")); err != nil {
		t.Fatal(err)
	}
}

// allocated lists the addresses host-local holds.
func (n *cniNet) allocated(t *testing.T) []string {
	t.Helper()
	var ips []string
	filepath.Walk(n.ipamDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(info.Name(), "last_reserved_ip") && info.Name() != "lock" {
			ips = append(ips, info.Name())
		}
		return nil
	})
	return ips
}

func podIP(t *testing.T, d *framework.Daemon, id string) *runtimeapi.PodSandboxNetworkStatus {
	t.Helper()
	st, err := d.Runtime.PodSandboxStatus(framework.Context(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	return st.GetStatus().GetNetwork()
}

func stopAndRemovePod(t *testing.T, d *framework.Daemon, id string) {
	t.Helper()
	ctx := framework.Context(t)
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
}

// TestCNIPodsReachEachOtherAndHostPort: two pods on the test's bridge reach
// each other by IP, a hostPort answers on the host's 127.0.0.1, and the IP
// dockercri reports is the one inside the pod.
func TestCNIPodsReachEachOtherAndHostPort(t *testing.T) {
	n := newCNINet(t, "dcrit0", "10.209.0.0/24")
	d := framework.StartDockercri(t, n.args...)
	image := busybox(t, d)
	removePodsAfter(t, "web", "client")

	web := podConfig(t, "web")
	web.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: 12080, HostIp: "127.0.0.1"}}
	webID := runPod(t, d, web)
	createAndStart(t, d, webID, web, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "httpd"}, Image: spec(image), LogPath: "httpd/0.log",
		Command: []string{"sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && ip -4 -o addr show eth0 && exec httpd -f -p 8080 -h /www"},
	})
	webIP := podIP(t, d, webID)
	if !strings.HasPrefix(webIP.GetIp(), "10.209.0.") {
		t.Fatalf("web pod IP = %v, want one from 10.209.0.0/24", webIP)
	}

	client := podConfig(t, "client")
	clientID := runPod(t, d, client)
	cid := createAndStart(t, d, clientID, client, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "wget"}, Image: spec(image), LogPath: "wget/0.log",
		// busybox-static's wget crashes (static glibc): speak HTTP with nc.
		Command: []string{"sh", "-c", fmt.Sprintf(`for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 %s 8080 | grep hello-from-web && exit 0; sleep 0.5; done; exit 1`, webIP.GetIp())},
	})
	if st := waitExited(t, d, cid, time.Minute); st.GetExitCode() != 0 {
		t.Fatalf("client could not reach web at %s: exit %d\nweb: %q\nclient: %q", webIP.GetIp(), st.GetExitCode(),
			logTexts(t, filepath.Join(web.LogDirectory, "httpd/0.log")), logTexts(t, filepath.Join(client.LogDirectory, "wget/0.log")))
	}
	if got := logTexts(t, filepath.Join(client.LogDirectory, "wget/0.log")); len(got) == 0 || got[len(got)-1] != "hello-from-web" {
		t.Fatalf("client got %q", got)
	}

	// The address inside the pod, as the pod's own `ip addr` printed it.
	inside := regexp.MustCompile(`inet (\S+)/`).FindStringSubmatch(strings.Join(logTexts(t, filepath.Join(web.LogDirectory, "httpd/0.log")), "\n"))
	if inside == nil || inside[1] != webIP.GetIp() {
		t.Fatalf("IP inside the pod %v, reported %s", inside, webIP.GetIp())
	}

	var body string
	for i := 0; i < 20; i++ {
		resp, err := http.Get("http://127.0.0.1:12080/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if strings.TrimSpace(body) != "hello-from-web" {
		t.Fatalf("hostPort 12080 on 127.0.0.1 answered %q", body)
	}
	stopAndRemovePod(t, d, webID)
	stopAndRemovePod(t, d, clientID)
	if ips := n.allocated(t); len(ips) != 0 {
		t.Fatalf("addresses still allocated: %v", ips)
	}
	if _, err := http.Get("http://127.0.0.1:12080/"); err == nil {
		t.Fatal("the hostPort still answers after the pod is gone")
	}
}

// TestCNIDualStack: a config with an IPv4 and an IPv6 range gives the pod
// both, IPv4 first.
func TestCNIDualStack(t *testing.T) {
	n := newCNINet(t, "dcrit1", "10.209.1.0/24", "fd00:dc71::/64")
	d := framework.StartDockercri(t, n.args...)
	removePodsAfter(t, "dual")
	id := runPod(t, d, podConfig(t, "dual"))
	net := podIP(t, d, id)
	if !strings.HasPrefix(net.GetIp(), "10.209.1.") || len(net.GetAdditionalIps()) != 1 || !strings.HasPrefix(net.GetAdditionalIps()[0].GetIp(), "fd00:dc71::") {
		t.Fatalf("pod network = %v, want an IPv4 then an IPv6 address", net)
	}
	d.Restart() // the IPs come from the checkpoint
	if again := podIP(t, d, id); again.GetIp() != net.GetIp() || len(again.GetAdditionalIps()) != 1 {
		t.Fatalf("after restart pod network = %v, was %v", again, net)
	}
	stopAndRemovePod(t, d, id)
}

// TestCNINetworkReadyFollowsConfig: NetworkReady is false, with a reason,
// until a config is written, then true without a restart; a config that will
// drop pod traffic on this Docker host is named in the condition.
func TestCNINetworkReadyFollowsConfig(t *testing.T) {
	n := newCNINet(t, "dcrit2")
	d := framework.StartDockercri(t, n.args...)
	network := func() *runtimeapi.RuntimeCondition { return networkCondition(t, d) }
	if c := network(); c.GetStatus() || c.GetReason() == "" || !strings.Contains(c.GetMessage(), n.confDir) {
		t.Fatalf("without a config: %v", c)
	}
	// A plain bridge and portmap, as most examples have it: ready, but on
	// this Docker host (FORWARD policy DROP, bridged traffic through
	// iptables) pods could not reach each other, and the condition says so.
	plain := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "dcri-plain", "plugins": [
    {"type": "bridge", "bridge": %q, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.209.2.0/24"}]], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}]}`, n.bridge, n.ipamDir)
	if err := os.WriteFile(filepath.Join(n.confDir, "10-dcri.conflist"), []byte(plain), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := network(); !c.GetStatus() || c.GetReason() != "PodTrafficDropped" || !strings.Contains(c.GetMessage(), `"firewall"`) {
		t.Fatalf("with a plain bridge config on Docker's FORWARD DROP: %v", c)
	}
	n.writeConf(t, "bridge", "10.209.2.0/24") // with the firewall plugin
	if c := network(); !c.GetStatus() || c.GetReason() != "" {
		t.Fatalf("with a config: %v", c)
	}
}

// cycles is how many pods TestCNICreateDeleteCycles makes and deletes:
// 1,000, sixteen times what its /26 holds, so a single leaked address fails
// it early. About half a second each; DOCKERCRI_E2E_CNI_CYCLES lowers it
// for a quick local run.
func cycles() int {
	if v := os.Getenv("DOCKERCRI_E2E_CNI_CYCLES"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
			return n
		}
	}
	return 1000
}

// TestCNICreateDeleteCycles: sequential pod create/delete cycles leave no
// address allocated, no interface and no iptables rule behind, and
// dockercri's memory grows by less than 5 MiB over them (cribench's churn
// goal), its file descriptors and goroutines back where they were.
func TestCNICreateDeleteCycles(t *testing.T) {
	n := newCNINet(t, "dcrit3", "10.209.3.0/26")
	metrics := freeAddr(t)
	d := framework.StartDockercri(t, append(n.args, "--metrics-bind-addr", metrics)...)
	removePodsAfter(t, "cycle")
	cfg := podConfig(t, "cycle")
	cfg.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 12081}}
	// One cycle first: it creates the bridge and portmap's chains, which stay.
	stopAndRemovePod(t, d, runPod(t, d, cfg))
	links, rules := countLines(t, "ip", "-o", "link"), countLines(t, "iptables-save")
	c := &chaos{t: t, d: d, metrics: metrics}
	before, rss := c.sample(), residentKiB(t, d.Pid())
	start := time.Now()
	total := cycles()
	for i := 0; i < total; i++ {
		cfg.Metadata.Attempt = uint32(i + 2)
		id := runPod(t, d, cfg)
		if ip := podIP(t, d, id).GetIp(); !strings.HasPrefix(ip, "10.209.3.") {
			t.Fatalf("cycle %d: pod IP %q", i, ip)
		}
		stopAndRemovePod(t, d, id)
	}
	t.Logf("%d create/delete cycles in %v (%v each)", total, time.Since(start).Round(time.Millisecond), (time.Since(start) / time.Duration(total)).Round(time.Millisecond))
	if ips := n.allocated(t); len(ips) != 0 {
		t.Fatalf("addresses left allocated: %v", ips)
	}
	if got := countLines(t, "ip", "-o", "link"); got != links {
		t.Fatalf("%d network interfaces after the cycles, %d before", got, links)
	}
	if got := countLines(t, "iptables-save"); got != rules {
		t.Fatalf("%d iptables-save lines after the cycles, %d before", got, rules)
	}
	after := c.settle(before)
	grown := residentKiB(t, d.Pid()) - rss
	t.Logf("dockercri after %d cycles: RSS %+d KiB, %d→%d fds, %d→%d goroutines", total, grown, before.fds, after.fds, before.goroutines, after.goroutines)
	if after.fds > before.fds+chaosFDSlack || after.goroutines > before.goroutines+chaosGSlack {
		t.Errorf("fds %d→%d, goroutines %d→%d over the cycles", before.fds, after.fds, before.goroutines, after.goroutines)
	}
	if total >= 1000 && grown >= 5<<10 {
		t.Errorf("dockercri's RSS grew %d KiB over %d cycles, want < 5 MiB", grown, total)
	}
}

// residentKiB is a process's resident set (VmRSS) in KiB.
func residentKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kib); err == nil {
				return kib
			}
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

func countLines(t *testing.T, name string, args ...string) int {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		// iptables-save's comments carry times; counters are not lines.
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

// slowPlugin wraps the bridge plugin and sleeps after a successful ADD: the
// window in which dockercri has attached a pod but not yet recorded it.
const slowPlugin = `#!/bin/sh
out=$(%s/bridge)
rc=$?
if [ "$CNI_COMMAND" = ADD ] && [ $rc -eq 0 ]; then sleep %d; fi
printf '%%s' "$out"
exit $rc
`

// TestCNISlowAddAndKill: while one pod's ADD is slow, Status and the lists
// answer at once; dockercri killed with -9 in that window leaves, after its
// restart, no trace of the pod: no container, no address.
func TestCNISlowAddAndKill(t *testing.T) {
	env := framework.LoadEnv(t)
	n := newCNINet(t, "dcrit4")
	if err := os.WriteFile(filepath.Join(n.binDir, "slowbridge"), []byte(fmt.Sprintf(slowPlugin, env.CNIBinDir, 4)), 0o755); err != nil {
		t.Fatal(err)
	}
	n.writeConf(t, "slowbridge", "10.209.4.0/24")
	d := framework.StartDockercri(t, n.args...)
	removePodsAfter(t, "slow")

	done := make(chan error, 1)
	go func() {
		_, err := d.Runtime.RunPodSandbox(framework.Context(t), &runtimeapi.RunPodSandboxRequest{Config: podConfig(t, "slow")})
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(n.allocated(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow ADD never allocated an address")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx := framework.Context(t)
	start := time.Now()
	if _, err := d.Runtime.Status(ctx, &runtimeapi.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Status and lists took %v behind a slow ADD", took)
	}
	select {
	case err := <-done:
		t.Fatalf("RunPodSandbox returned during the slow ADD: %v", err)
	default:
	}

	d.Kill()
	d.Restart()
	deadline = time.Now().Add(30 * time.Second)
	for {
		left := strings.TrimSpace(framework.Docker(t, "ps", "-aq", "--filter", "name=_slow_e2e_"))
		ips := n.allocated(t)
		if left == "" && len(ips) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: containers %q, addresses %v", left, ips)
		}
		time.Sleep(200 * time.Millisecond)
	}
	pl, err := d.Runtime.ListPodSandbox(framework.Context(t), &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pl.GetItems() {
		if p.GetMetadata().GetName() == "slow" {
			t.Fatalf("half-made pod still listed: %v", p)
		}
	}
}

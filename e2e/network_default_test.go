package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// defaultNet is a dockercri started with --cni-default-network on an empty
// config directory, with a bridge and dual-stack subnets of the test's own.
type defaultNet struct {
	*cniNet
	d *framework.Daemon
}

const (
	defaultV4     = "10.210.0.0/24"
	defaultV6     = "fd00:dc72::/64"
	defaultBridge = "dcrit9"
	defaultIPAM   = "/var/lib/cni/networks/dockercri-default" // host-local's state of the default network
)

func startDefaultNet(t *testing.T) *defaultNet {
	t.Helper()
	n := newCNINet(t, defaultBridge)
	if err := os.Remove(n.confDir); err != nil { // not even the directory: dockercri makes it
		t.Fatal(err)
	}
	args := append(slices.Clone(n.args), "--cni-default-network", defaultV4+","+defaultV6, "--cni-default-bridge", defaultBridge)
	return &defaultNet{cniNet: n, d: framework.StartDockercri(t, args...)}
}

// serve starts a pod whose container answers "hello-from-<name>" on 8080
// (busybox httpd, on every address) and keeps a shell for exec.
func (n *defaultNet) serve(t *testing.T, image, name string, ports ...*runtimeapi.PortMapping) (podID, ctrID string, ips []string) {
	t.Helper()
	pod := podConfig(t, name)
	pod.PortMappings = ports
	podID = runPod(t, n.d, pod)
	ctrID = createAndStart(t, n.d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "web"}, Image: spec(image),
		Command: []string{"sh", "-c", "mkdir -p /www && echo hello-from-" + name + " > /www/index.html && exec httpd -f -p 8080 -h /www"},
	})
	st := podIP(t, n.d, podID)
	ips = []string{st.GetIp()}
	for _, ip := range st.GetAdditionalIps() {
		ips = append(ips, ip.GetIp())
	}
	return podID, ctrID, ips
}

// fetch asks addr:port for / from inside a container with busybox nc.
func fetch(t *testing.T, d *framework.Daemon, ctrID, addr string, port int) string {
	t.Helper()
	cmd := fmt.Sprintf(`for i in 1 2 3 4 5; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 %s %d && exit 0; sleep 0.5; done; exit 1`, addr, port)
	r, err := d.Runtime.ExecSync(framework.Context(t), &runtimeapi.ExecSyncRequest{ContainerId: ctrID, Cmd: []string{"sh", "-c", cmd}, Timeout: 30})
	if err != nil {
		t.Fatal(err)
	}
	return string(r.GetStdout())
}

// hostGet fetches url from the host, retrying while a rule settles.
func hostGet(url string) string {
	for i := 0; i < 20; i++ {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return strings.TrimSpace(string(b))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return ""
}

// hostAddrs returns an IPv4 and a global IPv6 address of the host's own
// (not of a bridge, veth or loopback); without a global IPv6 address, one is
// put on a dummy interface of the test's.
func hostAddrs(t *testing.T) (v4, v6 string) {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 || strings.HasPrefix(ifc.Name, "dcri") ||
			strings.HasPrefix(ifc.Name, "veth") || strings.HasPrefix(ifc.Name, "docker") || strings.HasPrefix(ifc.Name, "cni") {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ip, _, _ := net.ParseCIDR(a.String())
			switch {
			case ip.To4() != nil && v4 == "":
				v4 = ip.String()
			case ip.To4() == nil && ip.IsGlobalUnicast() && v6 == "":
				v6 = ip.String()
			}
		}
	}
	if v6 == "" {
		const dummy, addr = "dcrit-host6", "fd00:dc7f::1"
		if out, err := exec.Command("sh", "-c", "ip link add "+dummy+" type dummy && ip link set "+dummy+" up && ip -6 addr add "+addr+"/128 dev "+dummy+" nodad").CombinedOutput(); err != nil {
			t.Fatalf("a host IPv6 address for the test: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "link", "del", dummy).Run() })
		v6 = addr
	}
	if v4 == "" {
		t.Fatal("the host has no IPv4 address of its own")
	}
	return v4, v6
}

// TestCNIDefaultNetworkTraffic: dockercri's default network on the e2e
// dockerd in Docker's default networking (FORWARD policy DROP, bridged
// traffic through iptables), dual stack: two pods reach each other both
// ways by IPv4 and IPv6, reach the host, the host reaches them, and a
// hostPort answers on 127.0.0.1 and on the host's own IPv4 and IPv6
// addresses. Then an operator's config replaces the default without a
// restart, and nothing is left allocated.
func TestCNIDefaultNetworkTraffic(t *testing.T) {
	n := startDefaultNet(t)
	image := busybox(t, n.d)
	removePodsAfter(t, "def-a", "def-b", "def-op")
	if c := networkCondition(t, n.d); !c.GetStatus() || c.GetReason() != "" {
		t.Fatalf("NetworkReady on the default network = %v, want true with no warning", c)
	}
	if b, err := os.ReadFile(filepath.Join(n.confDir, "99-dockercri-default.conflist")); err != nil || !strings.Contains(string(b), `"firewall"`) {
		t.Fatalf("the default network's file: %v\n%s", err, b)
	}

	aPod, aCtr, aIPs := n.serve(t, image, "def-a", &runtimeapi.PortMapping{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: 12081})
	bPod, bCtr, bIPs := n.serve(t, image, "def-b")
	if len(aIPs) != 2 || len(bIPs) != 2 || !strings.HasPrefix(aIPs[0], "10.210.0.") || !strings.HasPrefix(aIPs[1], "fd00:dc72::") {
		t.Fatalf("pod IPs %v and %v, want an IPv4 from %s then an IPv6 from %s", aIPs, bIPs, defaultV4, defaultV6)
	}
	for i, family := range []string{"IPv4", "IPv6"} {
		if got := fetch(t, n.d, aCtr, bIPs[i], 8080); !strings.Contains(got, "hello-from-def-b") {
			t.Errorf("%s pod a → pod b (%s): %q", family, bIPs[i], got)
		}
		if got := fetch(t, n.d, bCtr, aIPs[i], 8080); !strings.Contains(got, "hello-from-def-a") {
			t.Errorf("%s pod b → pod a (%s): %q", family, aIPs[i], got)
		}
		if got := hostGet("http://" + net.JoinHostPort(aIPs[i], "8080") + "/"); got != "hello-from-def-a" {
			t.Errorf("%s host → pod a: %q", family, got)
		}
	}

	hostV4, hostV6 := hostAddrs(t)
	l, err := net.Listen("tcp", ":0") // both families
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "hello-from-host\n")
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	for _, addr := range []string{hostV4, hostV6} {
		if got := fetch(t, n.d, bCtr, addr, port); !strings.Contains(got, "hello-from-host") {
			t.Errorf("pod b → host %s: %q", addr, got)
		}
	}
	for _, addr := range []string{"127.0.0.1", hostV4, hostV6} {
		if got := hostGet("http://" + net.JoinHostPort(addr, "12081") + "/"); got != "hello-from-def-a" {
			t.Errorf("hostPort 12081 on %s: %q", addr, got)
		}
	}
	stopAndRemovePod(t, n.d, aPod)
	stopAndRemovePod(t, n.d, bPod)
	if got := hostGet("http://127.0.0.1:12081/"); got != "" {
		t.Errorf("the hostPort still answers after the pod is gone: %q", got)
	}

	// The operator's network replaces dockercri's, without a restart.
	if err := os.Remove(filepath.Join(n.confDir, "99-dockercri-default.conflist")); err != nil {
		t.Fatal(err)
	}
	op := *n.cniNet // the operator's network: a bridge of its own
	op.bridge = "dcrit8"
	t.Cleanup(func() { exec.Command("ip", "link", "del", op.bridge).Run() })
	op.writeConf(t, "bridge", "10.209.9.0/24")
	opPod := runPod(t, n.d, podConfig(t, "def-op"))
	if ip := podIP(t, n.d, opPod).GetIp(); !strings.HasPrefix(ip, "10.209.9.") {
		t.Fatalf("a pod after the operator's config came: IP %s, want one from 10.209.9.0/24", ip)
	}
	if _, err := os.Stat(filepath.Join(n.confDir, "99-dockercri-default.conflist")); !os.IsNotExist(err) {
		t.Fatalf("the default network came back beside the operator's: %v", err)
	}
	stopAndRemovePod(t, n.d, opPod)
	if left, _ := os.ReadDir(defaultIPAM); len(ipFiles(left)) != 0 {
		t.Fatalf("addresses still allocated on the default network: %v", ipFiles(left))
	}
}

// ipFiles are host-local's address files among a directory's entries.
func ipFiles(entries []os.DirEntry) []string {
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

func networkCondition(t *testing.T, d *framework.Daemon) *runtimeapi.RuntimeCondition {
	t.Helper()
	st, err := d.Runtime.Status(framework.Context(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.GetStatus().GetConditions() {
		if c.GetType() == runtimeapi.NetworkReady {
			return c
		}
	}
	t.Fatal("no NetworkReady condition")
	return nil
}

// TestCNIDefaultNetworkCycles: 100 pods with a hostPort made and deleted on
// the default network leave the host's iptables and ip6tables exactly as
// they were, and no address allocated. The rules the default chain keeps
// for good are logged (go test -v).
func TestCNIDefaultNetworkCycles(t *testing.T) {
	n := startDefaultNet(t)
	removePodsAfter(t, "cycle")
	cycle := func(attempt int) {
		pod := podConfig(t, "cycle")
		pod.Metadata.Attempt = uint32(attempt)
		pod.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 8080, HostPort: 12082}}
		stopAndRemovePod(t, n.d, runPod(t, n.d, pod))
	}
	cycle(1) // the first pod sets up the chains that stay
	before := rules(t)
	for i := 0; i < 100; i++ {
		cycle(i + 2)
	}
	after := rules(t)
	if before != after {
		t.Fatalf("iptables changed over 100 pod cycles:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if left, _ := os.ReadDir(defaultIPAM); len(ipFiles(left)) != 0 {
		t.Fatalf("addresses still allocated: %v", ipFiles(left))
	}
	var kept []string
	for _, line := range strings.Split(after, "\n") {
		if strings.Contains(line, "CNI") || strings.Contains(line, defaultBridge) || strings.Contains(line, "10.210.0.") || strings.Contains(line, "fd00:dc72") {
			kept = append(kept, line)
		}
	}
	t.Logf("rules of the default network's chains after 100 cycles (%d):\n%s", len(kept), strings.Join(kept, "\n"))
}

// rules is the host's iptables and ip6tables (filter and nat), counters
// and comments of the save format left out.
func rules(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		for _, table := range []string{"filter", "nat"} {
			out, err := exec.Command(cmd, "-t", table).Output()
			if err != nil {
				t.Fatalf("%s -t %s: %v", cmd, table, err)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "#") || line == "" {
					continue
				}
				if strings.HasPrefix(line, ":") { // ":CHAIN POLICY [packets:bytes]"
					line = strings.Join(strings.Fields(line)[:2], " ")
				}
				b.WriteString(cmd + " " + line + "\n")
			}
		}
	}
	return b.String()
}

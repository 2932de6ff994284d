package translate

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Table tests for what the fuzz targets found; each case failed before its
// fix.

// TestFuzzFoundUserIDs: Docker reads a user or group with strconv.Atoi
// (a sign allowed) and matches it against the image's /etc/passwd before any
// range check, so "+4294967296" with a passwd entry of uid 2^32 ran as root
// on Docker 20.10, while ImageStatus reported no uid and the kubelet's
// runAsNonRoot check let it pass. Ids the image's accounts give are checked
// the same way.
func TestFuzzFoundUserIDs(t *testing.T) {
	accounts := &Accounts{
		Passwd: []byte("root:x:0:0:root:/root:/bin/sh\nbig:x:4294967296:4294967296:::\nbiggid:x:1000:4294967296:::\nok:x:1000:1000:::\n"),
		Group:  []byte("root:x:0:\n"),
	}
	tests := []struct {
		name      string
		username  string
		imageUser string
		policy    runtimeapi.SupplementalGroupsPolicy
		wantErr   bool
	}{
		{name: "numeric user name past 2^32", username: "4294967296", wantErr: true},
		{name: "numeric user name with a plus sign", username: "+4294967296", wantErr: true},
		{name: "negative user name", username: "-1", wantErr: true},
		{name: "image USER with a plus sign", imageUser: "+4294967296", wantErr: true},
		{name: "image USER negative", imageUser: "-1", wantErr: true},
		{name: "image group with a plus sign", imageUser: "1000:+4294967296", wantErr: true},
		{name: "image USER too long for an int", imageUser: "99999999999999999999", wantErr: true},
		{name: "passwd uid past 2^32, Strict", username: "big", policy: runtimeapi.SupplementalGroupsPolicy_Strict, wantErr: true},
		{name: "passwd gid past 2^32, Strict", username: "biggid", policy: runtimeapi.SupplementalGroupsPolicy_Strict, wantErr: true},
		{name: "user name in range", username: "1000"},
		{name: "image USER in range with a sign", imageUser: "+1000:+1000"},
		{name: "named user, Strict", username: "ok", policy: runtimeapi.SupplementalGroupsPolicy_Strict},
		{name: "image user name", imageUser: "www-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				c.Linux.SecurityContext.RunAsUsername = tt.username
				c.Linux.SecurityContext.SupplementalGroupsPolicy = tt.policy
			})
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx", ImageUser: tt.imageUser, Accounts: accounts})
			if tt.wantErr {
				cfgTestWantErr(t, err, ErrInvalidConfig, "outside [0, 2147483647]")
				return
			}
			if err != nil {
				t.Fatalf("ContainerCreateConfig: %v", err)
			}
		})
	}
}

// TestFuzzFoundHostname: Docker 20.10 writes the hostname into the pod's
// /etc/hosts as it is; a newline added a hosts entry (measured: "evil\n6.6.6.6
// kubernetes.default" made kubernetes.default resolve to 6.6.6.6).
func TestFuzzFoundHostname(t *testing.T) {
	tests := []struct {
		give    string
		wantErr bool
	}{
		{give: "web-0"},
		{give: ""},
		{give: "web-0.sub.ns.svc.cluster.local"},
		{give: "a_b"},
		{give: "evil\n6.6.6.6 kubernetes.default", wantErr: true},
		{give: "tab\there", wantErr: true},
		{give: "nul\x00", wantErr: true},
		{give: "ünïcödé", wantErr: true},
		{give: string(make([]byte, 65)), wantErr: true},
	}
	for _, tt := range tests {
		_, err := SandboxCreateConfig(cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.Hostname = tt.give }), "", cfgTestSandboxOpts)
		if tt.wantErr {
			cfgTestWantErr(t, err, ErrInvalidConfig, "hostname")
			continue
		}
		if err != nil {
			t.Errorf("hostname %q: %v", tt.give, err)
		}
	}
	// With host network the hostname is ignored, never written.
	_, err := SandboxCreateConfig(cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
		p.Hostname = "x\ny"
		p.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
	}), "", cfgTestSandboxOpts)
	if err != nil {
		t.Errorf("host network with an ignored hostname: %v", err)
	}
}

// TestFuzzFoundMirrorDomain: a mirror host without a dot or port ("mirror")
// is read by Docker as a Docker Hub account, so "registry.k8s.io=http://
// mirror/k8s" pulled docker.io/mirror/k8s/pause from Docker Hub; a registry
// that no reference has as its domain ("quay", "index.docker.io") never
// matched a pull.
func TestFuzzFoundMirrorDomain(t *testing.T) {
	for _, give := range []string{
		"registry.k8s.io=http://mirror/k8s",
		"registry.k8s.io=http://mirror",
		"quay=http://127.0.0.1:5000",
		"index.docker.io=http://127.0.0.1:5000",
	} {
		if _, err := ParseMirror(give); err == nil {
			t.Errorf("ParseMirror(%q) succeeded", give)
		} else {
			cfgTestWantErr(t, err, ErrInvalidConfig, "is read as a name on")
		}
	}
	for _, give := range []string{
		"registry.k8s.io=http://localhost/k8s",
		"registry.k8s.io=http://mirror:5000/k8s",
		"registry.k8s.io=http://mirror.internal/k8s",
		"localhost:5000=http://127.0.0.1:5001",
		"docker.io=http://[::1]:5000",
	} {
		if _, err := ParseMirror(give); err != nil {
			t.Errorf("ParseMirror(%q): %v", give, err)
		}
	}
}

package translate

import (
	"errors"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cfgTestSecurity builds a container with security context sc (its
// namespace options defaulted) in a pod whose sandbox is privileged or not.
func cfgTestSecurity(sc *runtimeapi.LinuxContainerSecurityContext, privilegedPod bool, opts ContainerOptions) (*Created, error) {
	if sc.NamespaceOptions == nil {
		sc.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}
	}
	cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Linux.SecurityContext = sc })
	pod := cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.Linux.SecurityContext.Privileged = privilegedPod })
	opts.SandboxID = "sbx"
	return ContainerCreateConfig(cfg, pod, opts)
}

func cfgTestInt(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }

var cfgTestRuntimeDefault = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}

func TestContainerUser(t *testing.T) {
	tests := []struct {
		name        string
		give        *runtimeapi.LinuxContainerSecurityContext
		imageUser   string
		want        string
		wantIgnored []string
		wantErr     string
	}{
		{name: "none", give: &runtimeapi.LinuxContainerSecurityContext{}, want: ""},
		{name: "uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000)}, want: "1000"},
		{name: "root", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(0)}, want: "0"},
		{name: "uid and gid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), RunAsGroup: cfgTestInt(3000)}, want: "1000:3000"},
		{name: "name", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data"}, want: "www-data"},
		{name: "name and gid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data", RunAsGroup: cfgTestInt(33)}, want: "www-data:33"},
		{name: "name wins over uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data", RunAsUser: cfgTestInt(0)}, want: "www-data",
			wantIgnored: []string{"run_as_user: run_as_username takes precedence"}},
		{name: "largest uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(2147483647)}, want: "2147483647"},
		{name: "image user in range", give: &runtimeapi.LinuxContainerSecurityContext{}, imageUser: "1003:1003", want: ""},
		{name: "uid 2^31", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(2147483648)}, wantErr: "run_as_user 2147483648"},
		{name: "uid 2^32 must not wrap to root", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(4294967296)}, wantErr: "run_as_user 4294967296"},
		{name: "negative uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(-1)}, wantErr: "run_as_user -1"},
		{name: "gid 2^32", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1), RunAsGroup: cfgTestInt(4294967296)}, wantErr: "run_as_group 4294967296"},
		{name: "gid without user", give: &runtimeapi.LinuxContainerSecurityContext{RunAsGroup: cfgTestInt(3000)}, imageUser: "1000", wantErr: "run_as_group 3000 without run_as_user"},
		{name: "name with a group in it", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "nobody:0"}, wantErr: "run_as_username"},
		{name: "image uid 2^32", give: &runtimeapi.LinuxContainerSecurityContext{}, imageUser: "4294967296", wantErr: "image USER"},
		{name: "image gid 2^32", give: &runtimeapi.LinuxContainerSecurityContext{}, imageUser: "1000:4294967296", wantErr: "image USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cfgTestSecurity(tt.give, false, ContainerOptions{ImageUser: tt.imageUser, Accounts: groupsTestAccounts})
			if tt.wantErr != "" {
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.User != tt.want || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("User, Ignored = %q, %q; want %q, %q", got.Config.User, got.Ignored, tt.want, tt.wantIgnored)
			}
		})
	}
}

func TestContainerSupplementalGroups(t *testing.T) {
	got, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{SupplementalGroups: []int64{0, 2000, 2147483647}}, false, ContainerOptions{})
	if err != nil || !reflect.DeepEqual(got.HostConfig.GroupAdd, []string{"0", "2000", "2147483647"}) {
		t.Fatalf("GroupAdd = %v, %v", got, err)
	}
	_, err = cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{SupplementalGroups: []int64{4294967296}}, false, ContainerOptions{})
	cfgTestWantErr(t, err, ErrInvalidConfig, "supplemental_groups")
	_, err = cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{SupplementalGroupsPolicy: 7}, false, ContainerOptions{})
	cfgTestWantErr(t, err, ErrInvalidConfig, "supplemental_groups_policy 7")
}

func TestContainerReadonlyRootfsAndNoNewPrivs(t *testing.T) {
	got, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{ReadonlyRootfs: true, NoNewPrivs: true, Seccomp: cfgTestRuntimeDefault}, false, ContainerOptions{})
	if err != nil || !got.HostConfig.ReadonlyRootfs || !reflect.DeepEqual(got.HostConfig.SecurityOpt, []string{"no-new-privileges"}) {
		t.Fatalf("ReadonlyRootfs, SecurityOpt = %v, %v", got, err)
	}
}

func TestContainerSeccomp(t *testing.T) {
	profile := []byte("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\"\n}\n")
	load := func(p string) ([]byte, error) {
		if p != "/var/lib/kubelet/seccomp/audit.json" {
			return nil, errors.New("no such file")
		}
		return profile, nil
	}
	localhost := func(ref string) *runtimeapi.SecurityProfile {
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: ref}
	}
	tests := []struct {
		name    string
		give    *runtimeapi.SecurityProfile
		legacy  string
		want    []string
		wantErr string
	}{
		{name: "runtime default", give: cfgTestRuntimeDefault},
		{name: "unconfined", give: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}, want: []string{"seccomp=unconfined"}},
		{name: "unset is unconfined", want: []string{"seccomp=unconfined"}},
		{name: "localhost", give: localhost("/var/lib/kubelet/seccomp/audit.json"), want: []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO"}`}},
		{name: "deprecated runtime/default", legacy: "runtime/default"},
		{name: "deprecated docker/default", legacy: "docker/default"},
		{name: "deprecated unconfined", legacy: "unconfined", want: []string{"seccomp=unconfined"}},
		{name: "deprecated localhost", legacy: "localhost//var/lib/kubelet/seccomp/audit.json", want: []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO"}`}},
		{name: "current wins over deprecated", give: cfgTestRuntimeDefault, legacy: "unconfined"},
		{name: "missing profile", give: localhost("/var/lib/kubelet/seccomp/nope.json"), wantErr: "/var/lib/kubelet/seccomp/nope.json"},
		{name: "relative profile", give: localhost("audit.json"), wantErr: "audit.json"},
		{name: "localhost without ref", give: localhost(""), wantErr: "localhost_ref"},
		{name: "unknown deprecated", legacy: "custom", wantErr: "custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &runtimeapi.LinuxContainerSecurityContext{Seccomp: tt.give, SeccompProfilePath: tt.legacy}
			got, err := cfgTestSecurity(sc, false, ContainerOptions{LoadSeccompProfile: load})
			if tt.wantErr != "" {
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
				return
			}
			if err != nil || !reflect.DeepEqual(got.HostConfig.SecurityOpt, tt.want) {
				t.Fatalf("SecurityOpt = %v, %v; want %q", got, err, tt.want)
			}
		})
	}
	bad := func(string) ([]byte, error) { return []byte("not json"), nil }
	_, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{Seccomp: localhost("/p.json")}, false, ContainerOptions{LoadSeccompProfile: bad})
	cfgTestWantErr(t, err, ErrInvalidConfig, "not JSON")
	_, err = cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{Seccomp: localhost("/p.json")}, false, ContainerOptions{})
	cfgTestWantErr(t, err, ErrUnsupported, "/p.json")
}

func TestContainerAppArmor(t *testing.T) {
	tests := []struct {
		name   string
		give   *runtimeapi.SecurityProfile
		legacy string
		want   []string
	}{
		{name: "unset"},
		{name: "runtime default", give: cfgTestRuntimeDefault},
		{name: "unconfined", give: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}, want: []string{"apparmor=unconfined"}},
		{name: "localhost", give: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "k8s-deny-write"}, want: []string{"apparmor=k8s-deny-write"}},
		{name: "deprecated unconfined", legacy: "unconfined", want: []string{"apparmor=unconfined"}},
		{name: "deprecated localhost", legacy: "localhost/k8s-deny-write", want: []string{"apparmor=k8s-deny-write"}},
		{name: "current wins over deprecated", give: cfgTestRuntimeDefault, legacy: "unconfined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &runtimeapi.LinuxContainerSecurityContext{Apparmor: tt.give, ApparmorProfile: tt.legacy, Seccomp: cfgTestRuntimeDefault}
			got, err := cfgTestSecurity(sc, false, ContainerOptions{})
			if err != nil || !reflect.DeepEqual(got.HostConfig.SecurityOpt, tt.want) {
				t.Fatalf("SecurityOpt = %v, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestContainerSELinuxOptions(t *testing.T) {
	sc := &runtimeapi.LinuxContainerSecurityContext{Seccomp: cfgTestRuntimeDefault,
		SelinuxOptions: &runtimeapi.SELinuxOption{User: "system_u", Role: "system_r", Type: "container_t", Level: "s0:c1,c2"}}
	got, err := cfgTestSecurity(sc, false, ContainerOptions{})
	want := []string{"label=user:system_u", "label=role:system_r", "label=type:container_t", "label=level:s0:c1,c2"}
	if err != nil || !reflect.DeepEqual(got.HostConfig.SecurityOpt, want) {
		t.Fatalf("SecurityOpt = %v, %v; want %q", got, err, want)
	}
}

func TestContainerMaskedAndReadonlyPaths(t *testing.T) {
	tests := []struct {
		name                   string
		masked, readonly       []string
		wantMasked, wantReadOn []string
	}{
		{name: "kubelet defaults", masked: []string{"/proc/kcore"}, readonly: []string{"/proc/sys"}, wantMasked: []string{"/proc/kcore"}, wantReadOn: []string{"/proc/sys"}},
		{name: "empty leaves Docker's defaults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &runtimeapi.LinuxContainerSecurityContext{MaskedPaths: tt.masked, ReadonlyPaths: tt.readonly}
			got, err := cfgTestSecurity(sc, false, ContainerOptions{})
			if err != nil || !reflect.DeepEqual(got.HostConfig.MaskedPaths, tt.wantMasked) || !reflect.DeepEqual(got.HostConfig.ReadonlyPaths, tt.wantReadOn) {
				t.Fatalf("MaskedPaths, ReadonlyPaths = %v, %v", got, err)
			}
		})
	}
	_, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{MaskedPaths: []string{"proc/kcore"}}, false, ContainerOptions{})
	cfgTestWantErr(t, err, ErrInvalidConfig, "proc/kcore")
}

func TestContainerPrivileged(t *testing.T) {
	hostCaps := CapabilitiesFromMask(0x1fffeffffff, 40)
	hostDevices := func() ([]container.DeviceMapping, error) {
		return []container.DeviceMapping{
			{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda"},
			{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse"},
		}, nil
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		Privileged:     true,
		NoNewPrivs:     true,
		Capabilities:   &runtimeapi.Capability{DropCapabilities: []string{"ALL"}},
		Seccomp:        &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/x.json"},
		SelinuxOptions: &runtimeapi.SELinuxOption{Type: "spc_t"},
		MaskedPaths:    []string{"/proc/kcore"},
		ReadonlyPaths:  []string{"/proc/sys"},
	}

	t.Run("Docker's privileged mode", func(t *testing.T) {
		got, err := cfgTestSecurity(sc, true, ContainerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := got.HostConfig
		if !h.Privileged || h.CapAdd != nil || h.CapDrop != nil || h.MaskedPaths != nil || !reflect.DeepEqual(h.SecurityOpt, []string{"no-new-privileges"}) {
			t.Fatalf("HostConfig = %+v", h)
		}
	})

	t.Run("built from the host's capabilities", func(t *testing.T) {
		withDevice := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext = sc
			c.Devices = []*runtimeapi.Device{{HostPath: "/dev/fuse", ContainerPath: "/dev/fuse", Permissions: "r"}}
		})
		pod := cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.Linux.SecurityContext.Privileged = true })
		got, err := ContainerCreateConfig(withDevice, pod, ContainerOptions{SandboxID: "sbx", HostCapabilities: hostCaps, HostDevices: hostDevices})
		if err != nil {
			t.Fatal(err)
		}
		h := got.HostConfig
		wantDevices := []container.DeviceMapping{
			{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "r"},
			{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm"},
		}
		switch {
		case h.Privileged:
			t.Fatal("Privileged = true: Docker's privileged mode fails on this host")
		case !reflect.DeepEqual([]string(h.CapAdd), hostCaps) || h.CapDrop != nil:
			t.Fatalf("CapAdd, CapDrop = %v, %v; want the host's set", h.CapAdd, h.CapDrop)
		case !reflect.DeepEqual(h.Devices, wantDevices):
			t.Fatalf("Devices = %+v, want %+v", h.Devices, wantDevices)
		case !reflect.DeepEqual(h.DeviceCgroupRules, []string{"a *:* rwm"}):
			t.Fatalf("DeviceCgroupRules = %v", h.DeviceCgroupRules)
		case !reflect.DeepEqual(h.SecurityOpt, []string{"no-new-privileges", "seccomp=unconfined", "apparmor=unconfined", "label=disable"}):
			t.Fatalf("SecurityOpt = %v", h.SecurityOpt)
		case h.MaskedPaths == nil || len(h.MaskedPaths) != 0 || h.ReadonlyPaths == nil || len(h.ReadonlyPaths) != 0:
			t.Fatalf("MaskedPaths, ReadonlyPaths = %#v, %#v; want empty, non-nil", h.MaskedPaths, h.ReadonlyPaths)
		case len(got.Ignored) != 1:
			t.Fatalf("Ignored = %q, want the read-only /sys note", got.Ignored)
		}
	})

	t.Run("writable cgroupfs on API 1.48", func(t *testing.T) {
		got, err := cfgTestSecurity(sc, true, ContainerOptions{APIVersion: "1.48", HostCapabilities: hostCaps, HostDevices: hostDevices})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"no-new-privileges", "seccomp=unconfined", "apparmor=unconfined", "label=disable", "writable-cgroups=true"}
		if !reflect.DeepEqual(got.HostConfig.SecurityOpt, want) || !reflect.DeepEqual(got.Ignored, []string{
			"privileged: rebuilt from the host's capabilities (Docker's privileged mode cannot start here): /sys stays read-only",
		}) {
			t.Fatalf("SecurityOpt, Ignored = %q, %q", got.HostConfig.SecurityOpt, got.Ignored)
		}
	})

	t.Run("device listing fails", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := cfgTestSecurity(sc, true, ContainerOptions{HostCapabilities: hostCaps, HostDevices: func() ([]container.DeviceMapping, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("error = %v, want boom", err)
		}
	})

	t.Run("sandbox not privileged", func(t *testing.T) {
		_, err := cfgTestSecurity(sc, false, ContainerOptions{})
		cfgTestWantErr(t, err, ErrInvalidConfig, "sandbox that is not privileged")
	})
}

func TestSandboxSecurityContext(t *testing.T) {
	tests := []struct {
		name        string
		give        *runtimeapi.LinuxSandboxSecurityContext
		wantUser    string
		wantGroups  []string
		wantRO      bool
		wantOpt     []string
		wantIgnored []string
		wantErr     error
	}{
		{name: "user and group", give: &runtimeapi.LinuxSandboxSecurityContext{RunAsUser: cfgTestInt(65535), RunAsGroup: cfgTestInt(65535)}, wantUser: "65535:65535",
			wantOpt: []string{"seccomp=unconfined"}},
		{name: "supplemental groups and readonly rootfs", give: &runtimeapi.LinuxSandboxSecurityContext{SupplementalGroups: []int64{2000}, ReadonlyRootfs: true, Seccomp: cfgTestRuntimeDefault},
			wantGroups: []string{"2000"}, wantRO: true},
		{name: "privileged is an allowance, not applied", give: &runtimeapi.LinuxSandboxSecurityContext{Privileged: true, Seccomp: cfgTestRuntimeDefault}},
		{name: "apparmor and selinux", give: &runtimeapi.LinuxSandboxSecurityContext{Seccomp: cfgTestRuntimeDefault,
			Apparmor:       &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined},
			SelinuxOptions: &runtimeapi.SELinuxOption{Level: "s0:c1,c2"}}, wantOpt: []string{"apparmor=unconfined", "label=level:s0:c1,c2"}},
		{name: "deprecated seccomp", give: &runtimeapi.LinuxSandboxSecurityContext{SeccompProfilePath: "runtime/default"}},
		{name: "localhost seccomp keeps Docker's default", give: &runtimeapi.LinuxSandboxSecurityContext{
			Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/p.json"}},
			wantIgnored: []string{"seccomp: Localhost profile /p.json for the pause container: it keeps Docker's default profile (the app containers get the profile)"}},
		{name: "group without user", give: &runtimeapi.LinuxSandboxSecurityContext{RunAsGroup: cfgTestInt(1000)}, wantErr: ErrInvalidConfig},
		{name: "uid 2^32", give: &runtimeapi.LinuxSandboxSecurityContext{RunAsUser: cfgTestInt(4294967296)}, wantErr: ErrInvalidConfig},
		// The pause image has no accounts: Strict and Merge are the same to it.
		{name: "strict groups as Docker makes them", give: &runtimeapi.LinuxSandboxSecurityContext{RunAsUser: cfgTestInt(65535), SupplementalGroups: []int64{2000},
			SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict, Seccomp: cfgTestRuntimeDefault}, wantUser: "65535", wantGroups: []string{"2000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.NamespaceOptions = &runtimeapi.NamespaceOption{}
			got, err := SandboxCreateConfig(cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.Linux.SecurityContext = tt.give }), "", cfgTestSandboxOpts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := got.HostConfig
			if got.Config.User != tt.wantUser || !reflect.DeepEqual(h.GroupAdd, tt.wantGroups) || h.ReadonlyRootfs != tt.wantRO ||
				!reflect.DeepEqual(h.SecurityOpt, tt.wantOpt) || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) || h.Privileged {
				t.Fatalf("User %q, GroupAdd %v, ReadonlyRootfs %v, SecurityOpt %q, Ignored %q, Privileged %v", got.Config.User, h.GroupAdd, h.ReadonlyRootfs, h.SecurityOpt, got.Ignored, h.Privileged)
			}
		})
	}
}

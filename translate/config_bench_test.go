package translate

import (
	"fmt"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// BenchmarkContainerCreateConfig measures the translation of what a kubelet
// sends for a typical Deployment container: 20 env vars, the service
// account token, a ConfigMap, an emptyDir, /etc/hosts and the termination
// log, limits, a restricted security context, on API 1.44.
func BenchmarkContainerCreateConfig(b *testing.B) {
	const pod = "/var/lib/kubelet/pods/3f1c2a9e-6b5d-4c1e-9a7f-0e2d4b8c6a11"
	envs := make([]*runtimeapi.KeyValue, 20)
	for i := range envs {
		envs[i] = &runtimeapi.KeyValue{Key: fmt.Sprintf("SERVICE_%d_PORT", i), Value: []byte("tcp://10.96.0.1:443")}
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "web"},
		Image:    &runtimeapi.ImageSpec{Image: "sha256:" + hex64, UserSpecifiedImage: "registry.example/team/web:1.2.3"},
		Args:     []string{"--listen=:8080", "--log-level=info"},
		Envs:     envs,
		Mounts: []*runtimeapi.Mount{
			{ContainerPath: "/var/run/secrets/kubernetes.io/serviceaccount", HostPath: pod + "/volumes/kubernetes.io~projected/kube-api-access-x7k2p", Readonly: true},
			{ContainerPath: "/etc/web", HostPath: pod + "/volumes/kubernetes.io~configmap/config", Readonly: true},
			{ContainerPath: "/tmp", HostPath: pod + "/volumes/kubernetes.io~empty-dir/tmp"},
			{ContainerPath: "/etc/hosts", HostPath: pod + "/etc-hosts"},
			{ContainerPath: "/dev/termination-log", HostPath: pod + "/containers/web/5d1e0f3a"},
		},
		Labels:      map[string]string{"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": "web-7d9f8c6b5-x2x9z", "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": "3f1c2a9e"},
		Annotations: map[string]string{"io.kubernetes.container.hash": "a1b2c3d4", "io.kubernetes.container.restartCount": "0", "io.kubernetes.container.terminationMessagePath": "/dev/termination-log"},
		LogPath:     "web/0.log",
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{
				CpuPeriod: 100000, CpuQuota: 50000, CpuShares: 256, MemoryLimitInBytes: 256 << 20, OomScoreAdj: 968,
				HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB"}, {PageSize: "1GB"}},
			},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Capabilities:       &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"NET_BIND_SERVICE"}},
				NamespaceOptions:   &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
				RunAsUser:          &runtimeapi.Int64Value{Value: 1000},
				RunAsGroup:         &runtimeapi.Int64Value{Value: 3000},
				SupplementalGroups: []int64{2000},
				ReadonlyRootfs:     true,
				NoNewPrivs:         true,
				MaskedPaths:        []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"},
				ReadonlyPaths:      []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
				Seccomp:            &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
				Apparmor:           &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			},
		},
	}
	sandbox := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web-7d9f8c6b5-x2x9z", Namespace: "default", Uid: "3f1c2a9e"},
		LogDirectory: "/var/log/pods/default_web-7d9f8c6b5-x2x9z_3f1c2a9e",
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/burstable/pod3f1c2a9e",
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{},
				Seccomp:          &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			},
		},
	}
	opts := ContainerOptions{
		SandboxID:    "4e5c8b1f0a2d",
		Labels:       cfg.Labels,
		CgroupDriver: "cgroupfs",
		APIVersion:   "1.44",
		ImageUser:    "65532",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ContainerCreateConfig(cfg, sandbox, opts); err != nil {
			b.Fatal(err)
		}
	}
}

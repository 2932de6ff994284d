package migrate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func bind(src, dst string) container.MountPoint {
	return container.MountPoint{Type: "bind", Source: src, Destination: dst}
}

func TestCheckContainers(t *testing.T) {
	const obj = "pod default/web container app (0123456789ab)"
	tests := []struct {
		name string
		give fakeContainer
		want []Finding
	}{
		{
			name: "docker socket",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", []container.MountPoint{bind("/var/run/docker.sock", "/var/run/docker.sock")}, nil, false),
			want: []Finding{{Severity: Blocker, Object: obj, What: "mounts /var/run/docker.sock from the host at /var/run/docker.sock"}},
		},
		{
			name: "socket elsewhere",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", []container.MountPoint{bind("/srv/x/docker.sock", "/d.sock")}, nil, false),
			want: []Finding{{Severity: Blocker, Object: obj, What: "mounts /srv/x/docker.sock from the host at /d.sock"}},
		},
		{
			name: "run and docker data",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", []container.MountPoint{
				bind("/run/", "/host/run"), bind("/var/lib/docker/volumes", "/v"),
			}, nil, false),
			want: []Finding{
				{Severity: Blocker, Object: obj, What: "mounts /run from the host at /host/run"},
				{Severity: Blocker, Object: obj, What: "mounts /var/lib/docker/volumes from the host at /v"},
			},
		},
		{
			name: "harmless mounts",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", []container.MountPoint{
				bind("/run/secrets/x", "/s"), bind("/var/lib/kubelet/pods/u/volumes", "/v"),
				{Type: "volume", Source: "/var/lib/docker/volumes/v/_data", Destination: "/data"},
			}, nil, false),
		},
		{
			name: "DOCKER_HOST without its value",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", nil, []string{"PATH=/bin", "DOCKER_HOST=tcp://secret-host:2376"}, false),
			want: []Finding{{Severity: Blocker, Object: obj, What: "sets DOCKER_HOST"}},
		},
		{
			name: "DOCKER_HOSTNAME is another variable",
			give: kubeContainer("0123456789abcdef", "app", "sha256:a", nil, []string{"DOCKER_HOSTNAME=x"}, false),
		},
		{
			name: "privileged with docker CLI",
			give: withFiles(kubeContainer("0123456789abcdef", "app", "sha256:a", nil, nil, true), "/usr/local/bin/docker"),
			want: []Finding{{Severity: Warning, Object: obj, What: "runs privileged with a Docker CLI inside (/usr/local/bin/docker)"}},
		},
		{
			name: "privileged without docker CLI",
			give: withFiles(kubeContainer("0123456789abcdef", "app", "sha256:a", nil, nil, true), "/bin/sh"),
		},
		{
			name: "docker CLI, not privileged",
			give: withFiles(kubeContainer("0123456789abcdef", "app", "sha256:a", nil, nil, false), "/usr/bin/docker"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDocker{containers: []fakeContainer{tt.give}}
			got, err := CheckContainers(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if strings.Contains(got[i].What+got[i].CarryOver, "secret-host") {
					t.Errorf("finding prints an environment value: %+v", got[i])
				}
				got[i].CarryOver = "" // advice wording is not under test here
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func withFiles(c fakeContainer, files ...string) fakeContainer {
	c.files = files
	return c
}

func TestCheckContainersSkipsStopped(t *testing.T) {
	c := kubeContainer("0123456789abcdef", "app", "sha256:a", []container.MountPoint{bind("/var/run/docker.sock", "/s")}, nil, false)
	c.running = false
	got, err := CheckContainers(context.Background(), &fakeDocker{containers: []fakeContainer{c}})
	if err != nil || len(got) != 0 {
		t.Errorf("got %+v, %v; want no finding for a stopped container", got, err)
	}
}

func TestCheckContainersStatError(t *testing.T) {
	boom := errors.New("connection reset")
	d := &fakeDocker{
		containers: []fakeContainer{kubeContainer("0123456789abcdef", "app", "sha256:a", nil, nil, true)},
		statErr:    boom,
	}
	if _, err := CheckContainers(context.Background(), d); !errors.Is(err, boom) {
		t.Errorf("got %v, want it to wrap %v", err, boom)
	}
}

func TestContainerObject(t *testing.T) {
	tests := []struct {
		name   string
		give   map[string]string
		giveID string
		want   string
	}{
		{name: "app container", give: podLabels("kube-system", "dns", "coredns"), giveID: "abcdef0123456789",
			want: "pod kube-system/dns container coredns (abcdef012345)"},
		{name: "sandbox", give: map[string]string{labelPodNamespace: "a", labelPodName: "b", labelDockerType: "podsandbox"},
			giveID: "abc", want: "pod a/b sandbox (abc)"},
		{name: "plain container", giveID: "abc", want: "container plain (abc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerObject(tt.giveID, "/plain", tt.give); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

package translate

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func sandboxSummary(t testing.TB, i int, state container.ContainerState) container.Summary {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:    &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%d", i), Namespace: "default", Uid: fmt.Sprintf("uid-%d", i), Attempt: 1},
		Labels:      map[string]string{"app": "web", "io.kubernetes.pod.name": fmt.Sprintf("pod-%d", i)},
		Annotations: map[string]string{"kubernetes.io/config.seen": "2026-11-22T10:00:00Z", "kubernetes.io/config.source": "api"},
	}
	name, err := SandboxName(cfg.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := SandboxLabels(cfg)
	if err != nil {
		t.Fatal(err)
	}
	labels["maintainer"] = "from the pause image"
	return container.Summary{ID: fmt.Sprintf("%064x", i), Names: []string{"/" + name}, Image: "pause:3.10", Created: 1795341600, State: state, Labels: labels}
}

func containerSummary(t testing.TB, i, j int, sandboxID string, state container.ContainerState) container.Summary {
	sb := &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%d", i), Namespace: "default", Uid: fmt.Sprintf("uid-%d", i)}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%d", j), Attempt: 0},
		Labels:      map[string]string{"io.kubernetes.container.name": fmt.Sprintf("c%d", j), "io.kubernetes.pod.name": sb.Name},
		Annotations: map[string]string{"io.kubernetes.container.hash": "abcdef", "io.kubernetes.container.restartCount": "0"},
	}
	name, err := ContainerName(sb, cfg.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ContainerLabels(cfg, sandboxID, fmt.Sprintf("/var/log/pods/default_pod-%d/c%d/0.log", i, j))
	if err != nil {
		t.Fatal(err)
	}
	return container.Summary{ID: fmt.Sprintf("%064x", 1000*i+j+1), Names: []string{"/" + name}, Image: "busybox:1.36", ImageID: "sha256:b", Created: 1795341601, State: state, Labels: labels}
}

func TestSandboxFromSummary(t *testing.T) {
	s := sandboxSummary(t, 1, "running")
	sb, err := SandboxFromSummary(s)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Id != s.ID || sb.Metadata.GetName() != "pod-1" || sb.Metadata.GetAttempt() != 1 || sb.State != runtimeapi.PodSandboxState_SANDBOX_READY || sb.CreatedAt != 1795341600e9 {
		t.Fatalf("sandbox = %v", sb)
	}
	if _, ok := sb.Labels["maintainer"]; ok || sb.Labels["app"] != "web" || sb.Annotations["kubernetes.io/config.source"] != "api" {
		t.Fatalf("labels %v annotations %v", sb.Labels, sb.Annotations)
	}
	notOurs := []container.Summary{
		{ID: "x", Names: []string{"/nginx"}, Labels: map[string]string{}},
		containerSummary(t, 1, 1, s.ID, "running"),
		{ID: "y", Names: []string{"/nginx"}, Labels: map[string]string{LabelContainerType: ContainerTypeSandbox}},
		{ID: "z", Labels: map[string]string{LabelContainerType: ContainerTypeSandbox}},
	}
	for _, c := range notOurs {
		if _, err := SandboxFromSummary(c); err == nil {
			t.Errorf("container %s %v read as a sandbox", c.ID, c.Names)
		}
	}
}

func TestContainerFromSummary(t *testing.T) {
	s := containerSummary(t, 1, 2, "sb1", "exited")
	c, err := ContainerFromSummary(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Id != s.ID || c.PodSandboxId != "sb1" || c.Metadata.GetName() != "c2" || c.State != runtimeapi.ContainerState_CONTAINER_EXITED ||
		c.Image.GetImage() != "busybox:1.36" || c.ImageRef != "sha256:b" || c.CreatedAt != 1795341601e9 {
		t.Fatalf("container = %v", c)
	}
	if !maps.Equal(c.Annotations, map[string]string{"io.kubernetes.container.hash": "abcdef", "io.kubernetes.container.restartCount": "0"}) {
		t.Fatalf("annotations = %v", c.Annotations)
	}
	if _, err := ContainerFromSummary(sandboxSummary(t, 1, "running")); err == nil {
		t.Error("a sandbox was read as an app container")
	}
}

// TestContainerFromSummaryImageID: the kubelet (1.36+) reads image_id and
// matches it against PullImageResponse.image_ref and Image.id, which are
// Docker's image ID: the list entry's ImageID, whatever the image store.
func TestContainerFromSummaryImageID(t *testing.T) {
	tests := []struct {
		name      string
		image     string
		imageID   string
		wantImage string
		wantID    string
	}{
		{name: "classic store", image: "busybox:1.36", imageID: "sha256:" + strings.Repeat("b", 64),
			wantImage: "busybox:1.36", wantID: "sha256:" + strings.Repeat("b", 64)},
		{name: "created by image ID", image: "sha256:" + strings.Repeat("c", 64), imageID: "sha256:" + strings.Repeat("c", 64),
			wantImage: "sha256:" + strings.Repeat("c", 64), wantID: "sha256:" + strings.Repeat("c", 64)},
		{name: "containerd store: the manifest digest", image: "127.0.0.1:5000/busybox:1.36", imageID: "sha256:" + strings.Repeat("d", 64),
			wantImage: "127.0.0.1:5000/busybox:1.36", wantID: "sha256:" + strings.Repeat("d", 64)},
		{name: "image removed under the container", image: "busybox:1.36", imageID: "", wantImage: "busybox:1.36", wantID: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := containerSummary(t, 1, 1, "sb1", "running")
			s.Image, s.ImageID = tt.image, tt.imageID
			c, err := ContainerFromSummary(s)
			if err != nil {
				t.Fatal(err)
			}
			if c.GetImage().GetImage() != tt.wantImage || c.GetImageId() != tt.wantID || c.GetImageRef() != tt.wantID {
				t.Fatalf("image %q, image_id %q, image_ref %q; want %q, %q, %q",
					c.GetImage().GetImage(), c.GetImageId(), c.GetImageRef(), tt.wantImage, tt.wantID, tt.wantID)
			}
		})
	}
}

func TestMatchSandbox(t *testing.T) {
	sb := &runtimeapi.PodSandbox{Id: "abcdef", State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: map[string]string{"app": "web", "tier": "1"}}
	tests := []struct {
		name string
		give *runtimeapi.PodSandboxFilter
		want bool
	}{
		{name: "nil", give: nil, want: true},
		{name: "empty", give: &runtimeapi.PodSandboxFilter{}, want: true},
		{name: "id", give: &runtimeapi.PodSandboxFilter{Id: "abcdef"}, want: true},
		{name: "id prefix", give: &runtimeapi.PodSandboxFilter{Id: "abc"}, want: true},
		{name: "other id", give: &runtimeapi.PodSandboxFilter{Id: "abd"}, want: false},
		{name: "state", give: &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}, want: true},
		{name: "other state", give: &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}}, want: false},
		{name: "labels", give: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "web", "tier": "1"}}, want: true},
		{name: "label value", give: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "db"}}, want: false},
		{name: "absent label with empty value", give: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"zone": ""}}, want: false},
	}
	for _, tt := range tests {
		if got := MatchSandbox(tt.give, sb); got != tt.want {
			t.Errorf("%s: MatchSandbox = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMatchContainer(t *testing.T) {
	c := &runtimeapi.Container{Id: "c0ffee", PodSandboxId: "abcdef", State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: map[string]string{"app": "web"}}
	tests := []struct {
		name string
		give *runtimeapi.ContainerFilter
		want bool
	}{
		{name: "nil", give: nil, want: true},
		{name: "id prefix", give: &runtimeapi.ContainerFilter{Id: "c0f"}, want: true},
		{name: "other id", give: &runtimeapi.ContainerFilter{Id: "d"}, want: false},
		{name: "sandbox", give: &runtimeapi.ContainerFilter{PodSandboxId: "abcdef"}, want: true},
		{name: "sandbox prefix", give: &runtimeapi.ContainerFilter{PodSandboxId: "ab"}, want: true},
		{name: "other sandbox", give: &runtimeapi.ContainerFilter{PodSandboxId: "ff"}, want: false},
		{name: "state", give: &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}, want: true},
		{name: "other state", give: &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_EXITED}}, want: false},
		{name: "labels", give: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"app": "web"}}, want: true},
		{name: "other labels", give: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"app": "db"}}, want: false},
	}
	for _, tt := range tests {
		if got := MatchContainer(tt.give, c); got != tt.want {
			t.Errorf("%s: MatchContainer = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// BenchmarkListHotPath is what one kubelet relist costs in translation on a
// full node: 110 pods with two containers each, every second.
func BenchmarkListHotPath(b *testing.B) {
	var sandboxes, containers []container.Summary
	for i := 0; i < 110; i++ {
		s := sandboxSummary(b, i, "running")
		sandboxes = append(sandboxes, s)
		containers = append(containers, containerSummary(b, i, 1, s.ID, "running"), containerSummary(b, i, 2, s.ID, "exited"))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range sandboxes {
			sb, err := SandboxFromSummary(s)
			if err != nil || !MatchSandbox(nil, sb) {
				b.Fatal(err)
			}
		}
		for _, s := range containers {
			c, err := ContainerFromSummary(s)
			if err != nil || !MatchContainer(nil, c) {
				b.Fatal(err)
			}
		}
	}
}

package translate

import (
	"maps"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// oddLabels and oddAnnotations hold keys and values dockershim could not
// keep apart or lost: internal keys, the annotation prefix, our own prefix,
// empty values, unicode, separators.
var (
	oddLabels = map[string]string{
		"app":                             "web",
		"io.kubernetes.pod.name":          "web",
		"io.kubernetes.docker.type":       "podsandbox",
		"io.kubernetes.sandbox.id":        "deadbeef",
		"io.kubernetes.container.logpath": "/etc/shadow",
		"annotation.not-an-annotation":    "label",
		"io.dockercri.keys":               `["x"]`,
		"io.dockercri.label.nested":       "twice",
		"empty":                           "",
		"spaces and = signs":              "a = b, c",
		"ünïcödé/κλειδί":                  "värde ✓",
		"example.com/with-slash_and.dots": "v\nnewline",
	}
	oddAnnotations = map[string]string{
		"kubernetes.io/config.seen": "2026-11-22T10:00:00Z",
		"annotation.double":         "prefix twice",
		"io.kubernetes.docker.type": "container",
		"io.dockercri.keys":         "[]",
		"":                          "",
		"json":                      `{"a":[1,2,{"b":"c"}]}`,
	}
)

func TestLabelsRoundTrip(t *testing.T) {
	annotations := maps.Clone(oddAnnotations)
	delete(annotations, "") // an empty key is refused, tested below
	sbLabels, err := SandboxLabels(&runtimeapi.PodSandboxConfig{Labels: oddLabels, Annotations: annotations})
	if err != nil {
		t.Fatal(err)
	}
	got := ParseLabels(sbLabels)
	if got.Type != ContainerTypeSandbox || got.SandboxID != "" || got.LogPath != "" || got.Legacy {
		t.Fatalf("sandbox internals = %+v", got)
	}
	if !maps.Equal(got.Labels, oddLabels) || !maps.Equal(got.Annotations, annotations) {
		t.Fatalf("sandbox round trip:\nlabels %v\nwant   %v\nannotations %v\nwant        %v", got.Labels, oddLabels, got.Annotations, annotations)
	}

	ctrLabels, err := ContainerLabels(&runtimeapi.ContainerConfig{Labels: oddLabels, Annotations: annotations}, "sb1", "/var/log/pods/x/app/0.log")
	if err != nil {
		t.Fatal(err)
	}
	got = ParseLabels(ctrLabels)
	if got.Type != ContainerTypeContainer || got.SandboxID != "sb1" || got.LogPath != "/var/log/pods/x/app/0.log" {
		t.Fatalf("container internals = %+v", got)
	}
	if !maps.Equal(got.Labels, oddLabels) || !maps.Equal(got.Annotations, annotations) {
		t.Fatalf("container round trip:\nlabels %v\nwant   %v\nannotations %v\nwant        %v", got.Labels, oddLabels, got.Annotations, annotations)
	}
}

func TestLabelsEmptyKey(t *testing.T) {
	if _, err := SandboxLabels(&runtimeapi.PodSandboxConfig{Labels: map[string]string{"": "x"}}); err == nil {
		t.Error("an empty label key was accepted")
	}
	if _, err := ContainerLabels(&runtimeapi.ContainerConfig{Annotations: map[string]string{"": "x"}}, "sb", ""); err == nil {
		t.Error("an empty annotation key was accepted")
	}
	if _, err := ContainerLabels(&runtimeapi.ContainerConfig{}, "", ""); err == nil {
		t.Error("container labels without a sandbox id were accepted")
	}
}

// Docker merges image LABELs into the container's labels; none of them may
// change what the shim reads.
func TestImageLabelsIgnored(t *testing.T) {
	ours, err := ContainerLabels(&runtimeapi.ContainerConfig{Labels: map[string]string{"app": "web"}}, "sb1", "")
	if err != nil {
		t.Fatal(err)
	}
	merged := map[string]string{
		"io.kubernetes.container.logpath": "/etc/shadow",
		"io.kubernetes.sandbox.id":        "other",
		"annotation.injected":             "x",
		"maintainer":                      "someone",
		"io.dockercri.label.app":          "overridden?",
	}
	maps.Copy(merged, ours) // the container's own labels win, as in Docker
	got := ParseLabels(merged)
	want := DockerLabels{Type: ContainerTypeContainer, SandboxID: "sb1", Labels: map[string]string{"app": "web"}, Annotations: map[string]string{}}
	if got.Type != want.Type || got.SandboxID != want.SandboxID || got.LogPath != "" || got.Legacy ||
		!maps.Equal(got.Labels, want.Labels) || !maps.Equal(got.Annotations, want.Annotations) {
		t.Fatalf("ParseLabels = %+v, want %+v", got, want)
	}
}

// Containers made by dockershim or cri-dockerd have no manifest and are
// read as dockershim read them.
func TestParseLabelsLegacy(t *testing.T) {
	give := map[string]string{
		"io.kubernetes.docker.type":               "container",
		"io.kubernetes.sandbox.id":                "sb1",
		"io.kubernetes.container.logpath":         "/var/log/pods/ns_web_uid/app/0.log",
		"io.kubernetes.container.name":            "app",
		"annotation.io.kubernetes.container.hash": "abc",
	}
	got := ParseLabels(give)
	if !got.Legacy || got.Type != ContainerTypeContainer || got.SandboxID != "sb1" || got.LogPath != give["io.kubernetes.container.logpath"] {
		t.Fatalf("internals = %+v", got)
	}
	if !maps.Equal(got.Labels, map[string]string{"io.kubernetes.container.name": "app"}) ||
		!maps.Equal(got.Annotations, map[string]string{"io.kubernetes.container.hash": "abc"}) {
		t.Fatalf("labels %v annotations %v", got.Labels, got.Annotations)
	}
}

func TestParseLabelsCorruptManifest(t *testing.T) {
	got := ParseLabels(map[string]string{LabelContainerType: ContainerTypeContainer, LabelManifest: "{not json"})
	if got.Type != "" {
		t.Fatalf("a corrupt manifest was trusted: %+v", got)
	}
}

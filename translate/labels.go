package translate

import (
	"encoding/json"
	"sort"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DockerLabels is what a container's Docker labels say under the scheme in
// naming.go.
type DockerLabels struct {
	Type        string // ContainerTypeSandbox, ContainerTypeContainer or ""
	SandboxID   string // app containers
	LogPath     string // app containers with a CRI log file
	Labels      map[string]string
	Annotations map[string]string
	// Legacy is true for a container without a manifest: made by dockershim
	// or cri-dockerd, its labels read as they would have read them.
	Legacy bool
}

// SandboxLabels are the Docker labels of a pod's pause container.
func SandboxLabels(cfg *runtimeapi.PodSandboxConfig) (map[string]string, error) {
	return encodeLabels(cfg.GetLabels(), cfg.GetAnnotations(), map[string]string{
		LabelContainerType: ContainerTypeSandbox,
	})
}

// ContainerLabels are the Docker labels of an app container of the pod
// whose pause container is sandboxID; logPath is the absolute CRI log path
// or "".
func ContainerLabels(cfg *runtimeapi.ContainerConfig, sandboxID, logPath string) (map[string]string, error) {
	if sandboxID == "" {
		return nil, cfgInvalid("container labels without a sandbox id")
	}
	internal := map[string]string{LabelContainerType: ContainerTypeContainer, LabelSandboxID: sandboxID}
	if logPath != "" {
		internal[LabelLogPath] = logPath
	}
	return encodeLabels(cfg.GetLabels(), cfg.GetAnnotations(), internal)
}

func isInternalKey(k string) bool {
	return k == LabelContainerType || k == LabelSandboxID || k == LabelLogPath
}

// needsEscape says whether a CRI label key would be misread if stored as it
// is.
func needsEscape(k string) bool {
	return isInternalKey(k) || strings.HasPrefix(k, annotationPrefix) || strings.HasPrefix(k, ownPrefix)
}

func encodeLabels(labels, annotations, internal map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(labels)+len(annotations)+len(internal)+1)
	for k, v := range internal {
		out[k] = v
	}
	for k, v := range labels {
		if k == "" {
			return nil, cfgInvalid("label with an empty key")
		}
		if needsEscape(k) {
			k = escapedLabelPrefix + k
		}
		out[k] = v
	}
	for k, v := range annotations {
		if k == "" {
			return nil, cfgInvalid("annotation with an empty key")
		}
		out[annotationPrefix+k] = v
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	manifest, err := json.Marshal(keys)
	if err != nil {
		return nil, cfgInvalid("labels: %v", err)
	}
	out[LabelManifest] = string(manifest)
	return out, nil
}

// ParseLabels reads a container's Docker labels back. It never fails: a
// container whose labels make no sense is reported with an empty Type, and
// callers treat it as not theirs.
func ParseLabels(docker map[string]string) DockerLabels {
	l := DockerLabels{Labels: map[string]string{}, Annotations: map[string]string{}}
	read := func(k, v string) {
		switch {
		case k == LabelContainerType:
			l.Type = v
		case k == LabelSandboxID:
			l.SandboxID = v
		case k == LabelLogPath:
			l.LogPath = v
		case strings.HasPrefix(k, escapedLabelPrefix):
			l.Labels[k[len(escapedLabelPrefix):]] = v
		case strings.HasPrefix(k, annotationPrefix):
			l.Annotations[k[len(annotationPrefix):]] = v
		case strings.HasPrefix(k, ownPrefix):
		default:
			l.Labels[k] = v
		}
	}
	manifest, ok := docker[LabelManifest]
	if !ok {
		l.Legacy = true
		for k, v := range docker {
			read(k, v)
		}
		return l
	}
	var keys []string
	if err := json.Unmarshal([]byte(manifest), &keys); err != nil {
		return DockerLabels{}
	}
	for _, k := range keys {
		if v, ok := docker[k]; ok && k != LabelManifest {
			read(k, v)
		}
	}
	return l
}

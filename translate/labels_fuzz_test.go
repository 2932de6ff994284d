package translate

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// FuzzLabels checks the label scheme of naming.go. For any CRI labels and
// annotations (two labels, one annotation) the encoding of a pause container
// and of an app container: reads back exactly what went in (nothing lost,
// renamed or added); carries the internal labels the shim set and no
// internal label made from a user's; lists in its manifest exactly its own
// keys; and reads the same after Docker merges an image LABEL into it
// (container labels win, as in Docker), whatever that LABEL's key.
// ParseLabels of a hostile label set (the same keys, a forged manifest,
// no manifest) never panics and never reads an internal value from a key
// that is not the internal key.
func FuzzLabels(f *testing.F) {
	f.Add("app", "web", "io.kubernetes.pod.name", "web", "kubernetes.io/config.seen", "now", LabelLogPath, "/etc/shadow", "sb1", "/var/log/pods/x/0.log", `["app"]`)
	f.Add(LabelContainerType, ContainerTypeContainer, LabelSandboxID, "victim", LabelContainerType, "x", "annotation.x", "y", "sb", "", "")
	f.Add("annotation.not-an-annotation", "v", "io.dockercri.label.nested", "twice", "annotation.double", "", LabelManifest, `["`+LabelLogPath+`"]`, "sb", "/l", "not json")
	f.Add(LabelManifest, "[]", "io.dockercri.keys.x", "", "io.dockercri.label.", "", "io.dockercri.label.app", "img", "s", "", `[""]`)
	f.Add("ünïcödé/κλειδί", "värde ✓", "spaces and = signs", "a\nb", "json", `{"a":[1]}`, "maintainer", "image", "s", "/x", "null")
	f.Add("", "empty key", "k", "v", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, ak, av, imageKey, imageVal, sandboxID, logPath, manifest string) {
		if !fuzzValidUTF8(k1, v1, k2, v2, ak, av, imageKey, imageVal, sandboxID, logPath) {
			return // see fuzzValidUTF8: labels are proto3 map<string, string>
		}
		labels := map[string]string{k1: v1, k2: v2}
		annotations := map[string]string{ak: av}
		internal := map[string]string{LabelContainerType: ContainerTypeSandbox}
		enc, err := encodeLabels(labels, annotations, internal)
		fuzzCheckEncoded(t, enc, err, labels, annotations, internal, imageKey, imageVal)
		if sandboxID != "" {
			internal = map[string]string{LabelContainerType: ContainerTypeContainer, LabelSandboxID: sandboxID}
			if logPath != "" {
				internal[LabelLogPath] = logPath
			}
			enc, err = encodeLabels(labels, annotations, internal)
			fuzzCheckEncoded(t, enc, err, labels, annotations, internal, imageKey, imageVal)
		}
		fuzzCheckHostileLabels(t, map[string]string{k1: v1, k2: v2, annotationPrefix + ak: av, imageKey: imageVal}, manifest)
	})
}

func fuzzCheckEncoded(t *testing.T, enc map[string]string, err error, labels, annotations, internal map[string]string, imageKey, imageVal string) {
	t.Helper()
	if err != nil {
		fuzzClassified(t, "encodeLabels", err)
		if !hasKey(labels, "") && !hasKey(annotations, "") {
			t.Fatalf("labels %v annotations %v refused: %v", labels, annotations, err)
		}
		return
	}
	for _, k := range []string{LabelContainerType, LabelSandboxID, LabelLogPath} {
		if v, ok := enc[k]; ok != hasKey(internal, k) || v != internal[k] {
			t.Fatalf("internal label %s = %q (set: %v), the shim set %q", k, v, ok, internal[k])
		}
	}
	var keys []string
	if err := json.Unmarshal([]byte(enc[LabelManifest]), &keys); err != nil {
		t.Fatalf("manifest %q: %v", enc[LabelManifest], err)
	}
	own := slices.Sorted(maps.Keys(enc))
	own = slices.DeleteFunc(own, func(k string) bool { return k == LabelManifest })
	if !slices.Equal(keys, own) {
		t.Fatalf("manifest %q, labels set %q", keys, own)
	}
	got := ParseLabels(enc)
	want := DockerLabels{Type: internal[LabelContainerType], SandboxID: internal[LabelSandboxID], LogPath: internal[LabelLogPath]}
	if got.Type != want.Type || got.SandboxID != want.SandboxID || got.LogPath != want.LogPath || got.Legacy ||
		!fuzzMapEqual(got.Labels, labels) || !fuzzMapEqual(got.Annotations, annotations) {
		t.Fatalf("labels %v annotations %v internal %v: encoded %v, read back %+v", labels, annotations, internal, enc, got)
	}
	// Docker merges the image's LABELs under the container's own.
	merged := map[string]string{imageKey: imageVal}
	maps.Copy(merged, enc)
	again := ParseLabels(merged)
	if again.Type != got.Type || again.SandboxID != got.SandboxID || again.LogPath != got.LogPath ||
		!maps.Equal(again.Labels, got.Labels) || !maps.Equal(again.Annotations, got.Annotations) {
		t.Fatalf("image LABEL %q=%q changed what is read: %+v, was %+v", imageKey, imageVal, again, got)
	}
}

// fuzzCheckHostileLabels: without a manifest (legacy) every key is read as
// dockershim did; with one, only the keys it lists. Either way an internal
// field only ever comes from its own key.
func fuzzCheckHostileLabels(t *testing.T, docker map[string]string, manifest string) {
	t.Helper()
	for _, withManifest := range []bool{false, true} {
		in := maps.Clone(docker)
		if withManifest {
			in[LabelManifest] = manifest
		}
		got := ParseLabels(in)
		if got.Type != "" && got.Type != in[LabelContainerType] || got.SandboxID != "" && got.SandboxID != in[LabelSandboxID] ||
			got.LogPath != "" && got.LogPath != in[LabelLogPath] {
			t.Fatalf("ParseLabels(%v) = %+v: an internal field from another key", in, got)
		}
		var listed []string
		if withManifest && json.Unmarshal([]byte(manifest), &listed) == nil {
			for k := range got.Labels {
				if !slices.Contains(listed, k) && !slices.Contains(listed, escapedLabelPrefix+k) {
					t.Fatalf("manifest %q: label %q was read though not listed", manifest, k)
				}
			}
			for k := range got.Annotations {
				if !slices.Contains(listed, annotationPrefix+k) {
					t.Fatalf("manifest %q: annotation %q was read though not listed", manifest, k)
				}
			}
		}
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

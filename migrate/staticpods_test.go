package migrate

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestManifestImages(t *testing.T) {
	tests := []struct {
		name string
		give string
		want []string
	}{
		{
			name: "yaml",
			give: "apiVersion: v1\nkind: Pod\nspec:\n  initContainers:\n  - name: init\n    image: \"busybox:1.36\"\n" +
				"  containers:\n  - image: registry.k8s.io/etcd:3.5.9-0 # pinned\n    name: etcd\n    imagePullPolicy: IfNotPresent\n",
			want: []string{"busybox:1.36", "registry.k8s.io/etcd:3.5.9-0"},
		},
		{
			name: "json",
			give: `{"kind":"Pod","spec":{"containers":[{"name":"a","image":"nginx:1.25"},{"name":"b","image":"local/app:v1"}]}}`,
			want: []string{"local/app:v1", "nginx:1.25"},
		},
		{name: "no image", give: "kind: Pod\nspec:\n  containers: []\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ManifestImages([]byte(tt.give)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStaticPodImages(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"etcd.yaml":        "spec:\n  containers:\n  - image: etcd:3.5\n",
		"api.json":         `{"spec":{"containers":[{"image":"apiserver:1.30"}]}}`,
		".etcd.yaml.swp":   "image: ignored:1\n",                          // the kubelet skips dotfiles too
		"scheduler.yaml":   "spec:\n  containers:\n  - image: etcd:3.5\n", // duplicates count once
		"controller.other": "spec:\n  containers:\n  - image: cm:1.30\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := StaticPodImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apiserver:1.30", "cm:1.30", "etcd:3.5"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, err := StaticPodImages(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("missing directory: got %q, %v; want nothing, no error", got, err)
	}
}

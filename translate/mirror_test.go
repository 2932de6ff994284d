package translate

import (
	"errors"
	"testing"
)

func TestParseMirror(t *testing.T) {
	tests := []struct {
		give    string
		want    Mirror
		wantErr bool
	}{
		{give: "registry.k8s.io=http://127.0.0.1:5000", want: Mirror{Registry: "registry.k8s.io", Host: "127.0.0.1:5000"}},
		{give: "gcr.io=http://127.0.0.1:5000/gcr/", want: Mirror{Registry: "gcr.io", Host: "127.0.0.1:5000", Prefix: "gcr"}},
		{give: "docker.io=mirror.example.com", want: Mirror{Registry: "docker.io", Host: "mirror.example.com"}},
		{give: "Registry.K8s.io=https://m:443/a/b", want: Mirror{Registry: "registry.k8s.io", Host: "m:443", Prefix: "a/b"}},
		{give: "registry.k8s.io", wantErr: true},
		{give: "=http://m", wantErr: true},
		{give: "registry.k8s.io=ftp://m", wantErr: true},
		{give: "registry.k8s.io=http://", wantErr: true},
		{give: "registry.k8s.io=http://m/UPPER", wantErr: true},
		{give: "bad registry=http://m", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseMirror(tt.give)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("ParseMirror(%q) err = %v, want ErrInvalidConfig", tt.give, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMirror(%q) = %+v, %v; want %+v", tt.give, got, err, tt.want)
		}
	}
}

func TestMirrorRoundTrip(t *testing.T) {
	ms := Mirrors{
		{Registry: "registry.k8s.io", Host: "127.0.0.1:5000", Prefix: "k8s"},
		{Registry: "gcr.io", Host: "127.0.0.1:5000", Prefix: "gcr"},
		{Registry: "docker.io", Host: "127.0.0.1:5001"},
	}
	tests := []struct {
		give, want string
	}{
		{"registry.k8s.io/pause:3.10", "127.0.0.1:5000/k8s/pause:3.10"},
		{"registry.k8s.io/e2e-test-images/busybox:1.29-2", "127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2"},
		{"gcr.io/k8s-staging-cri-tools/test-image-1:latest", "127.0.0.1:5000/gcr/k8s-staging-cri-tools/test-image-1:latest"},
		{"docker.io/library/busybox:latest", "127.0.0.1:5001/library/busybox:latest"},
		{"registry.k8s.io/pause@sha256:" + sixtyFour, "127.0.0.1:5000/k8s/pause@sha256:" + sixtyFour},
	}
	for _, tt := range tests {
		got, ok := ms.Rewrite(tt.give)
		if !ok || got != tt.want {
			t.Errorf("Rewrite(%q) = %q, %v; want %q", tt.give, got, ok, tt.want)
		}
		if back := ms.Unmirror(got); back != tt.give {
			t.Errorf("Unmirror(%q) = %q, want %q", got, back, tt.give)
		}
	}
	if _, ok := ms.Rewrite("quay.io/x/y:1"); ok {
		t.Error("a registry without a mirror was rewritten")
	}
	if got := ms.Unmirror("quay.io/x/y:1"); got != "quay.io/x/y:1" {
		t.Errorf("Unmirror changed a foreign name: %q", got)
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

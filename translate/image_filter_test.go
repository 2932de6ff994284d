package translate

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestImageFilter(t *testing.T) {
	img := &runtimeapi.Image{
		Id:          "sha256:" + hex64,
		RepoTags:    []string{"docker.io/library/busybox:1.36", "127.0.0.1:5000/busybox:1.36"},
		RepoDigests: []string{"127.0.0.1:5000/busybox@sha256:" + hex64},
	}
	tests := []struct {
		give string
		want bool
	}{
		{give: "", want: true},
		{give: "busybox:1.36", want: true},
		{give: "docker.io/library/busybox:1.36", want: true},
		{give: "busybox", want: true},
		{give: "127.0.0.1:5000/busybox", want: true},
		{give: "127.0.0.1:5000/busybox@sha256:" + hex64, want: true},
		{give: "sha256:" + hex64, want: true},
		{give: hex64[:12], want: true},
		{give: "busybox:latest", want: false},
		{give: "nginx", want: false},
		{give: "busy", want: false},
		{give: "abc", want: false},
		{give: "ffff", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			f := NewImageFilter(&runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: tt.give}})
			if got := f.Match(img); got != tt.want {
				t.Fatalf("filter %q Match = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
	if !NewImageFilter(nil).Match(img) {
		t.Fatal("a nil filter must match everything")
	}
}

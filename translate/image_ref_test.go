package translate

import (
	"errors"
	"testing"
)

func TestPullReference(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		wantErr bool
	}{
		{give: "busybox", want: "docker.io/library/busybox:latest"},
		{give: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{give: "library/busybox", want: "docker.io/library/busybox:latest"},
		{give: "docker.io/library/busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{give: "127.0.0.1:5000/pause:3.10", want: "127.0.0.1:5000/pause:3.10"},
		{give: "registry.k8s.io/e2e-test-images/busybox:1.29-2", want: "registry.k8s.io/e2e-test-images/busybox:1.29-2"},
		{
			give: "busybox@sha256:" + hex64,
			want: "docker.io/library/busybox@sha256:" + hex64,
		},
		{
			give: "busybox:1.36@sha256:" + hex64,
			want: "docker.io/library/busybox:1.36@sha256:" + hex64,
		},
		{give: "", wantErr: true},
		{give: "Busybox", wantErr: true},
		{give: "busybox:", wantErr: true},
		{give: "busy box", wantErr: true},
		{give: "sha256:" + hex64, wantErr: true},
		{give: hex64, wantErr: true},
		{give: "busybox@sha256:abc", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := PullReference(tt.give)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("PullReference(%q) error = %v, want ErrInvalidReference", tt.give, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PullReference(%q) = %q, %v; want %q", tt.give, got, err, tt.want)
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLocalReference(t *testing.T) {
	tests := []struct {
		give    string
		wantErr bool
	}{
		{give: "busybox"},
		{give: "sha256:" + hex64},
		{give: hex64},
		{give: "0123456789ab"},
		{give: "127.0.0.1:5000/busybox:1.36"},
		{give: "", wantErr: true},
		{give: "repo/UPPER", wantErr: true},
		{give: "a b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := LocalReference(tt.give)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("LocalReference(%q) error = %v, want ErrInvalidReference", tt.give, err)
				}
				return
			}
			if err != nil || got != tt.give {
				t.Fatalf("LocalReference(%q) = %q, %v; want it unchanged", tt.give, got, err)
			}
		})
	}
}

func TestNormalizeRepoTag(t *testing.T) {
	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{give: "busybox:latest", want: "docker.io/library/busybox:latest", wantOK: true},
		{give: "busybox@sha256:" + hex64, want: "docker.io/library/busybox@sha256:" + hex64, wantOK: true},
		{give: "127.0.0.1:5000/busybox:1.36", want: "127.0.0.1:5000/busybox:1.36", wantOK: true},
		{give: "<none>:<none>"},
		{give: "<none>@<none>"},
		{give: ""},
		{give: "repo/NOT-valid"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, ok := NormalizeRepoTag(tt.give)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("NormalizeRepoTag(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestPullReferenceIsStable pins that a normalised reference normalises to
// itself, so the kubelet's name, Docker's name and ours never drift apart.
func TestPullReferenceIsStable(t *testing.T) {
	for _, give := range []string{"busybox", "a/b/c:1", "localhost:5000/x@sha256:" + hex64} {
		once, err := PullReference(give)
		if err != nil {
			t.Fatal(err)
		}
		twice, err := PullReference(once)
		if err != nil || twice != once {
			t.Fatalf("PullReference(%q) = %q, %v; want %q", once, twice, err, once)
		}
	}
}

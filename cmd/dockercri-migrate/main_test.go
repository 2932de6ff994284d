package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	// A socket path that does not exist: the Docker ping fails at once.
	nowhere := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	tests := []struct {
		name       string
		give       []string
		want       int
		wantStderr string
	}{
		{name: "no command", give: nil, want: 2, wantStderr: "usage:"},
		{name: "unknown command", give: []string{"migrate"}, want: 2, wantStderr: "usage:"},
		{name: "unknown flag", give: []string{"check", "--nope"}, want: 2, wantStderr: "flag provided but not defined"},
		{name: "extra argument", give: []string{"images", "extra"}, want: 2, wantStderr: "unexpected arguments"},
		{name: "help", give: []string{"check", "-h"}, want: 0, wantStderr: "-docker-endpoint"},
		{name: "docker unreachable", give: []string{"check", "--docker-endpoint", nowhere, "--timeout", "5s"}, want: 2,
			wantStderr: "dockercri-migrate check: docker " + nowhere},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.give, &stdout, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr.String())
			}
		})
	}
}

func TestDockerHostDefault(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///tmp/other.sock")
	var o options
	newFlags("check", &o)
	if o.dockerEndpoint != "unix:///tmp/other.sock" {
		t.Errorf("--docker-endpoint defaults to %q, want $DOCKER_HOST", o.dockerEndpoint)
	}
}

// The save stream outgrows Docker's image size by its tar headers; the
// progress bar must not fail the copy then.
func TestBarOutgrowsEstimate(t *testing.T) {
	var out bytes.Buffer
	bar := newBar(&out, "img", 10)
	for i := 0; i < 3; i++ {
		if n, err := bar.Write(make([]byte, 8)); n != 8 || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if err := bar.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "img") {
		t.Errorf("bar output lacks the image name: %q", out.String())
	}
}

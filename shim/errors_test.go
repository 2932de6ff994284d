package shim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dockercri/translate"
)

// realConnectionError asks a real Docker client to ping a socket nobody
// listens on, so the fake's "Docker is down" is the client's own error.
func realConnectionError(t *testing.T) error {
	t.Helper()
	c, err := NewDockerClient("unix://" + filepath.Join(t.TempDir(), "no-docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Ping(context.Background(), client.PingOptions{})
	if err == nil {
		t.Fatal("ping of an absent socket succeeded")
	}
	return err
}

func TestToStatus(t *testing.T) {
	tests := []struct {
		name string
		give error
		want codes.Code
	}{
		{name: "nil", give: nil, want: codes.OK},
		{name: "docker down", give: fmt.Errorf("docker info: %w", realConnectionError(t)), want: codes.Unavailable},
		// The client classes the daemon's HTTP errors so (404, 409, 401, 500).
		{name: "docker not found", give: fmt.Errorf("x: %w", cerrdefs.ErrNotFound.WithMessage("no such image")), want: codes.NotFound},
		{name: "docker conflict", give: cerrdefs.ErrConflict.WithMessage("in use"), want: codes.FailedPrecondition},
		{name: "docker unauthorized", give: cerrdefs.ErrUnauthenticated.WithMessage("no"), want: codes.Unauthenticated},
		{name: "docker system error", give: cerrdefs.ErrInternal.WithMessage("boom"), want: codes.Internal},
		{name: "invalid reference", give: fmt.Errorf("x: %w", translate.ErrInvalidReference), want: codes.InvalidArgument},
		{name: "invalid auth", give: translate.ErrInvalidAuth, want: codes.InvalidArgument},
		{name: "helper invalid", give: invalidArgument("bad %s", "thing"), want: codes.InvalidArgument},
		{name: "helper not found", give: notFound("no %s", "thing"), want: codes.NotFound},
		{name: "helper precondition", give: failedPrecondition("not %s", "ready"), want: codes.FailedPrecondition},
		{name: "deadline", give: fmt.Errorf("x: %w", context.DeadlineExceeded), want: codes.DeadlineExceeded},
		{name: "canceled", give: context.Canceled, want: codes.Canceled},
		{name: "already a status", give: status.Error(codes.Aborted, "x"), want: codes.Aborted},
		{name: "classified", give: classified{err: errors.New("x"), class: cerrdefs.ErrUnauthenticated}, want: codes.Unauthenticated},
		{name: "plain", give: errors.New("something"), want: codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toStatus(tt.give)
			if status.Code(got) != tt.want {
				t.Fatalf("toStatus(%v) code = %s, want %s", tt.give, status.Code(got), tt.want)
			}
			if tt.give != nil && status.Convert(got).Message() != tt.give.Error() && tt.name != "already a status" {
				t.Fatalf("message %q lost the error text %q", status.Convert(got).Message(), tt.give.Error())
			}
		})
	}
}

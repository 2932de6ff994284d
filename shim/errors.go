package shim

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dockercri/translate"
)

// Handlers return plain Go errors wrapped with %w around a containerd errdefs
// class (or an error from the Docker client, which carries one). toStatus, used
// only by the boundary wrapper, turns them into gRPC statuses.

func invalidArgument(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), cerrdefs.ErrInvalidArgument)
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), cerrdefs.ErrNotFound)
}

func failedPrecondition(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), cerrdefs.ErrFailedPrecondition)
}

// dockerUnavailable is the class of errors that mean "Docker did not answer".
var errDockerUnavailable = errors.New("docker is unavailable")

// toStatus maps an error to a gRPC status, once, at the boundary.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, translate.ErrInvalidReference), errors.Is(err, translate.ErrInvalidAuth),
		errors.Is(err, translate.ErrInvalidConfig), errors.Is(err, translate.ErrUnsupported):
		return status.Error(codes.InvalidArgument, err.Error())
	case client.IsErrConnectionFailed(err), errors.Is(err, errDockerUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codeOf(err), err.Error())
}

// codeOf reads the errdefs class of err; the Docker client's errors carry one
// for every HTTP status the daemon answers with. An error of no class is a
// failure of Docker, runc or dockercri itself: Internal, never Unknown, so
// that a client can tell "something broke" from a status it does not know.
func codeOf(err error) codes.Code {
	switch {
	case cerrdefs.IsInvalidArgument(err):
		return codes.InvalidArgument
	case cerrdefs.IsNotFound(err):
		return codes.NotFound
	case cerrdefs.IsAlreadyExists(err):
		return codes.AlreadyExists
	case cerrdefs.IsFailedPrecondition(err), cerrdefs.IsConflict(err), cerrdefs.IsNotModified(err):
		return codes.FailedPrecondition
	case cerrdefs.IsUnauthorized(err):
		return codes.Unauthenticated
	case cerrdefs.IsPermissionDenied(err):
		return codes.PermissionDenied
	case cerrdefs.IsResourceExhausted(err):
		return codes.ResourceExhausted
	case cerrdefs.IsUnavailable(err):
		return codes.Unavailable
	case cerrdefs.IsNotImplemented(err):
		return codes.Unimplemented
	case cerrdefs.IsDeadlineExceeded(err):
		return codes.DeadlineExceeded
	case cerrdefs.IsCanceled(err):
		return codes.Canceled
	}
	return codes.Internal
}

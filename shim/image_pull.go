package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// pullLogInterval spaces the progress lines of a long pull.
const pullLogInterval = 10 * time.Second

// PullImage pulls a normalised reference and returns the image ID, the ref
// the kubelet then creates containers from. The pull has no fixed timeout: it
// is cancelled when the client goes away or when Docker reports no progress
// for the progress deadline.
func (s *Service) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref, err := translate.PullReference(req.GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	auth, err := translate.RegistryAuth(req.GetAuth())
	if err != nil {
		return nil, fmt.Errorf("pull image %q: %w", ref, err)
	}
	for attempt := 1; ; attempt++ {
		id, err := s.pullOnce(ctx, ref, auth)
		if errors.Is(err, errVanished) && attempt < maxPullAttempts {
			klog.V(2).InfoS("Image removed as it was pulled; pulling again", "image", ref, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		klog.InfoS("Pulled image", "image", ref, "id", id)
		return &runtimeapi.PullImageResponse{ImageRef: id}, nil
	}
}

// maxPullAttempts bounds the pulls of an image that another client keeps
// removing as it arrives (critest's image benchmark pulls and removes one
// image from two clients at once).
const maxPullAttempts = 3

// errVanished marks an image gone between its pull and the steps after it.
var errVanished = errors.New("image removed as it was pulled")

// vanished marks a NotFound after a pull as errVanished.
func vanished(err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: %w", errVanished, err)
	}
	return err
}

// pullOnce pulls ref and returns the ID of the image it names.
func (s *Service) pullOnce(ctx context.Context, ref, auth string) (string, error) {
	name, err := s.pullMirrored(ctx, ref, auth)
	if err != nil {
		return "", err
	}
	ictx, cancel := context.WithTimeout(ctx, s.cfg.RuntimeRequestTimeout)
	defer cancel()
	in, err := s.docker.ImageInspect(ictx, name)
	if err != nil {
		return "", fmt.Errorf("inspect pulled image %q: %w", ref, vanished(err))
	}
	return in.ID, nil
}

// pullMessage is one line of Docker's pull progress stream.
type pullMessage struct {
	Status      string `json:"status"`
	ID          string `json:"id"`
	Progress    string `json:"progress"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

var errNoProgress = errors.New("no pull progress")

func (s *Service) pull(ctx context.Context, ref, auth string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	deadline := s.cfg.ImagePullProgressDeadline
	// The watchdog is a timer, not a goroutine: every message re-arms it,
	// and when it fires the pull's context is cancelled.
	watchdog := time.AfterFunc(deadline, func() { cancel(errNoProgress) })
	defer watchdog.Stop()
	stalled := func(err error) error {
		if errors.Is(context.Cause(ctx), errNoProgress) {
			return fmt.Errorf("pull image %q: no progress for %s, cancelled: %w", ref, deadline, context.DeadlineExceeded)
		}
		return err
	}

	body, err := s.docker.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return stalled(pullError(ref, err.Error(), err))
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	lastLog := time.Now()
	for {
		var msg pullMessage
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return stalled(fmt.Errorf("pull image %q: reading progress: %w", ref, err))
		}
		watchdog.Reset(deadline)
		if msg.ErrorDetail != nil || msg.Error != "" {
			text := msg.Error
			if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
				text = msg.ErrorDetail.Message
			}
			return pullError(ref, text, nil)
		}
		if time.Since(lastLog) >= pullLogInterval {
			lastLog = time.Now()
			klog.V(2).InfoS("Pulling image", "image", ref, "status", msg.Status, "layer", msg.ID, "progress", msg.Progress)
		}
	}
}

// pullError names the image and the registry and keeps the registry's answer.
// Docker reports registry failures either as an HTTP error (which carries an
// errdefs class) or as a line in the progress stream (which carries only
// text); the text is classified so that both reach the kubelet with the
// same code.
func pullError(ref, text string, cause error) error {
	registry := "the registry"
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		registry = reference.Domain(named)
	}
	class := registryErrorClass(text)
	var err error
	if cause != nil {
		err = fmt.Errorf("pull image %q from %s: %w", ref, registry, cause)
	} else {
		err = fmt.Errorf("pull image %q from %s: %s", ref, registry, text)
	}
	if class == nil {
		return err
	}
	return classified{err: err, class: class}
}

// classified adds an errdefs class to an error without changing its message.
type classified struct{ err, class error }

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.class, c.err} }

// registryErrorClass recognises the registry answers that have a gRPC code of
// their own: the distribution spec's error texts, and the network and TLS
// failures of a registry that cannot be reached (Unavailable: the kubelet
// retries those with back-off, as it should, rather than reporting a bad
// image). Docker passes these on as text, so text is all there is to read.
func registryErrorClass(text string) error {
	t := strings.ToLower(text)
	switch {
	case containsAny(t, "unauthorized", "authentication required", "no basic auth credentials", "incorrect username or password"):
		return cerrdefs.ErrUnauthenticated
	case containsAny(t, "no such host", "connection refused", "network is unreachable", "no route to host",
		"i/o timeout", "tls handshake timeout", "connection reset by peer", "server misbehaving",
		"temporary failure in name resolution", "x509: ", "tls: ", "server gave http response to https client",
		"request canceled while waiting for connection", "service unavailable", "bad gateway", "gateway timeout",
		"toomanyrequests", "too many requests", "\": eof", "unexpected eof"):
		return cerrdefs.ErrUnavailable
	case containsAny(t, "manifest unknown", "not found", "name unknown", "repository does not exist"):
		// Docker Hub answers an unknown repository with "pull access
		// denied ..., repository does not exist or may require 'docker
		// login'": the message, kept whole, says both.
		return cerrdefs.ErrNotFound
	case strings.Contains(t, "denied"):
		return cerrdefs.ErrPermissionDenied
	}
	return nil
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

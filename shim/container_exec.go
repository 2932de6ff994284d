package shim

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ExecSync runs a command to completion and returns its output and exit
// code (exec probes, `crictl exec --sync`). A timeout of 0 means none: the
// call is then bounded by the client's own deadline. A command that times
// out is killed and the call fails with DeadlineExceeded, which the kubelet
// reads as a probe timeout.
func (s *Service) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if err := validateExec(req.GetContainerId(), req.GetCmd()); err != nil {
		return nil, err
	}
	if req.GetTimeout() < 0 {
		return nil, invalidArgument("negative timeout %d", req.GetTimeout())
	}
	if _, err := runningOurs(ctx, s.docker, translate.ContainerTypeContainer, req.GetContainerId()); err != nil {
		return nil, err
	}
	if req.GetTimeout() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.GetTimeout())*time.Second)
		defer cancel()
	}
	res, err := runExecSync(ctx, s.docker, req.GetContainerId(), req.GetCmd())
	if errors.Is(err, context.DeadlineExceeded) && req.GetTimeout() > 0 {
		// The command stays out of the message: it is logged, and may hold a secret.
		return nil, fmt.Errorf("exec in container %s timed out after %ds: %w", req.GetContainerId(), req.GetTimeout(), err)
	}
	return res, err
}

// Exec validates the request and hands out the URL of an exec session.
func (s *Service) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if err := validateExec(req.GetContainerId(), req.GetCmd()); err != nil {
		return nil, err
	}
	srv, err := s.sessionServer(ctx, req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr())
	if err != nil {
		return nil, err
	}
	return srv.GetExec(req)
}

func validateExec(id string, cmd []string) error {
	if id == "" {
		return invalidArgument("empty container id")
	}
	if len(cmd) == 0 || cmd[0] == "" {
		return invalidArgument("empty command for container %s", id)
	}
	return nil
}

// sessionServer checks the streams an Exec or Attach asks for and that its
// container is ours and running, and returns the server that hands out the
// session's URL.
func (s *Service) sessionServer(ctx context.Context, id string, tty, stdin, stdout, stderr bool) (StreamServer, error) {
	if tty && stderr {
		return nil, invalidArgument("tty and stderr cannot both be set: a terminal has one output")
	}
	if !stdin && !stdout && !stderr {
		return nil, invalidArgument("one of stdin, stdout and stderr must be set")
	}
	if _, err := runningOurs(ctx, s.docker, translate.ContainerTypeContainer, id); err != nil {
		return nil, err
	}
	return s.streamServer()
}

func (s *Service) streamServer() (StreamServer, error) {
	if s.cfg.Streaming == nil {
		return nil, fmt.Errorf("no streaming server configured: %w", cerrdefs.ErrNotImplemented)
	}
	return s.cfg.Streaming, nil
}

// runExecSync runs cmd until it exits and its output ends, or until ctx
// ends, when the process is killed. Output past the caps is drained and
// dropped. When the process has exited but a child it left in the background
// still holds the output open, reading stops after execTimes.grace.
func runExecSync(ctx context.Context, d Docker, id string, cmd []string) (*runtimeapi.ExecSyncResponse, error) {
	created, err := d.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("create exec in container %s: %w", id, err)
	}
	hj, err := d.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("start exec %s in container %s: %w", created.ID, id, err)
	}
	defer hj.Close()
	stdout, stderr := &cappedBuffer{limit: execOutputCap}, &cappedBuffer{limit: execOutputCap}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		// A copy error means the stream broke; the exit code still tells.
		_, _ = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}()

	poll := time.NewTicker(execTimes.poll)
	defer poll.Stop()
	var grace <-chan time.Time
	outputDone := false
	for {
		select {
		case <-copied:
			outputDone, copied = true, nil
		case <-poll.C:
		case <-grace:
			klog.V(levelExec).InfoS("Exec exited but its output stays open; stopped reading", "exec", created.ID)
			hj.Close()
			<-copied
			outputDone, copied, grace = true, nil, nil
		case <-ctx.Done():
			killExec(ctx, d, created.ID)
			hj.Close()
			if copied != nil {
				<-copied
			}
			return nil, fmt.Errorf("exec %s in container %s: %w", created.ID, id, ctx.Err())
		}
		in, err := d.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				continue // the next round kills it
			}
			return nil, fmt.Errorf("inspect exec %s: %w", created.ID, err)
		}
		switch {
		case in.Running:
		case outputDone:
			return execSyncResponse(created.ID, stdout, stderr, in.ExitCode), nil
		case grace == nil:
			grace = time.After(execTimes.grace)
		}
	}
}

func execSyncResponse(execID string, stdout, stderr *cappedBuffer, code int) *runtimeapi.ExecSyncResponse {
	out, errOut := fitOutput(stdout.buf, stderr.buf, MaxMsgSize-execSyncFraming)
	if dropped := stdout.dropped + stderr.dropped + int64(len(stdout.buf)-len(out)+len(stderr.buf)-len(errOut)); dropped > 0 {
		klog.V(levelExec).InfoS("ExecSync output truncated", "exec", execID, "droppedBytes", dropped)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: out, Stderr: errOut, ExitCode: int32(code)}
}

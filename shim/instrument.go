package shim

import (
	"context"
	"path"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// The boundary wrapper: every RPC passes through UnaryInterceptor or
// StreamInterceptor, which check readiness, bound short calls with the request
// timeout, log the call and its outcome at the method's fixed level, and are
// the single place where Go errors become gRPC statuses.
//
// What is logged: at the method's level a summary (the method, the pod or
// container metadata, ids, the image: see summarize), never the whole
// request. A CreateContainer carries the container's environment, where the
// kubelet puts the values of Kubernetes Secrets; an ExecSync carries a
// command line that may hold a password. The whole request and response are
// logged only at levelBody, with registry credentials removed even there.

// Log levels by kind of call: lifecycle at Info (0), background and rarely
// called at 2, exec at 4, polled reads at 5; whole requests at 6.
const (
	levelLifecycle klog.Level = 0
	levelDefault   klog.Level = 2
	levelExec      klog.Level = 4
	levelPolled    klog.Level = 5
	levelBody      klog.Level = 6
)

// policy is what the boundary does for one CRI method.
type policy struct {
	level klog.Level
	// long methods get cancellation and their own deadlines or watchdogs
	// instead of the fixed request timeout (a stop waits out the grace
	// period, a pull its progress deadline, a stream its client).
	long bool
}

// methods has an entry for every method of the RuntimeService and
// ImageService descriptors, streams included (a test holds it to that): a
// method added to the CRI gets a level by decision, not by default.
var methods = map[string]policy{
	"RunPodSandbox": {level: levelLifecycle}, "StopPodSandbox": {level: levelLifecycle},
	"RemovePodSandbox": {level: levelLifecycle}, "UpdatePodSandboxResources": {level: levelLifecycle},
	"CreateContainer": {level: levelLifecycle}, "StartContainer": {level: levelLifecycle},
	"StopContainer": {level: levelLifecycle, long: true}, "RemoveContainer": {level: levelLifecycle},
	"UpdateContainerResources": {level: levelLifecycle}, "ReopenContainerLog": {level: levelLifecycle},
	"PullImage": {level: levelLifecycle, long: true}, "RemoveImage": {level: levelLifecycle},
	"UpdateRuntimeConfig": {level: levelLifecycle},

	"CheckpointContainer": {level: levelDefault}, "CheckpointPod": {level: levelDefault},
	"RestorePod": {level: levelDefault}, "GetContainerEvents": {level: levelDefault, long: true},

	"ExecSync": {level: levelExec, long: true}, "Exec": {level: levelExec},
	"Attach": {level: levelExec}, "PortForward": {level: levelExec},

	"Version": {level: levelPolled}, "Status": {level: levelPolled}, "RuntimeConfig": {level: levelPolled},
	"ListImages": {level: levelPolled}, "ImageStatus": {level: levelPolled}, "ImageFsInfo": {level: levelPolled},
	"ListPodSandbox": {level: levelPolled}, "PodSandboxStatus": {level: levelPolled},
	"ListContainers": {level: levelPolled}, "ContainerStatus": {level: levelPolled},
	"ContainerStats": {level: levelPolled}, "ListContainerStats": {level: levelPolled},
	"PodSandboxStats": {level: levelPolled}, "ListPodSandboxStats": {level: levelPolled},
	"ListMetricDescriptors": {level: levelPolled}, "ListPodSandboxMetrics": {level: levelPolled},

	"StreamPodSandboxes": {level: levelPolled, long: true}, "StreamContainers": {level: levelPolled, long: true},
	"StreamContainerStats": {level: levelPolled, long: true}, "StreamPodSandboxStats": {level: levelPolled, long: true},
	"StreamPodSandboxMetrics": {level: levelPolled, long: true}, "StreamImages": {level: levelPolled, long: true},
}

// policyOf returns the method's policy. A method missing from the table (a
// newer CRI than this build knows) is logged at levelDefault.
func policyOf(fullMethod string) (string, policy) {
	method := path.Base(fullMethod)
	p, ok := methods[method]
	if !ok {
		p = policy{level: levelDefault}
	}
	return method, p
}

// UnaryInterceptor wraps every unary CRI call.
func (s *Service) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method, p := policyOf(info.FullMethod)
	if !s.ready.Load() {
		return nil, status.Errorf(codes.Unavailable, "dockercri is not ready yet")
	}
	if !p.long {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RuntimeRequestTimeout)
		defer cancel()
	}
	finish := s.cfg.Metrics.StartRPC(method)
	start := time.Now()
	logRequest(method, p.level, req)
	resp, err := handler(ctx, req)
	if err != nil {
		st := toStatus(err)
		finish(status.Code(st))
		logFailure(method, p.level, st, time.Since(start))
		return nil, st
	}
	finish(codes.OK)
	logResponse(method, p.level, resp, time.Since(start))
	return resp, nil
}

// StreamInterceptor gives streaming RPCs the same readiness check, logging
// and error mapping.
func (s *Service) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !s.ready.Load() {
		return status.Errorf(codes.Unavailable, "dockercri is not ready yet")
	}
	method, p := policyOf(info.FullMethod)
	klog.V(p.level).InfoS("CRI stream", "method", method)
	finish := s.cfg.Metrics.StartRPC(method)
	start := time.Now()
	err := toStatus(handler(srv, ss))
	finish(status.Code(err))
	if err != nil {
		logFailure(method, p.level, err, time.Since(start))
	}
	return err
}

func logRequest(method string, level klog.Level, req any) {
	if klog.V(levelBody).Enabled() {
		klog.V(levelBody).InfoS("CRI request", "method", method, "request", redact(req))
		return
	}
	if logger := klog.V(level); logger.Enabled() {
		logger.InfoS("CRI request", append([]any{"method", method}, summarize(req)...)...)
	}
}

func logResponse(method string, level klog.Level, resp any, took time.Duration) {
	if klog.V(levelBody).Enabled() {
		klog.V(levelBody).InfoS("CRI response", "method", method, "response", resp, "duration", took)
		return
	}
	if logger := klog.V(level); logger.Enabled() {
		kv := append([]any{"method", method}, summarize(resp)...)
		logger.InfoS("CRI response", append(kv, "duration", took)...)
	}
}

// logFailure logs a failed call one level sooner than its success: a failure
// is worth seeing. Error messages name objects, never values (handlers keep
// environment values and commands out of them).
func logFailure(method string, level klog.Level, st error, took time.Duration) {
	klog.V(max(level-1, 0)).InfoS("CRI request failed", "method", method, "code", status.Code(st).String(),
		"err", status.Convert(st).Message(), "duration", took)
}

package shim

import (
	"context"
	"path"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The boundary wrapper: every unary RPC passes through UnaryInterceptor,
// which checks readiness, bounds short calls with the request timeout, logs
// the request and its outcome at the method's fixed level, and is the single
// place where Go errors become gRPC statuses.

// Log levels by kind of call: lifecycle at Info (0), exec at 4, polled reads
// at 5. Anything not listed is logged at 2.
const (
	levelLifecycle klog.Level = 0
	levelDefault   klog.Level = 2
	levelExec      klog.Level = 4
	levelPolled    klog.Level = 5
)

var methodLevels = map[string]klog.Level{
	"PullImage": levelLifecycle, "RemoveImage": levelLifecycle, "UpdateRuntimeConfig": levelLifecycle,
	"RunPodSandbox": levelLifecycle, "StopPodSandbox": levelLifecycle, "RemovePodSandbox": levelLifecycle,
	"CreateContainer": levelLifecycle, "StartContainer": levelLifecycle, "StopContainer": levelLifecycle,
	"RemoveContainer": levelLifecycle, "UpdateContainerResources": levelLifecycle, "ReopenContainerLog": levelLifecycle,

	"ExecSync": levelExec, "Exec": levelExec, "Attach": levelExec, "PortForward": levelExec,

	"Version": levelPolled, "Status": levelPolled, "RuntimeConfig": levelPolled,
	"ListImages": levelPolled, "ImageStatus": levelPolled, "ImageFsInfo": levelPolled,
	"ListPodSandbox": levelPolled, "PodSandboxStatus": levelPolled,
	"ListContainers": levelPolled, "ContainerStatus": levelPolled,
	"ContainerStats": levelPolled, "ListContainerStats": levelPolled,
	"PodSandboxStats": levelPolled, "ListPodSandboxStats": levelPolled,
	"ListMetricDescriptors": levelPolled, "ListPodSandboxMetrics": levelPolled,
}

// longRunning methods get cancellation and their own deadlines or watchdogs
// instead of the fixed request timeout (a stop waits out the grace period).
var longRunning = map[string]bool{
	"PullImage": true, "ExecSync": true, "GetContainerEvents": true, "StopContainer": true,
}

// UnaryInterceptor wraps every unary CRI call.
func (s *Service) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := path.Base(info.FullMethod)
	level, ok := methodLevels[method]
	if !ok {
		level = levelDefault
	}
	if !s.ready.Load() {
		return nil, status.Errorf(codes.Unavailable, "dockercri is not ready yet")
	}
	if !longRunning[method] {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RuntimeRequestTimeout)
		defer cancel()
	}
	finish := s.cfg.Metrics.StartRPC(method)
	start := time.Now()
	logger := klog.V(level)
	if logger.Enabled() {
		logger.InfoS("CRI request", "method", method, "request", redact(req))
	}
	resp, err := handler(ctx, req)
	if err != nil {
		st := toStatus(err)
		finish(status.Code(st))
		// A failing call is worth seeing one level sooner than its success.
		klog.V(max(level-1, 0)).InfoS("CRI request failed", "method", method, "code", status.Code(st).String(),
			"err", status.Convert(st).Message(), "duration", time.Since(start))
		return nil, st
	}
	finish(codes.OK)
	if logger.Enabled() {
		logger.InfoS("CRI response", "method", method, "response", resp, "duration", time.Since(start))
	}
	return resp, nil
}

// StreamInterceptor gives streaming RPCs the same readiness check and error
// mapping.
func (s *Service) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !s.ready.Load() {
		return status.Errorf(codes.Unavailable, "dockercri is not ready yet")
	}
	method := path.Base(info.FullMethod)
	klog.V(levelDefault).InfoS("CRI stream", "method", method)
	finish := s.cfg.Metrics.StartRPC(method)
	err := toStatus(handler(srv, ss))
	finish(status.Code(err))
	return err
}

// redact strips credentials from requests before they are logged.
func redact(req any) any {
	if r, ok := req.(*runtimeapi.PullImageRequest); ok && r.GetAuth() != nil {
		c := proto.Clone(r).(*runtimeapi.PullImageRequest)
		c.Auth = &runtimeapi.AuthConfig{ServerAddress: r.GetAuth().GetServerAddress(), Username: r.GetAuth().GetUsername()}
		return c
	}
	return req
}

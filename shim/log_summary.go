package shim

import (
	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// summarize gives the key/value pairs that identify a CRI request or
// response in the log below levelBody: the method's objects (pod, container,
// sandbox and container ids, image) and sizes, never a value the caller
// passed through (environment, command line, annotations, credentials,
// streaming URLs, exec output).
func summarize(msg any) []any {
	var kv []any
	if m, ok := msg.(interface{ GetPodSandboxId() string }); ok && m.GetPodSandboxId() != "" {
		kv = append(kv, "sandbox", m.GetPodSandboxId())
	}
	if m, ok := msg.(interface{ GetContainerId() string }); ok && m.GetContainerId() != "" {
		kv = append(kv, "container", m.GetContainerId())
	}
	if m, ok := msg.(interface{ GetImage() *runtimeapi.ImageSpec }); ok && m.GetImage().GetImage() != "" {
		kv = append(kv, "image", m.GetImage().GetImage())
	}
	return append(kv, summarizeKind(msg)...)
}

// summarizeKind adds what only some messages have.
func summarizeKind(msg any) []any {
	switch m := msg.(type) {
	case *runtimeapi.RunPodSandboxRequest:
		return append(podOf(m.GetConfig().GetMetadata()), "runtimeHandler", m.GetRuntimeHandler())
	case *runtimeapi.CreateContainerRequest:
		meta := m.GetConfig().GetMetadata()
		return append(podOf(m.GetSandboxConfig().GetMetadata()), "name", meta.GetName(), "attempt", meta.GetAttempt(),
			"image", m.GetConfig().GetImage().GetImage())
	case *runtimeapi.PullImageRequest:
		return append(podOf(m.GetSandboxConfig().GetMetadata()), "withAuth", m.GetAuth() != nil)
	case *runtimeapi.StopContainerRequest:
		return []any{"timeout", m.GetTimeout()}
	case *runtimeapi.ExecSyncRequest:
		return []any{"args", len(m.GetCmd()), "timeout", m.GetTimeout()}
	case *runtimeapi.ExecRequest:
		return []any{"args", len(m.GetCmd()), "tty", m.GetTty(), "stdin", m.GetStdin()}
	case *runtimeapi.AttachRequest:
		return []any{"tty", m.GetTty(), "stdin", m.GetStdin()}
	case *runtimeapi.PortForwardRequest:
		return []any{"ports", m.GetPort()}
	case *runtimeapi.UpdateRuntimeConfigRequest:
		return []any{"podCIDR", m.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()}
	case *runtimeapi.PullImageResponse:
		return []any{"imageRef", m.GetImageRef()}
	case *runtimeapi.ExecSyncResponse:
		return []any{"exitCode", m.GetExitCode(), "stdoutBytes", len(m.GetStdout()), "stderrBytes", len(m.GetStderr())}
	case *runtimeapi.ListPodSandboxResponse:
		return []any{"items", len(m.GetItems())}
	case *runtimeapi.ListContainersResponse:
		return []any{"items", len(m.GetContainers())}
	case *runtimeapi.ListImagesResponse:
		return []any{"items", len(m.GetImages())}
	case *runtimeapi.ListContainerStatsResponse:
		return []any{"items", len(m.GetStats())}
	case *runtimeapi.ListPodSandboxStatsResponse:
		return []any{"items", len(m.GetStats())}
	}
	return nil
}

func podOf(meta *runtimeapi.PodSandboxMetadata) []any {
	if meta == nil {
		return nil
	}
	return []any{"pod", klog.KRef(meta.GetNamespace(), meta.GetName()), "podUID", meta.GetUid(), "podAttempt", meta.GetAttempt()}
}

// redact strips registry credentials from a request before it is logged
// whole: only the server they are for is kept.
func redact(req any) any {
	if r, ok := req.(*runtimeapi.PullImageRequest); ok && r.GetAuth() != nil {
		c := proto.Clone(r).(*runtimeapi.PullImageRequest)
		c.Auth = &runtimeapi.AuthConfig{ServerAddress: r.GetAuth().GetServerAddress()}
		return c
	}
	return req
}

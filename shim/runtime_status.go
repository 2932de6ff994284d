package shim

import (
	"context"
	"encoding/json"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// Reasons in RuntimeCondition, stable strings the kubelet shows in node
// status. reasonPodTrafficDropped comes with NetworkReady true: see
// cni.ForwardingProblem.
const (
	reasonDockerNotReady    = "DockerDaemonNotReady"
	reasonNetworkNotReady   = "NetworkPluginNotReady"
	reasonPodTrafficDropped = "PodTrafficDropped"
)

// statusPingTimeout bounds the ping behind Status: a dockerd that takes
// longer than this to answer a ping is not ready, and the kubelet should hear
// so without waiting out the whole request timeout.
const statusPingTimeout = 10 * time.Second

// Status reports RuntimeReady from Docker's ping, and NetworkReady from the
// CNI config (read again on each call, so one written later is seen) or,
// without CNI, from Docker, whose own networking the pods then use. A Docker that is down is a condition, not an error: the kubelet
// needs the reason.
func (s *Service) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	networkCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	pctx, cancel := context.WithTimeout(ctx, s.pingTimeout)
	defer cancel()
	// The ping negotiates the API version if no call has yet, so that the
	// features below, read from it, are the daemon's.
	if _, err := s.docker.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		runtimeCond.Status, runtimeCond.Reason = false, reasonDockerNotReady
		runtimeCond.Message = "docker: " + err.Error()
		networkCond.Status, networkCond.Reason = false, reasonNetworkNotReady
		networkCond.Message = "docker networking is not available: docker is not ready"
	} else if s.cfg.Network != nil {
		if err := s.cfg.Network.Status(); err != nil {
			networkCond.Status, networkCond.Reason = false, reasonNetworkNotReady
			networkCond.Message = err.Error()
		} else if w := s.cfg.Network.Warning(); w != "" {
			// Ready all the same: pods get their addresses, and an operator
			// rule this cannot see may let their traffic through.
			networkCond.Reason, networkCond.Message = reasonPodTrafficDropped, w
		}
	}
	resp := &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeCond, networkCond}},
		Features: &runtimeapi.RuntimeFeatures{
			// Both policies are built from the image's accounts (translate/groups_policy.go).
			SupplementalGroupsPolicy: true,
			// Docker can set none of noexec, nodev, nosuid on a bind mount, so
			// this stays false and the kubelet refuses such pods up front.
			MountOptions: translate.MountOptionsFeature(),
		},
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{{
			Name: "",
			Features: &runtimeapi.RuntimeHandlerFeatures{
				// Docker makes read-only mounts recursive from API 1.44 on.
				RecursiveReadOnlyMounts: runtimeCond.Status && versions.GreaterThanOrEqualTo(s.docker.ClientVersion(), "1.44"),
			},
		}},
	}
	if req.GetVerbose() {
		s.mu.Lock()
		info := map[string]any{
			"dockerAPIVersion": s.docker.ClientVersion(),
			"podCIDR":          s.podCIDR,
			"podInfraImage":    s.cfg.PodInfraImage,
		}
		s.mu.Unlock()
		b, err := json.Marshal(info)
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

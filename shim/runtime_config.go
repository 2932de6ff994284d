package shim

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RuntimeConfig reports the cgroup driver Docker really uses, which the
// kubelet checks against its own.
func (s *Service) RuntimeConfig(ctx context.Context, _ *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	res, err := s.docker.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	driver, err := cgroupDriver(res.Info.CgroupDriver)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.RuntimeConfigResponse{
		Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: driver},
	}, nil
}

func cgroupDriver(docker string) (runtimeapi.CgroupDriver, error) {
	switch docker {
	case "systemd":
		return runtimeapi.CgroupDriver_SYSTEMD, nil
	case "cgroupfs":
		return runtimeapi.CgroupDriver_CGROUPFS, nil
	}
	return 0, failedPrecondition("docker reports cgroup driver %q, which the CRI cannot express", docker)
}

// UpdateRuntimeConfig keeps the pod CIDR the kubelet hands down; pod
// networking reads it. Dual-stack CIDRs arrive comma-separated.
func (s *Service) UpdateRuntimeConfig(_ context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	if cidr == "" {
		return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
	}
	for _, c := range strings.Split(cidr, ",") {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(c)); err != nil {
			return nil, invalidArgument("pod CIDR %q: %v", cidr, err)
		}
	}
	s.mu.Lock()
	changed := s.podCIDR != cidr
	s.podCIDR = cidr
	s.mu.Unlock()
	if changed {
		klog.InfoS("Pod CIDR updated", "podCIDR", cidr)
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

// PodCIDR returns the pod CIDR last set by the kubelet.
func (s *Service) PodCIDR() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.podCIDR
}

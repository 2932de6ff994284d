package shim

import (
	"google.golang.org/grpc"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// MaxMsgSize is the kubelet's own CRI message cap; larger responses would be
// refused on its side anyway.
const MaxMsgSize = 16 * 1024 * 1024

// NewGRPCServer registers the service behind the boundary wrapper.
func NewGRPCServer(s *Service) *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxMsgSize),
		grpc.MaxSendMsgSize(MaxMsgSize),
		grpc.ChainUnaryInterceptor(s.UnaryInterceptor),
		grpc.ChainStreamInterceptor(s.StreamInterceptor),
	)
	runtimeapi.RegisterRuntimeServiceServer(srv, s)
	runtimeapi.RegisterImageServiceServer(srv, s)
	return srv
}

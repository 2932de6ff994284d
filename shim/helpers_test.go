package shim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const testPause = "127.0.0.1:5000/pause:3.10"

// testClients serves a Service over a real unix socket, through the same
// boundary wrapper the daemon uses, and returns CRI clients to it.
type testClients struct {
	svc     *Service
	runtime runtimeapi.RuntimeServiceClient
	image   runtimeapi.ImageServiceClient
}

func newTestClients(t *testing.T, d Docker, mutate ...func(*Config)) *testClients {
	t.Helper()
	cfg := Config{
		RootDirectory:             t.TempDir(),
		PodInfraImage:             testPause,
		ImagePullProgressDeadline: time.Minute,
		RuntimeRequestTimeout:     10 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, NewGRPCServer(svc))
	return &testClients{
		svc:     svc,
		runtime: runtimeapi.NewRuntimeServiceClient(conn),
		image:   runtimeapi.NewImageServiceClient(conn),
	}
}

// serve runs srv on a unix socket of the test's and returns a client
// connection to it; both end with the test.
func serve(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := Listen("unix://" + filepath.Join(t.TempDir(), "cri.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode fails unless err is a gRPC status with the code.
func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		t.Fatalf("error = %v, want code %s", err, want)
	}
	return st
}

// assertCalls fails the test unless the Docker calls are exactly want, in
// order, showing both lists one call a line.
func assertCalls(t *testing.T, got, want []string) {
	t.Helper()
	if !equalCalls(got, want) {
		t.Fatalf("calls =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func equalCalls(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

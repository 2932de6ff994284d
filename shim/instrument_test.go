package shim

import (
	"bytes"
	"flag"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// captureLogs sends klog output at verbosity 10 into a buffer for the test.
func captureLogs(t *testing.T) *bytes.Buffer {
	t.Helper()
	return captureLogsAt(t, 10)
}

// captureLogsAt sends klog output at verbosity v into a buffer for the test.
func captureLogsAt(t *testing.T, v int) *bytes.Buffer {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"v": strconv.Itoa(v), "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := fs.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	klog.SetOutput(&buf)
	t.Cleanup(func() {
		klog.Flush()
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
	})
	return &buf
}

func TestPasswordNeverLogged(t *testing.T) {
	buf := captureLogs(t)
	f := newFakeDocker()
	f.pullStream = streamOf(0, `{"error":"unauthorized: authentication required"}`)
	c := newTestClients(t, f)
	const secret = "correct-horse-battery"
	_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{
		Image: spec("127.0.0.1:5001/busybox:1.36"),
		Auth:  &runtimeapi.AuthConfig{Username: "dcri", Password: secret, IdentityToken: secret + "-id", RegistryToken: secret + "-rt"},
	})
	wantCode(t, err, codes.Unauthenticated)
	klog.Flush()
	logs := buf.String()
	if !strings.Contains(logs, "PullImage") {
		t.Fatalf("the request was not logged at all:\n%s", logs)
	}
	if strings.Contains(logs, secret) {
		t.Fatalf("logs contain the credential:\n%s", logs)
	}
}

func TestRedactKeepsRequestIntact(t *testing.T) {
	req := &runtimeapi.PullImageRequest{Image: spec("x"), Auth: &runtimeapi.AuthConfig{ServerAddress: "r", Username: "u", Password: "p"}}
	got := redact(req).(*runtimeapi.PullImageRequest)
	if got.GetAuth().GetPassword() != "" || got.GetAuth().GetUsername() != "" || got.GetAuth().GetServerAddress() != "r" {
		t.Fatalf("redacted = %v", got)
	}
	if req.GetAuth().GetPassword() != "p" {
		t.Fatal("redact modified the request the handler receives")
	}
}

// Every method of the two CRI service descriptors has a policy of its own,
// and the table names no method that does not exist.
func TestMethodPolicyCoversTheCRI(t *testing.T) {
	known := map[string]bool{}
	for _, desc := range []grpc.ServiceDesc{runtimeapi.RuntimeService_ServiceDesc, runtimeapi.ImageService_ServiceDesc} {
		for _, m := range desc.Methods {
			known[m.MethodName] = true
		}
		for _, st := range desc.Streams {
			known[st.StreamName] = true
		}
	}
	for name := range known {
		if _, ok := methods[name]; !ok {
			t.Errorf("CRI method %s has no log level in the methods table", name)
		}
	}
	for name, p := range methods {
		if !known[name] {
			t.Errorf("the methods table names %s, which is not a CRI method", name)
		}
		if p.level > levelPolled {
			t.Errorf("%s is logged at %d, past levelPolled: it would only show with whole requests", name, p.level)
		}
	}
	for _, desc := range []grpc.ServiceDesc{runtimeapi.RuntimeService_ServiceDesc, runtimeapi.ImageService_ServiceDesc} {
		for _, st := range desc.Streams {
			if !methods[st.StreamName].long {
				t.Errorf("stream %s is not long-running: the request timeout would cut it", st.StreamName)
			}
		}
	}
}

// secretPod creates a container whose environment, annotations and exec
// command hold the marker, through the real boundary, logging at v.
func secretPod(t *testing.T, v int, marker string) string {
	t.Helper()
	buf := captureLogsAt(t, v)
	f := fakeWithImages()
	streams := &stubStreams{}
	c := newTestClients(t, f, func(cfg *Config) { cfg.Streaming = streams })
	ctx := testContext(t)
	sb := sandboxConfig("secret")
	sbID := runSandbox(t, c, sb)
	cfg := containerConfig("app")
	cfg.Envs = []*runtimeapi.KeyValue{{Key: "DB_PASSWORD", Value: []byte(marker)}}
	cfg.Annotations["token"] = marker
	resp, err := c.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sb})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetContainerId()
	if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	// The exec runs on the fake; its command carries the marker either way.
	_, _ = c.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"echo", marker}, Timeout: 1})
	if _, err := c.runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"echo", marker}, Stdout: true}); err != nil {
		t.Fatal(err)
	}
	klog.Flush()
	return buf.String()
}

func TestSecretsStayOutOfTheLogBelowBodyLevel(t *testing.T) {
	const marker = "s3cr3t-marker-7f1d"
	for _, v := range []int{0, 2, 4, int(levelPolled)} {
		logs := secretPod(t, v, marker)
		if strings.Contains(logs, marker) {
			t.Errorf("-v=%d: the log holds the secret:\n%s", v, logs)
		}
		if !strings.Contains(logs, "CreateContainer") || !strings.Contains(logs, "name=\"app\"") {
			t.Errorf("-v=%d: CreateContainer is not summarised in the log:\n%s", v, logs)
		}
	}
	// The same calls at the body level do show it: the test above can fail.
	if logs := secretPod(t, int(levelBody), marker); !strings.Contains(logs, marker) {
		t.Errorf("-v=%d: whole requests are not logged", levelBody)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		give any
		want []any
	}{
		{
			name: "run pod",
			give: &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
				Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u", Attempt: 1}}, RuntimeHandler: "h"},
			want: []any{"pod", klog.KRef("ns", "p"), "podUID", "u", "podAttempt", uint32(1), "runtimeHandler", "h"},
		},
		{
			name: "exec sync counts arguments",
			give: &runtimeapi.ExecSyncRequest{ContainerId: "c1", Cmd: []string{"sh", "-c", "x"}, Timeout: 3},
			want: []any{"container", "c1", "args", 3, "timeout", int64(3)},
		},
		{
			name: "pull says whether auth came, not what",
			give: &runtimeapi.PullImageRequest{Image: spec("busybox"), Auth: &runtimeapi.AuthConfig{Password: "p"}},
			want: []any{"image", "busybox", "withAuth", true},
		},
		{
			name: "exec sync response sizes",
			give: &runtimeapi.ExecSyncResponse{Stdout: []byte("abc"), ExitCode: 2},
			want: []any{"exitCode", int32(2), "stdoutBytes", 3, "stderrBytes", 0},
		},
		{
			name: "streaming URL is left out",
			give: &runtimeapi.ExecResponse{Url: "http://127.0.0.1:1/exec/token"},
			want: nil,
		},
		{
			name: "ids",
			give: &runtimeapi.StopContainerRequest{ContainerId: "c1", Timeout: 30},
			want: []any{"container", "c1", "timeout", int64(30)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.give); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("summarize = %#v, want %#v", got, tt.want)
			}
		})
	}
}

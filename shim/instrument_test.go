package shim

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// captureLogs sends klog output at verbosity 10 into a buffer for the test.
func captureLogs(t *testing.T) *bytes.Buffer {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"v": "10", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
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
	req := &runtimeapi.PullImageRequest{Image: spec("x"), Auth: &runtimeapi.AuthConfig{Username: "u", Password: "p"}}
	got := redact(req).(*runtimeapi.PullImageRequest)
	if got.GetAuth().GetPassword() != "" || got.GetAuth().GetUsername() != "u" {
		t.Fatalf("redacted = %v", got)
	}
	if req.GetAuth().GetPassword() != "p" {
		t.Fatal("redact modified the request the handler receives")
	}
}

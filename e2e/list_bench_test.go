package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// BenchmarkList110Pods is the kubelet's relist on a full node: 110 running
// pods, each a pause container and one app container, listed with
// ListPodSandbox and ListContainers through the real dockerd. Run with
// `make bench-e2e`; setup takes a minute or two.
func BenchmarkList110Pods(b *testing.B) {
	const pods = 110
	d := framework.StartDockercri(b)
	image := busybox(b, d)
	names := make([]string, pods)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%03d", i)
	}
	removePodsAfter(b, names...)
	start := time.Now()
	for _, n := range names {
		pod := podConfig(b, n)
		id := runPod(b, d, pod)
		createAndStart(b, d, id, pod, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"},
		})
	}
	b.Logf("created %d pods (%d containers) in %v", pods, 2*pods, time.Since(start).Round(time.Millisecond))
	ctx := framework.Context(b)
	b.Run("dockercri", func(b *testing.B) {
		for b.Loop() {
			pl, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
			if err != nil {
				b.Fatal(err)
			}
			cl, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
			if err != nil {
				b.Fatal(err)
			}
			if n := countPrefix(pl.GetItems(), "bench-"); n != pods || len(cl.GetContainers()) < pods {
				b.Fatalf("listed %d bench pods and %d containers, want %d", n, len(cl.GetContainers()), pods)
			}
		}
	})
	// The floor: the same two list calls straight to Docker's API.
	sock := strings.TrimPrefix(framework.LoadEnv(b).DockerHost, "unix://")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	b.Run("docker-api", func(b *testing.B) {
		for b.Loop() {
			for _, typ := range []string{"podsandbox", "container"} {
				filter := url.QueryEscape(`{"label":["io.kubernetes.docker.type=` + typ + `"]}`)
				resp, err := hc.Get("http://docker/v1.41/containers/json?all=1&filters=" + filter)
				if err != nil {
					b.Fatal(err)
				}
				var list []json.RawMessage
				err = json.NewDecoder(resp.Body).Decode(&list)
				resp.Body.Close()
				if err != nil || len(list) < pods {
					b.Fatalf("docker listed %d %s containers: %v", len(list), typ, err)
				}
			}
		}
	})
}

func countPrefix(items []*runtimeapi.PodSandbox, prefix string) int {
	n := 0
	for _, p := range items {
		if strings.HasPrefix(p.GetMetadata().GetName(), prefix) {
			n++
		}
	}
	return n
}

package e2e

// Smoke tests of the e2e environment itself (e2e/env/up.sh): they need no
// dockercri, so a failure here points at the environment, not the product.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"dockercri/e2e/framework"
)

var testImages = []string{"busybox", "busybox-uid", "busybox-user", "busybox-uidgid", "busybox-label"}

func TestEnvPrivateDockerd(t *testing.T) {
	env := framework.LoadEnv(t)
	if api := strings.TrimSpace(framework.Docker(t, "version", "--format", "{{.Server.APIVersion}}")); api == "" {
		t.Fatal("private dockerd reports no API version")
	}
	var info struct {
		ID, DockerRootDir, CgroupDriver, Driver string
	}
	if err := json.Unmarshal([]byte(framework.Docker(t, "info", "--format", "{{json .}}")), &info); err != nil {
		t.Fatal(err)
	}
	if info.DockerRootDir != env.DataRoot || info.CgroupDriver != "cgroupfs" {
		t.Fatalf("docker info: root %q driver %q, want %q and cgroupfs", info.DockerRootDir, info.CgroupDriver, env.DataRoot)
	}
	t.Logf("private dockerd %s: storage driver %s, data root %s", info.ID, info.Driver, info.DockerRootDir)
}

// TestEnvHostDockerUntouched checks the environment does not use the
// machine's own Docker at /var/run/docker.sock, if there is one.
func TestEnvHostDockerUntouched(t *testing.T) {
	env := framework.LoadEnv(t)
	const hostSock = "/var/run/docker.sock"
	if env.DockerHost == "unix://"+hostSock || !strings.HasPrefix(env.DockerHost, "unix:///run/dockercri-e2e/") {
		t.Fatalf("DOCKER_HOST = %s, want the private socket", env.DockerHost)
	}
	ours := dockerInfoOver(t, strings.TrimPrefix(env.DockerHost, "unix://"))
	if ours == nil {
		t.Fatal("private dockerd does not answer")
	}
	if _, err := os.Stat(hostSock); err != nil {
		t.Skipf("no host Docker (%v): nothing to compare", err)
	}
	host := dockerInfoOver(t, hostSock)
	if host == nil {
		t.Skipf("%s does not answer", hostSock)
	}
	if host.ID == ours.ID || host.DockerRootDir == ours.DockerRootDir {
		t.Fatalf("host Docker %+v is the e2e one %+v", host, ours)
	}
}

type dockerInfo struct{ ID, DockerRootDir string }

func dockerInfoOver(t *testing.T, sock string) *dockerInfo {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://docker/v1.41/info")
	if err != nil {
		t.Logf("%s: %v", sock, err)
		return nil
	}
	defer resp.Body.Close()
	var info dockerInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.ID == "" {
		t.Logf("%s: /info: %v", sock, err)
		return nil
	}
	return &info
}

func TestEnvRegistries(t *testing.T) {
	env := framework.LoadEnv(t)

	code, body := registryGet(t, env.Registry, "/v2/_catalog", "", "")
	if code != http.StatusOK {
		t.Fatalf("open registry catalog: %d %s", code, body)
	}
	for _, name := range append([]string{"pause"}, testImages...) {
		if !strings.Contains(body, `"`+name+`"`) {
			t.Errorf("open registry lacks %s: %s", name, body)
		}
	}

	if code, body := registryGet(t, env.AuthRegistry, "/v2/_catalog", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("auth registry without credentials: %d %s, want 401", code, body)
	}
	if code, _ := registryGet(t, env.AuthRegistry, "/v2/_catalog", env.AuthUser, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("auth registry with a wrong password: %d, want 401", code)
	}
	if code, body = registryGet(t, env.AuthRegistry, "/v2/_catalog", env.AuthUser, env.AuthPass); code != http.StatusOK {
		t.Fatalf("auth registry with credentials: %d %s", code, body)
	}
	for _, name := range testImages {
		if !strings.Contains(body, `"`+name+`"`) {
			t.Errorf("auth registry lacks %s: %s", name, body)
		}
	}

	// Every tag the tests pull is served as a v2 manifest.
	pauseName, pauseTag, _ := strings.Cut(strings.TrimPrefix(env.PauseImage, env.Registry+"/"), ":")
	if code, body := registryGet(t, env.Registry, "/v2/"+pauseName+"/manifests/"+pauseTag, "", ""); code != http.StatusOK {
		t.Errorf("%s: %d %s", env.PauseImage, code, body)
	}
	for _, name := range testImages {
		if code, body := registryGet(t, env.Registry, "/v2/"+name+"/manifests/1.36", "", ""); code != http.StatusOK {
			t.Errorf("%s/%s:1.36: %d %s", env.Registry, name, code, body)
		}
		if code, body := registryGet(t, env.AuthRegistry, "/v2/"+name+"/manifests/1.36", env.AuthUser, env.AuthPass); code != http.StatusOK {
			t.Errorf("%s/%s:1.36: %d %s", env.AuthRegistry, name, code, body)
		}
	}
}

func registryGet(t *testing.T, registry, path, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+registry+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEnvPauseImageRuns pulls the project's pause image into the private
// dockerd and runs it: as PID 1 of a shared PID namespace it reaps orphans,
// and `docker stop` ends it at once with exit code 0 (it handles SIGTERM).
// Images it pulled are removed again.
func TestEnvPauseImageRuns(t *testing.T) {
	env := framework.LoadEnv(t)
	busybox := env.Registry + "/busybox:1.36"
	local := strings.Fields(framework.Docker(t, "images", "--format", "{{.Repository}}:{{.Tag}}"))
	for _, ref := range []string{env.PauseImage, busybox} {
		framework.Docker(t, "pull", "-q", ref)
		if !slices.Contains(local, ref) {
			t.Cleanup(func() { framework.Docker(t, "rmi", ref) })
		}
	}
	id := strings.TrimSpace(framework.Docker(t, "run", "-d", "--name", "dockercri-e2e-envtest-pause", env.PauseImage))
	defer framework.Docker(t, "rm", "-f", id)

	// Orphans of a container sharing its PID namespace go to pause, which must reap them.
	ps := framework.Docker(t, "run", "--rm", "--pid", "container:"+id, busybox,
		"sh", "-c", "for i in 1 2 3; do (sleep 0.1 &); done; sleep 1; ps -o pid,stat,comm")
	if strings.Contains(ps, " Z ") || !strings.Contains(ps, "pause") {
		t.Errorf("zombies left in pause's PID namespace:\n%s", ps)
	}
	start := time.Now()
	framework.Docker(t, "stop", "-t", "10", id)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("docker stop took %v: pause ignored SIGTERM", took)
	}
	if code := strings.TrimSpace(framework.Docker(t, "inspect", "--format", "{{.State.ExitCode}}", id)); code != "0" {
		t.Errorf("pause exit code %s, want 0", code)
	}
}

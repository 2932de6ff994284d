package e2e

import (
	"fmt"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// A container whose environment and annotations hold a secret, an exec whose
// command holds it, and a pull with registry credentials: at dockercri's
// default verbosity and at -v 4 none of it reaches dockercri's log, while the
// log still says what was done.
func TestSecretsNeverLogged(t *testing.T) {
	env := framework.LoadEnv(t)
	for _, v := range []string{"0", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			marker := fmt.Sprintf("marker-secret-%s-%d", v, len(t.Name()))
			d := framework.StartDockercri(t, "-v", v)
			name := "secretlog" + v
			removePodsAfter(t, name)
			ctx := framework.Context(t)
			image := busybox(t, d)
			_, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{
				Image: spec(env.AuthRegistry + "/busybox:1.36"),
				Auth:  &runtimeapi.AuthConfig{Username: env.AuthUser, Password: env.AuthPass, ServerAddress: env.AuthRegistry},
			})
			if err != nil {
				t.Fatal(err)
			}
			pod := podConfig(t, name)
			podID := runPod(t, d, pod)
			cfg := &runtimeapi.ContainerConfig{
				Metadata:    &runtimeapi.ContainerMetadata{Name: "app"},
				Image:       spec(image),
				Command:     []string{"sleep", "3600"},
				Envs:        []*runtimeapi.KeyValue{{Key: "DB_PASSWORD", Value: marker}},
				Annotations: map[string]string{"token": marker},
				LogPath:     "app.log",
			}
			id := createAndStart(t, d, podID, pod, cfg)
			got, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "echo $DB_PASSWORD"}, Timeout: 10})
			if err != nil || strings.TrimSpace(string(got.GetStdout())) != marker {
				t.Fatalf("the container does not see its environment: %q, %v", got.GetStdout(), err)
			}
			// A command that fails, and one that times out, with the secret in them.
			_, _ = d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{marker}, Timeout: 10})
			_, _ = d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "5", marker}, Timeout: 1})
			for _, stop := range []func() error{
				func() error {
					_, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID})
					return err
				},
				func() error {
					_, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID})
					return err
				},
			} {
				if err := stop(); err != nil {
					t.Fatal(err)
				}
			}
			d.Stop()
			logs := d.LogContents()
			for _, secret := range []string{marker, env.AuthPass} {
				if strings.Contains(logs, secret) {
					t.Errorf("dockercri's log at -v %s holds %q:\n%s", v, secret, logs)
				}
			}
			if !strings.Contains(logs, "CreateContainer") || !strings.Contains(logs, `name="app"`) {
				t.Errorf("dockercri's log at -v %s does not say which container was created:\n%s", v, logs)
			}
		})
	}
}

package migrate

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The labels dockershim, cri-dockerd and dockercri put on the containers of
// a pod.
const (
	labelPodName      = "io.kubernetes.pod.name"
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodUID       = "io.kubernetes.pod.uid"
	labelContainer    = "io.kubernetes.container.name"
	labelDockerType   = "io.kubernetes.docker.type" // podsandbox | container
)

// hostPaths are host paths whose bind mount ties a container to Docker:
// the socket itself, the directories it lives in, Docker's data root, and
// the host's root that holds all of them.
var hostPaths = []string{"/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/var/lib/docker", "/"}

// dockerCLIPaths are where images install the Docker CLI.
var dockerCLIPaths = []string{"/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"}

// Kubernetes says whether a container was made for a pod through a
// dockershim-compatible CRI.
func Kubernetes(labels map[string]string) bool {
	return labels[labelDockerType] != "" || labels[labelPodUID] != ""
}

// ContainerObject names a container for a finding: its pod when it has one.
func ContainerObject(id string, name string, labels map[string]string) string {
	short := id
	if len(short) > 12 {
		short = short[:12]
	}
	if !Kubernetes(labels) {
		return fmt.Sprintf("container %s (%s)", strings.TrimPrefix(name, "/"), short)
	}
	pod := labels[labelPodNamespace] + "/" + labels[labelPodName]
	if labels[labelDockerType] == "podsandbox" {
		return fmt.Sprintf("pod %s sandbox (%s)", pod, short)
	}
	return fmt.Sprintf("pod %s container %s (%s)", pod, labels[labelContainer], short)
}

// CheckContainers reports the running containers that depend on Docker
// itself: they mount its socket or directories, point DOCKER_HOST at it,
// or run privileged with a Docker CLI inside.
func CheckContainers(ctx context.Context, d Docker) ([]Finding, error) {
	list, err := d.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var findings []Finding
	for _, c := range list.Items {
		res, err := d.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if errdefs.IsNotFound(err) {
			continue // gone since the list
		}
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", c.ID, err)
		}
		f, err := checkContainer(ctx, d, res.Container)
		if err != nil {
			return nil, err
		}
		findings = append(findings, f...)
	}
	return findings, nil
}

func checkContainer(ctx context.Context, d Docker, c container.InspectResponse) ([]Finding, error) {
	var labels map[string]string
	if c.Config != nil {
		labels = c.Config.Labels
	}
	obj := ContainerObject(c.ID, c.Name, labels)
	var findings []Finding
	for _, m := range c.Mounts {
		if m.Type != "bind" {
			continue
		}
		if p, ok := dockerHostPath(m.Source); ok {
			findings = append(findings, Finding{
				Severity: Blocker, Object: obj,
				What: fmt.Sprintf("mounts %s from the host at %s", p, m.Destination),
				CarryOver: "containerd has no Docker API: build images with BuildKit/kaniko, " +
					"or run Docker in the pod (DinD) and drop the host mount",
			})
		}
	}
	if c.Config != nil && setsDockerHost(c.Config.Env) {
		findings = append(findings, Finding{
			Severity: Blocker, Object: obj, What: "sets DOCKER_HOST",
			CarryOver: "point it at a Docker the pod runs itself, or stop using the Docker API",
		})
	}
	if c.HostConfig != nil && c.HostConfig.Privileged {
		cli, err := dockerCLI(ctx, d, c.ID)
		if err != nil {
			return nil, err
		}
		if cli != "" {
			findings = append(findings, Finding{
				Severity: Warning, Object: obj,
				What: "runs privileged with a Docker CLI inside (" + cli + ")",
				CarryOver: "a privileged container reaches the host's Docker even without the socket mount; " +
					"check it does not, or that it runs its own dockerd",
			})
		}
	}
	return findings, nil
}

// dockerHostPath returns the host path of hostPaths that source is or lies
// under; a socket named docker.sock anywhere counts too.
func dockerHostPath(source string) (string, bool) {
	clean := path.Clean(source)
	if path.Base(clean) == "docker.sock" {
		return clean, true
	}
	for _, p := range hostPaths {
		if clean == p || (p == "/var/lib/docker" && strings.HasPrefix(clean, p+"/")) {
			return clean, true
		}
	}
	return "", false
}

// setsDockerHost looks at the names only: values may hold secrets.
func setsDockerHost(env []string) bool {
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name == "DOCKER_HOST" {
			return true
		}
	}
	return false
}

// dockerCLI returns the first of dockerCLIPaths present in the container.
func dockerCLI(ctx context.Context, d Docker, id string) (string, error) {
	for _, p := range dockerCLIPaths {
		_, err := d.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: p})
		if err == nil {
			return p, nil
		}
		if !errdefs.IsNotFound(err) {
			return "", fmt.Errorf("stat %s in container %s: %w", p, id, err)
		}
	}
	return "", nil
}

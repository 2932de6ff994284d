package shim

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"dockercri/translate"
)

// The shared lookups: every RPC finds Docker's containers and images through
// these, so that "a container of ours" means one thing everywhere.
//
// A container is ours, of a kind, when its io.kubernetes.docker.type label
// says that kind (translate.ContainerTypeSandbox or ContainerTypeContainer)
// and its name parses in the dockershim scheme (translate/naming.go). Both
// are needed: Docker merges an image's LABELs into its containers' labels,
// so the label alone could be an image's; the name is what dockercri (or
// dockershim, or cri-dockerd) chose. Anything else, a stranger's container
// or one of another kind, is reported as absent, never as an error.
//
// An image is found under the name it is asked by or, for a digest pulled
// through a registry mirror, under the mirror's name (image_mirror.go).

// kindName is how messages name a kind of container.
var kindName = map[string]string{
	translate.ContainerTypeSandbox:   "pod sandbox",
	translate.ContainerTypeContainer: "container",
}

// inspectOurs inspects id (or a unique prefix of it). found is false when
// Docker has no such container or it is not ours of this kind; err is
// Docker's failure only.
func inspectOurs(ctx context.Context, d Docker, kind, id string) (in container.InspectResponse, found bool, err error) {
	res, err := d.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	in = res.Container
	if cerrdefs.IsNotFound(err) {
		return in, false, nil
	}
	if err != nil {
		return in, false, fmt.Errorf("inspect %s %s: %w", kindName[kind], id, err)
	}
	if in.Config == nil || translate.ParseLabels(in.Config.Labels).Type != kind {
		return in, false, nil
	}
	if kind == translate.ContainerTypeSandbox {
		_, err = translate.ParseSandboxName(in.Name)
	} else {
		_, _, err = translate.ParseContainerName(in.Name)
	}
	return in, err == nil, nil
}

// inspectSandbox inspects a pod sandbox of ours; an empty id is the caller's
// error.
func (s *Service) inspectSandbox(ctx context.Context, id string) (container.InspectResponse, bool, error) {
	if id == "" {
		return container.InspectResponse{}, false, invalidArgument("empty pod sandbox id")
	}
	return inspectOurs(ctx, s.docker, translate.ContainerTypeSandbox, id)
}

// inspectContainer inspects an app container of ours.
func (s *Service) inspectContainer(ctx context.Context, id string) (container.InspectResponse, bool, error) {
	return inspectOurs(ctx, s.docker, translate.ContainerTypeContainer, id)
}

// runningOurs inspects a container of ours, of this kind, that must be
// running: absent is NotFound, not running FailedPrecondition.
func runningOurs(ctx context.Context, d Docker, kind, id string) (container.InspectResponse, error) {
	in, found, err := inspectOurs(ctx, d, kind, id)
	if err != nil {
		return in, err
	}
	if !found {
		return in, notFound("%s %q", kindName[kind], id)
	}
	if in.State == nil || !in.State.Running || in.State.Pid <= 0 {
		state := container.ContainerState("unknown")
		if in.State != nil {
			state = in.State.Status
		}
		return in, failedPrecondition("%s %s is not running (%s)", kindName[kind], id, state)
	}
	return in, nil
}

// listOurs lists the containers labelled as ours of this kind ("" for both
// kinds), running ones only unless all, narrowed by extra filters. Callers
// still parse each entry's labels: the label filter is Docker's, and an
// image can set the label.
func listOurs(ctx context.Context, d Docker, kind string, all bool, extra ...filterTerm) ([]container.Summary, error) {
	typ := translate.LabelContainerType
	if kind != "" {
		typ += "=" + kind
	}
	f := make(client.Filters).Add("label", typ)
	for _, t := range extra {
		f.Add(t.term, t.value)
	}
	if !all {
		f.Add("status", "running")
	}
	res, err := d.ContainerList(ctx, client.ContainerListOptions{All: all, Filters: f})
	return res.Items, err
}

// filterTerm is one term of a Docker list filter ("label", "key=value").
type filterTerm struct{ term, value string }

func filterArg(term, value string) filterTerm { return filterTerm{term: term, value: value} }

// narrowTo is the Docker filter for a CRI filter's container or pod id (an
// id or an id prefix) and, for app containers, its pod sandbox id. A sandbox
// id that is not a whole Docker id is left to the caller's own match: Docker
// compares labels exactly.
func narrowTo(id, podSandboxID string) []filterTerm {
	var args []filterTerm
	if id != "" {
		args = append(args, filterArg("id", id))
	}
	if dockerID.MatchString(podSandboxID) {
		args = append(args, filterArg("label", translate.LabelSandboxID+"="+podSandboxID))
	}
	return args
}

// inspectImage inspects an image by the name it is asked by or, failing
// that, by its mirror's name. found is false when Docker has it under
// neither.
func (s *Service) inspectImage(ctx context.Context, ref string) (image.InspectResponse, bool, error) {
	res, err := s.docker.ImageInspect(ctx, ref)
	if mref, ok := s.mirrorName(ref); ok && cerrdefs.IsNotFound(err) {
		res, err = s.docker.ImageInspect(ctx, mref)
	}
	if cerrdefs.IsNotFound(err) {
		return res.InspectResponse, false, nil
	}
	if err != nil {
		return res.InspectResponse, false, fmt.Errorf("inspect image %q: %w", ref, err)
	}
	return res.InspectResponse, true, nil
}

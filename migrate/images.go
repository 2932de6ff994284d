package migrate

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Image is a Docker image the migration cares about.
type Image struct {
	ID          string   `json:"id"` // sha256:..., Docker's image ID
	RepoTags    []string `json:"repoTags,omitempty"`
	RepoDigests []string `json:"repoDigests,omitempty"`
	Size        int64    `json:"size"`
	// UsedBy names the containers and static pods that use it.
	UsedBy []string `json:"usedBy,omitempty"`
}

// Name is the image's first tag, else its ID.
func (i Image) Name() string {
	if len(i.RepoTags) > 0 {
		return i.RepoTags[0]
	}
	if len(i.RepoDigests) > 0 {
		return i.RepoDigests[0]
	}
	return i.ID
}

// ImageStore is what the migration needs of containerd's image store.
type ImageStore interface {
	// Digests returns every target and config digest of the namespace's
	// images, so that a Docker image ID (a config digest in Docker's
	// classic store, a manifest or index digest in its containerd store)
	// can be looked up in it.
	Digests(ctx context.Context) (map[string]bool, error)
}

// Selection says which images UsedImages returns.
type Selection struct {
	// AllContainers takes stopped Kubernetes containers too, not only running ones.
	AllContainers bool
	// AllImages takes every image Docker has.
	AllImages bool
	// StaticPodImages are the images of the static pod manifests.
	StaticPodImages []string
}

// UsedImages returns the Docker images that Kubernetes containers and static
// pods use (every image with AllImages), by ID, and the static pod images
// Docker does not have. Containers Kubernetes did not make are left out:
// they will not run under containerd's CRI anyway.
func UsedImages(ctx context.Context, d Docker, sel Selection) ([]Image, []string, error) {
	list, err := d.ImageList(ctx, client.ImageListOptions{All: false})
	if err != nil {
		return nil, nil, fmt.Errorf("list images: %w", err)
	}
	byID := map[string]*Image{}
	for _, s := range list.Items {
		byID[s.ID] = &Image{ID: s.ID, RepoTags: realTags(s.RepoTags), RepoDigests: realTags(s.RepoDigests), Size: s.Size}
	}
	used := map[string]bool{}
	if sel.AllImages {
		for id := range byID {
			used[id] = true
		}
	}
	containers, err := d.ContainerList(ctx, client.ContainerListOptions{All: sel.AllContainers})
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range containers.Items {
		img := byID[c.ImageID]
		if !Kubernetes(c.Labels) || img == nil {
			continue
		}
		used[c.ImageID] = true
		name := ""
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		img.UsedBy = append(img.UsedBy, ContainerObject(c.ID, name, c.Labels))
	}
	var missing []string
	for _, ref := range sel.StaticPodImages {
		res, err := d.ImageInspect(ctx, ref)
		if errdefs.IsNotFound(err) {
			missing = append(missing, ref)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("inspect image %s: %w", ref, err)
		}
		if img := byID[res.ID]; img != nil {
			used[res.ID] = true
			img.UsedBy = append(img.UsedBy, "static pod image "+ref)
		}
	}
	out := make([]Image, 0, len(used))
	for id := range used {
		img, err := withAllNames(ctx, d, *byID[id])
		if errdefs.IsNotFound(err) {
			continue // removed since the list: nothing to carry over
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, missing, nil
}

// withAllNames takes an image's tags and repo digests from its inspection.
// Docker's list is not enough: in its containerd image store (Docker 29)
// an image listed once for several records carries the repo digest of one
// record only, while the inspection names one per repository.
func withAllNames(ctx context.Context, d Docker, img Image) (Image, error) {
	res, err := d.ImageInspect(ctx, img.ID)
	if err != nil {
		return img, fmt.Errorf("inspect image %s: %w", img.ID, err)
	}
	img.RepoTags = union(img.RepoTags, realTags(res.RepoTags))
	img.RepoDigests = union(img.RepoDigests, realTags(res.RepoDigests))
	return img, nil
}

// realTags drops the "<none>:<none>" and "<none>@<none>" placeholders
// Docker 20.10 lists for untagged images.
func realTags(refs []string) []string {
	var out []string
	for _, r := range refs {
		if !strings.HasPrefix(r, "<none>") {
			out = append(out, r)
		}
	}
	return out
}

// CheckImages reports the images in use that containerd lacks. An image
// no registry has (built or loaded locally) is a blocker: containerd could
// never pull it and its pods would not start.
func CheckImages(ctx context.Context, d Docker, store ImageStore, sel Selection) ([]Finding, error) {
	imgs, missing, err := UsedImages(ctx, d, sel)
	if err != nil {
		return nil, err
	}
	have, err := store.Digests(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerd images: %w", err)
	}
	info, err := d.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	containerdStore := usesContainerdStore(info.Info)
	var findings []Finding
	for _, img := range imgs {
		if have[img.ID] {
			continue
		}
		f := Finding{
			Severity: Warning, Object: fmt.Sprintf("image %s (%s)", img.Name(), shortID(img.ID)),
			What:      "only in Docker; used by " + strings.Join(img.UsedBy, ", "),
			CarryOver: "dockercri-migrate images (else containerd pulls it again)",
		}
		why, err := notInRegistry(ctx, d, img, containerdStore)
		if err != nil {
			return nil, err
		}
		if why != "" {
			f.Severity = Blocker
			f.What = "only in Docker and in no registry (" + why + "); used by " + strings.Join(img.UsedBy, ", ")
			f.CarryOver = "dockercri-migrate images, or push it to a registry"
		}
		findings = append(findings, f)
	}
	for _, ref := range missing {
		findings = append(findings, Finding{
			Severity: Info, Object: "static pod image " + ref,
			What:      "not in Docker's store either",
			CarryOver: "containerd pulls it when the static pod starts",
		})
	}
	return findings, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// NotIn returns the images store lacks.
func NotIn(ctx context.Context, store ImageStore, imgs []Image) ([]Image, error) {
	have, err := store.Digests(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerd images: %w", err)
	}
	var out []Image
	for _, img := range imgs {
		if !have[img.ID] {
			out = append(out, img)
		}
	}
	return out, nil
}

// WritePlan lists what `images` would copy (its --dry-run).
func WritePlan(w io.Writer, imgs []Image) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tID\tSIZE\tNAMES\tUSED BY")
	var total int64
	for _, img := range imgs {
		names := append(append([]string(nil), img.RepoTags...), img.RepoDigests...)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", img.Name(), shortID(img.ID), img.Size,
			strings.Join(names, ","), orDefault(strings.Join(img.UsedBy, ", "), "-"))
		total += img.Size
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	_, err := fmt.Fprintf(w, "would copy %d image(s), about %d bytes\n", len(imgs), total)
	return err
}

package translate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

/*
Naming and labelling scheme: the contract with dockershim and cri-dockerd.

Pods and containers that dockershim or cri-dockerd created on a node must be
adopted as they are, so names and labels follow dockershim exactly.

Docker container names (Docker shows them with a leading "/", dropped on
parse):

	pod sandbox (pause)  k8s_POD_<pod>_<namespace>_<uid>_<attempt>
	app container        k8s_<container>_<pod>_<namespace>_<uid>_<attempt>

where <attempt> is the sandbox's attempt for the pause container and the
container's own attempt for an app container. When a name is already taken
by a running container (a leftover the shim cannot remove) a seventh part,
"_<suffix>", is appended; parsing tolerates it, as dockershim's did. Name
parts may not contain "_" and must use Docker's name alphabet, so a name
always parses back to the metadata it was made from.

Docker labels on both kinds of container:

	io.kubernetes.docker.type        "podsandbox" or "container"
	io.kubernetes.sandbox.id         app containers: the pause container's ID
	io.kubernetes.container.logpath  app containers: the CRI log file, when set
	<key>                            each CRI label, as it is
	annotation.<key>                 each CRI annotation
	io.dockercri.label.<key>         a CRI label whose key would be misread
	                                 as one of the above (see below)
	io.dockercri.keys                the manifest (see below)

Docker merges an image's LABELs into its containers' labels, so a label on a
container may come from an untrusted image. dockercri therefore records in
the manifest label, as a JSON array, every label key it set itself; when the
manifest is present only those keys are read, and an image LABEL such as
io.kubernetes.container.logpath or annotation.x changes nothing. Containers
without a manifest come from dockershim or cri-dockerd and are read as they
did (every key; the image's labels included, as they were then).

A CRI label whose key is one of the io.kubernetes keys above, starts with
"annotation." or starts with "io.dockercri." cannot be stored as it is
without being misread (dockershim lost such labels); dockercri stores it
under io.dockercri.label.<key> and reads it back unchanged.
*/

// Docker label keys and values of the scheme above.
const (
	LabelContainerType     = "io.kubernetes.docker.type"
	LabelSandboxID         = "io.kubernetes.sandbox.id"
	LabelLogPath           = "io.kubernetes.container.logpath"
	LabelManifest          = "io.dockercri.keys"
	ContainerTypeSandbox   = "podsandbox"
	ContainerTypeContainer = "container"

	annotationPrefix   = "annotation."
	ownPrefix          = "io.dockercri."
	escapedLabelPrefix = "io.dockercri.label."
)

const (
	namePrefix      = "k8s"
	sandboxNamePart = "POD"
	nameDelimiter   = "_"
)

// namePart is what a part of a Docker container name may hold: Docker's
// name alphabet without the delimiter.
var namePart = regexp.MustCompile(`^[a-zA-Z0-9.-]*$`)

func checkNamePart(what, v string, required bool) error {
	if required && v == "" {
		return cfgInvalid("empty %s in metadata", what)
	}
	if !namePart.MatchString(v) {
		return cfgInvalid("%s %q: only letters, digits, '.' and '-' are allowed", what, v)
	}
	return nil
}

func checkSandboxMeta(m *runtimeapi.PodSandboxMetadata) error {
	if m == nil {
		return cfgInvalid("pod sandbox config without metadata")
	}
	if err := checkNamePart("pod name", m.GetName(), true); err != nil {
		return err
	}
	if err := checkNamePart("pod namespace", m.GetNamespace(), false); err != nil {
		return err
	}
	return checkNamePart("pod uid", m.GetUid(), false)
}

// SandboxName is the Docker name of a pod's pause container.
func SandboxName(m *runtimeapi.PodSandboxMetadata) (string, error) {
	if err := checkSandboxMeta(m); err != nil {
		return "", err
	}
	return strings.Join([]string{namePrefix, sandboxNamePart, m.GetName(), m.GetNamespace(), m.GetUid(),
		strconv.FormatUint(uint64(m.GetAttempt()), 10)}, nameDelimiter), nil
}

// ContainerName is the Docker name of an app container of the pod sb.
func ContainerName(sb *runtimeapi.PodSandboxMetadata, c *runtimeapi.ContainerMetadata) (string, error) {
	if err := checkSandboxMeta(sb); err != nil {
		return "", err
	}
	if c == nil {
		return "", cfgInvalid("container config without metadata")
	}
	if err := checkNamePart("container name", c.GetName(), true); err != nil {
		return "", err
	}
	if c.GetName() == sandboxNamePart {
		return "", cfgInvalid("container name %q is reserved for the pod sandbox", c.GetName())
	}
	return strings.Join([]string{namePrefix, c.GetName(), sb.GetName(), sb.GetNamespace(), sb.GetUid(),
		strconv.FormatUint(uint64(c.GetAttempt()), 10)}, nameDelimiter), nil
}

// WithConflictSuffix is name with the seventh part that makes it unique.
func WithConflictSuffix(name, suffix string) string {
	return name + nameDelimiter + suffix
}

func splitName(name string) ([]string, uint32, error) {
	name = strings.TrimPrefix(name, "/")
	parts := strings.Split(name, nameDelimiter)
	if len(parts) != 6 && len(parts) != 7 {
		return nil, 0, fmt.Errorf("%w: %q is not a Kubernetes container name", ErrInvalidConfig, name)
	}
	if parts[0] != namePrefix {
		return nil, 0, fmt.Errorf("%w: %q is not managed by Kubernetes", ErrInvalidConfig, name)
	}
	attempt, err := strconv.ParseUint(parts[5], 10, 32)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: attempt in name %q: %v", ErrInvalidConfig, name, err)
	}
	return parts, uint32(attempt), nil
}

// ParseSandboxName reads a pod's metadata back from its pause container's
// name.
func ParseSandboxName(name string) (*runtimeapi.PodSandboxMetadata, error) {
	parts, attempt, err := splitName(name)
	if err != nil {
		return nil, err
	}
	if parts[1] != sandboxNamePart {
		return nil, fmt.Errorf("%w: %q is not a pod sandbox name", ErrInvalidConfig, name)
	}
	return &runtimeapi.PodSandboxMetadata{Name: parts[2], Namespace: parts[3], Uid: parts[4], Attempt: attempt}, nil
}

// ParseContainerName reads the pod's metadata (without its attempt, which
// the name does not hold) and the container's back from an app container's
// name.
func ParseContainerName(name string) (*runtimeapi.PodSandboxMetadata, *runtimeapi.ContainerMetadata, error) {
	parts, attempt, err := splitName(name)
	if err != nil {
		return nil, nil, err
	}
	if parts[1] == sandboxNamePart || parts[1] == "" {
		return nil, nil, fmt.Errorf("%w: %q is not an app container name", ErrInvalidConfig, name)
	}
	return &runtimeapi.PodSandboxMetadata{Name: parts[2], Namespace: parts[3], Uid: parts[4]},
		&runtimeapi.ContainerMetadata{Name: parts[1], Attempt: attempt}, nil
}

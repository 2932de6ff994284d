package translate

import (
	"regexp"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// dockerName is Docker's container name syntax (daemon/names): a name
// outside it is refused by Docker.
var dockerName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func fuzzCheckDockerName(t *testing.T, name string) {
	t.Helper()
	if !dockerName.MatchString(name) {
		t.Fatalf("name %q is not a Docker container name", name)
	}
}

// FuzzNames checks the dockershim naming scheme both ways. Encoding: any
// metadata SandboxName or ContainerName accepts makes a Docker-valid name
// that parses back to exactly that metadata (with or without a conflict
// suffix and Docker's leading "/"), as the right kind of container only;
// anything else is refused as ErrInvalidConfig. Parsing (raw, any string,
// as found on a node): what parses has no part containing the delimiter,
// parses as one kind only, and, when its parts are ones the encoder
// accepts, encodes back to a name that parses to the same metadata.
func FuzzNames(f *testing.F) {
	f.Add("web", "default", "1-2", uint32(3), "app", uint32(0), "0123abcd", "k8s_app_web_default_1-2_0")
	f.Add("web.x-1", "kube-system", "0f8e-77", uint32(4294967295), "side-car", uint32(9), "", "/k8s_POD_web_default_1-2_3_0123abcd")
	f.Add("a_b", "n", "u", uint32(0), "POD", uint32(0), "x_y", "k8s_POD_a_b_c_-1")
	f.Add("", "", "", uint32(0), "", uint32(0), "", "k8s__a_b_c_1")
	f.Add("../..", "ns/x", "ü", uint32(1), "c\x00", uint32(1), "..", "k8s_POD_web_default_uid_007")
	f.Add("POD", "k8s", "k8s", uint32(1), "k8s", uint32(2), "POD", "k8s_POD_POD_k8s_k8s_1_POD")
	f.Fuzz(func(t *testing.T, pod, ns, uid string, attempt uint32, ctr string, ctrAttempt uint32, suffix, raw string) {
		sb := &runtimeapi.PodSandboxMetadata{Name: pod, Namespace: ns, Uid: uid, Attempt: attempt}
		c := &runtimeapi.ContainerMetadata{Name: ctr, Attempt: ctrAttempt}
		fuzzCheckSandboxName(t, sb)
		fuzzCheckContainerName(t, sb, c)
		if name, err := SandboxName(sb); err == nil && checkNamePart("suffix", suffix, true) == nil {
			back, err := ParseSandboxName(WithConflictSuffix(name, suffix))
			if err != nil || !fuzzSameKnown(back, sb) {
				t.Fatalf("%q with suffix %q parses back to %v, %v; want %v", name, suffix, back, err, sb)
			}
		}
		fuzzCheckParsedName(t, raw)
	})
}

// fuzzCheckContainerName is fuzzCheckSandboxName for app containers, whose
// names do not carry the pod's attempt.
func fuzzCheckContainerName(t *testing.T, sb *runtimeapi.PodSandboxMetadata, c *runtimeapi.ContainerMetadata) {
	t.Helper()
	name, err := ContainerName(sb, c)
	if err != nil {
		fuzzClassified(t, "ContainerName", err)
		return
	}
	fuzzCheckDockerName(t, name)
	for _, n := range []string{name, "/" + name, WithConflictSuffix(name, "0123abcd")} {
		gotSb, gotC, err := ParseContainerName(n)
		wantSb := &runtimeapi.PodSandboxMetadata{Name: sb.GetName(), Namespace: sb.GetNamespace(), Uid: sb.GetUid()}
		if err != nil || !fuzzSameKnown(gotSb, wantSb) || !fuzzSameKnown(gotC, c) {
			t.Fatalf("ContainerName(%v, %v) = %q parses back to %v, %v, %v", sb, c, n, gotSb, gotC, err)
		}
		if _, err := ParseSandboxName(n); err == nil {
			t.Fatalf("container name %q parses as a sandbox's", n)
		}
	}
}

func fuzzCheckParsedName(t *testing.T, raw string) {
	t.Helper()
	sb, sbErr := ParseSandboxName(raw)
	psb, pc, cErr := ParseContainerName(raw)
	switch {
	case sbErr == nil && cErr == nil:
		t.Fatalf("%q parses as both a sandbox and an app container", raw)
	case sbErr != nil && cErr != nil:
		fuzzClassified(t, "ParseSandboxName", sbErr)
		fuzzClassified(t, "ParseContainerName", cErr)
		return
	}
	for _, part := range []string{sb.GetName(), sb.GetNamespace(), sb.GetUid(), psb.GetName(), psb.GetNamespace(), psb.GetUid(), pc.GetName()} {
		if strings.Contains(part, nameDelimiter) {
			t.Fatalf("%q parsed to a part %q holding the delimiter", raw, part)
		}
	}
	if sbErr == nil {
		if again, err := SandboxName(sb); err == nil {
			if back, err := ParseSandboxName(again); err != nil || !fuzzSameKnown(back, sb) {
				t.Fatalf("%q → %v → %q → %v, %v", raw, sb, again, back, err)
			}
		}
		return
	}
	if again, err := ContainerName(psb, pc); err == nil {
		if bsb, bc, err := ParseContainerName(again); err != nil || !fuzzSameKnown(bsb, psb) || !fuzzSameKnown(bc, pc) {
			t.Fatalf("%q → %v %v → %q → %v %v, %v", raw, psb, pc, again, bsb, bc, err)
		}
	}
}

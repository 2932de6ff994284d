package translate

import (
	"maps"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// FuzzListFilters checks what the kubelet's relist sees. A pause container
// and an app container made by the shim from any metadata, labels and
// annotations (plus an image LABEL Docker merged in) are listed back with
// exactly that metadata, labels, annotations and sandbox id, each as its own
// kind only. The filters: no filter and a filter by the object's own id
// prefix, state and a subset of its labels select it; a filter by another
// state, by a label value it lacks, or by an internal label key (which is
// never one of its CRI labels unless the user gave it) does not.
func FuzzListFilters(f *testing.F) {
	f.Add("web", "default", "uid", uint32(1), "app", "app", "web", "kubernetes.io/config.seen", "now", LabelContainerType, ContainerTypeSandbox, "0123", "running")
	f.Add("p", "", "", uint32(0), "c", LabelContainerType, ContainerTypeContainer, LabelSandboxID, "victim", LabelManifest, "[]", "", "exited")
	f.Add("a.b-c", "kube-system", "0f8e-77", uint32(4294967295), "side-car", "annotation.x", "y", "x", "", "annotation.app", "from image", "ffff", "created")
	f.Add("p", "n", "u", uint32(2), "c", "io.dockercri.label.k", "v", "", "empty", "io.dockercri.label.k", "image", "0", "dead")
	f.Fuzz(func(t *testing.T, pod, ns, uid string, attempt uint32, ctr, lk, lv, ak, av, imageKey, imageVal, idPrefix, state string) {
		if !fuzzValidUTF8(lk, lv, ak, av) {
			return // see fuzzValidUTF8
		}
		sbCfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: pod, Namespace: ns, Uid: uid, Attempt: attempt},
			Labels:   map[string]string{lk: lv}, Annotations: map[string]string{ak: av},
		}
		ctrCfg := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: ctr, Attempt: attempt},
			Labels:   map[string]string{lk: lv}, Annotations: map[string]string{ak: av},
		}
		sbSum, ok := fuzzSummary(t, "sb-"+hex64, sbCfg, nil, imageKey, imageVal, state)
		if !ok {
			return
		}
		ctrSum, ok := fuzzSummary(t, "c-"+hex64, sbCfg, ctrCfg, imageKey, imageVal, state)
		fuzzCheckListedSandbox(t, sbSum, sbCfg, idPrefix)
		if ok {
			fuzzCheckListedContainer(t, ctrSum, sbCfg, ctrCfg, idPrefix)
		}
	})
}

// fuzzSummary makes the list entry Docker would give for a container the
// shim created from the configs (ctr nil: the pause container); ok is false
// when the shim would have refused them.
func fuzzSummary(t *testing.T, id string, sb *runtimeapi.PodSandboxConfig, ctr *runtimeapi.ContainerConfig, imageKey, imageVal, state string) (container.Summary, bool) {
	t.Helper()
	var name string
	var labels map[string]string
	var err error
	if ctr == nil {
		if name, err = SandboxName(sb.GetMetadata()); err == nil {
			labels, err = SandboxLabels(sb)
		}
	} else {
		if name, err = ContainerName(sb.GetMetadata(), ctr.GetMetadata()); err == nil {
			labels, err = ContainerLabels(ctr, "sb-"+hex64, "/var/log/pods/x/0.log")
		}
	}
	if err != nil {
		fuzzClassified(t, "names and labels", err)
		return container.Summary{}, false
	}
	merged := map[string]string{imageKey: imageVal}
	maps.Copy(merged, labels)
	return container.Summary{ID: id, Names: []string{"/" + name}, State: container.ContainerState(state), Created: 1795341600, Labels: merged}, true
}

func fuzzCheckListedSandbox(t *testing.T, s container.Summary, cfg *runtimeapi.PodSandboxConfig, idPrefix string) {
	t.Helper()
	sb, err := SandboxFromSummary(s)
	if err != nil {
		t.Fatalf("SandboxFromSummary(%+v): %v", s, err)
	}
	if !fuzzSameKnown(sb.GetMetadata(), cfg.GetMetadata()) || !fuzzMapEqual(sb.GetLabels(), cfg.GetLabels()) || !fuzzMapEqual(sb.GetAnnotations(), cfg.GetAnnotations()) {
		t.Fatalf("sandbox %v listed as %v", cfg, sb)
	}
	if _, err := ContainerFromSummary(s); err == nil {
		t.Fatalf("pause container %+v listed as an app container", s)
	}
	state := &runtimeapi.PodSandboxStateValue{State: sb.GetState()}
	other := &runtimeapi.PodSandboxStateValue{State: 1 - sb.GetState()}
	for _, f := range []*runtimeapi.PodSandboxFilter{nil, {}, {Id: sb.GetId()}, {Id: fuzzIDPrefix(sb.GetId(), idPrefix)}, {State: state}, {LabelSelector: cfg.GetLabels()}} {
		if !MatchSandbox(f, sb) {
			t.Fatalf("filter %v does not select sandbox %v", f, sb)
		}
	}
	for _, f := range fuzzExcluding(cfg.GetLabels()) {
		if MatchSandbox(&runtimeapi.PodSandboxFilter{LabelSelector: f}, sb) {
			t.Fatalf("label selector %v selects sandbox %v", f, sb)
		}
	}
	if MatchSandbox(&runtimeapi.PodSandboxFilter{State: other}, sb) || MatchSandbox(&runtimeapi.PodSandboxFilter{Id: sb.GetId() + "x"}, sb) {
		t.Fatalf("another state or id selects sandbox %v", sb)
	}
}

func fuzzCheckListedContainer(t *testing.T, s container.Summary, sbCfg *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig, idPrefix string) {
	t.Helper()
	c, err := ContainerFromSummary(s)
	if err != nil {
		t.Fatalf("ContainerFromSummary(%+v): %v", s, err)
	}
	if !fuzzSameKnown(c.GetMetadata(), cfg.GetMetadata()) || c.GetPodSandboxId() != "sb-"+hex64 ||
		!fuzzMapEqual(c.GetLabels(), cfg.GetLabels()) || !fuzzMapEqual(c.GetAnnotations(), cfg.GetAnnotations()) {
		t.Fatalf("container %v of %v listed as %v", cfg, sbCfg.GetMetadata(), c)
	}
	if _, err := SandboxFromSummary(s); err == nil {
		t.Fatalf("app container %+v listed as a pod sandbox", s)
	}
	state := &runtimeapi.ContainerStateValue{State: c.GetState()}
	other := &runtimeapi.ContainerStateValue{State: (c.GetState() + 1) % 4}
	for _, f := range []*runtimeapi.ContainerFilter{nil, {}, {Id: fuzzIDPrefix(c.GetId(), idPrefix)}, {PodSandboxId: "sb-"}, {State: state}, {LabelSelector: cfg.GetLabels()}} {
		if !MatchContainer(f, c) {
			t.Fatalf("filter %v does not select container %v", f, c)
		}
	}
	for _, f := range fuzzExcluding(cfg.GetLabels()) {
		if MatchContainer(&runtimeapi.ContainerFilter{LabelSelector: f}, c) {
			t.Fatalf("label selector %v selects container %v", f, c)
		}
	}
	if MatchContainer(&runtimeapi.ContainerFilter{State: other}, c) || MatchContainer(&runtimeapi.ContainerFilter{PodSandboxId: "c-"}, c) {
		t.Fatalf("another state or sandbox selects container %v", c)
	}
}

// fuzzIDPrefix is the longest prefix of id that is also a prefix of p.
func fuzzIDPrefix(id, p string) string {
	n := 0
	for n < len(id) && n < len(p) && id[n] == p[n] {
		n++
	}
	return id[:n]
}

// fuzzExcluding are label selectors the labels do not satisfy: each label
// with another value, and each internal key the user did not set as a label.
func fuzzExcluding(labels map[string]string) []map[string]string {
	var out []map[string]string
	for k, v := range labels {
		out = append(out, map[string]string{k: v + "x"})
	}
	for _, k := range []string{LabelContainerType, LabelSandboxID, LabelLogPath, LabelManifest} {
		if _, ok := labels[k]; !ok {
			out = append(out, map[string]string{k: ContainerTypeSandbox}, map[string]string{k: ContainerTypeContainer}, map[string]string{k: ""})
		}
	}
	return out
}

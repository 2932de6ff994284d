package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The supplemental groups policy on the real dockerd, with critest's
// test-image-predefined-group (e2e/env/critest-images.sh): default-user
// (uid 1000, group 1000) is a member of group 50000 in the image's
// /etc/group. critest checks Merge with an implicit group and Strict; this
// also checks what dockershim got wrong: Merge with run_as_group keeps the
// image's memberships.
func TestSupplementalGroupsPolicy(t *testing.T) {
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := framework.LoadEnv(t).Registry + "/gcr/k8s-staging-cri-tools/test-image-predefined-group:latest"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)}); err != nil {
		t.Fatalf("%v: run e2e/env/critest-images.sh first (make e2e does)", err)
	}
	removePodsAfter(t, "groups")
	pod := podConfig(t, "groups")
	podID := runPod(t, d, pod)

	uid := func(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }
	tests := []struct {
		name       string
		give       *runtimeapi.LinuxContainerSecurityContext
		wantGID    int64
		wantGroups []int64 // sorted
	}{
		{name: "merge", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: uid(1000), SupplementalGroups: []int64{1234}},
			wantGID: 1000, wantGroups: []int64{1000, 1234, 50000}},
		{name: "merge-with-group", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: uid(1000), RunAsGroup: uid(3000), SupplementalGroups: []int64{1234}},
			wantGID: 3000, wantGroups: []int64{1234, 3000, 50000}},
		{name: "strict", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: uid(1000), SupplementalGroups: []int64{1234},
			SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}, wantGID: 1000, wantGroups: []int64{1000, 1234}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: tt.name}, Image: spec(ref),
				Command: []string{"sleep", "3600"},
				Linux:   &runtimeapi.LinuxContainerConfig{SecurityContext: tt.give},
			})
			st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
			if err != nil {
				t.Fatal(err)
			}
			u := st.GetStatus().GetUser().GetLinux()
			if u.GetUid() != 1000 || u.GetGid() != tt.wantGID || !slices.Equal(sorted(u.GetSupplementalGroups()), tt.wantGroups) {
				t.Errorf("status user = %v, want uid 1000, gid %d, groups %v", u, tt.wantGID, tt.wantGroups)
			}
			out, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"id", "-G"}, Timeout: 30})
			if err != nil || out.GetExitCode() != 0 {
				t.Fatalf("id -G: %v, exit %d, stderr %q", err, out.GetExitCode(), out.GetStderr())
			}
			var got []int64
			for _, f := range strings.Fields(string(out.GetStdout())) {
				g, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					t.Fatalf("id -G printed %q", out.GetStdout())
				}
				if !slices.Contains(got, g) {
					got = append(got, g)
				}
			}
			if !slices.Equal(sorted(got), tt.wantGroups) {
				t.Errorf("id -G in the container = %q, want the groups %v", strings.TrimSpace(string(out.GetStdout())), tt.wantGroups)
			}
		})
	}
}

// A user the image lacks, under a policy that reads the image's accounts:
// InvalidArgument, and no container (scratch or not) left in Docker.
func TestSupplementalGroupsPolicyUnknownUser(t *testing.T) {
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := framework.LoadEnv(t).Registry + "/gcr/k8s-staging-cri-tools/test-image-predefined-group:latest"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)}); err != nil {
		t.Fatalf("%v: run e2e/env/critest-images.sh first (make e2e does)", err)
	}
	removePodsAfter(t, "groups-bad")
	pod := podConfig(t, "groups-bad")
	podID := runPod(t, d, pod)
	_, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: pod,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "bad"}, Image: spec(ref), Command: []string{"true"},
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				RunAsUsername: "nobody-here", SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}},
		}})
	wantStatus(t, "unknown user under Strict", err, codes.InvalidArgument)
	if err != nil && !strings.Contains(err.Error(), "nobody-here") {
		t.Errorf("error %v does not name the user", err)
	}
	if left := framework.Docker(t, "ps", "-aq", "--filter", "name=dockercri-accounts-", "--filter", "name=_bad_groups-bad_"); strings.TrimSpace(left) != "" {
		t.Errorf("containers left behind: %s", left)
	}
}

func sorted(s []int64) []int64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

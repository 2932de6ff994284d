package translate

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxName(t *testing.T) {
	tests := []struct {
		name    string
		give    *runtimeapi.PodSandboxMetadata
		want    string
		wantErr bool
	}{
		{name: "dockershim scheme", give: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "1-2", Attempt: 3}, want: "k8s_POD_web_default_1-2_3"},
		{name: "max attempt", give: &runtimeapi.PodSandboxMetadata{Name: "w", Namespace: "n", Uid: "u", Attempt: 4294967295}, want: "k8s_POD_w_n_u_4294967295"},
		{name: "nil metadata", give: nil, wantErr: true},
		{name: "empty name", give: &runtimeapi.PodSandboxMetadata{Namespace: "n", Uid: "u"}, wantErr: true},
		{name: "underscore in name", give: &runtimeapi.PodSandboxMetadata{Name: "a_b", Namespace: "n", Uid: "u"}, wantErr: true},
		{name: "slash in namespace", give: &runtimeapi.PodSandboxMetadata{Name: "a", Namespace: "n/x", Uid: "u"}, wantErr: true},
		{name: "space in uid", give: &runtimeapi.PodSandboxMetadata{Name: "a", Namespace: "n", Uid: "u u"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SandboxName(tt.give)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SandboxName = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestContainerName(t *testing.T) {
	sb := &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "1-2", Attempt: 7}
	tests := []struct {
		name    string
		give    *runtimeapi.ContainerMetadata
		want    string
		wantErr bool
	}{
		{name: "container attempt, not the sandbox's", give: &runtimeapi.ContainerMetadata{Name: "app", Attempt: 2}, want: "k8s_app_web_default_1-2_2"},
		{name: "nil metadata", give: nil, wantErr: true},
		{name: "empty name", give: &runtimeapi.ContainerMetadata{}, wantErr: true},
		{name: "reserved POD", give: &runtimeapi.ContainerMetadata{Name: "POD"}, wantErr: true},
		{name: "underscore", give: &runtimeapi.ContainerMetadata{Name: "a_b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContainerName(sb, tt.give)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ContainerName = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNameRoundTrip(t *testing.T) {
	sb := &runtimeapi.PodSandboxMetadata{Name: "web.x-1", Namespace: "kube-system", Uid: "0f8e-77", Attempt: 12}
	ctr := &runtimeapi.ContainerMetadata{Name: "side-car", Attempt: 9}
	sbName, err := SandboxName(sb)
	if err != nil {
		t.Fatal(err)
	}
	ctrName, err := ContainerName(sb, ctr)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{sbName, "/" + sbName, WithConflictSuffix(sbName, "0123abcd")} {
		got, err := ParseSandboxName(name)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(sb, got) {
			t.Fatalf("ParseSandboxName(%q) = %v, want %v", name, got, sb)
		}
		if _, _, err := ParseContainerName(name); err == nil {
			t.Fatalf("ParseContainerName(%q) accepted a sandbox name", name)
		}
	}
	for _, name := range []string{ctrName, "/" + ctrName, WithConflictSuffix(ctrName, "0123abcd")} {
		gotSb, gotCtr, err := ParseContainerName(name)
		if err != nil {
			t.Fatal(err)
		}
		wantSb := &runtimeapi.PodSandboxMetadata{Name: sb.Name, Namespace: sb.Namespace, Uid: sb.Uid}
		if !proto.Equal(wantSb, gotSb) || !proto.Equal(ctr, gotCtr) {
			t.Fatalf("ParseContainerName(%q) = %v, %v; want %v, %v", name, gotSb, gotCtr, wantSb, ctr)
		}
		if _, err := ParseSandboxName(name); err == nil {
			t.Fatalf("ParseSandboxName(%q) accepted a container name", name)
		}
	}
}

func TestParseNameRejects(t *testing.T) {
	tests := []string{
		"", "/", "nginx", "k8s_POD_a_b_c", "k8s_POD_a_b_c_d_e_f", "k9s_POD_a_b_c_1",
		"k8s_POD_a_b_c_-1", "k8s_POD_a_b_c_4294967296", "k8s_POD_a_b_c_x",
	}
	for _, give := range tests {
		if _, err := ParseSandboxName(give); err == nil {
			t.Errorf("ParseSandboxName(%q) succeeded", give)
		}
		if _, _, err := ParseContainerName(give); err == nil {
			t.Errorf("ParseContainerName(%q) succeeded", give)
		}
	}
	if _, _, err := ParseContainerName("k8s__a_b_c_1"); err == nil {
		t.Error("ParseContainerName accepted an empty container name")
	}
}

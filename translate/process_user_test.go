package translate

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestProcessUser(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    *runtimeapi.LinuxContainerUser
		wantErr bool
	}{
		{name: "user with groups",
			give: "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t1000 1234 50000 \nNStgid:\t1\n",
			want: &runtimeapi.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: []int64{1000, 1234, 50000}}},
		{name: "real ids, not effective", give: "Uid:\t1002\t0\t0\t0\nGid:\t1003\t0\t0\t0\nGroups:\t\n",
			want: &runtimeapi.LinuxContainerUser{Uid: 1002, Gid: 1003, SupplementalGroups: []int64{}}},
		{name: "no Groups line", give: "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
			want: &runtimeapi.LinuxContainerUser{}},
		{name: "largest id", give: "Uid:\t4294967294\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
			want: &runtimeapi.LinuxContainerUser{Uid: 4294967294}},
		{name: "no Uid", give: "Gid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "empty", give: "", wantErr: true},
		{name: "garbage group", give: "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t1 x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProcessUser([]byte(tt.give))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ProcessUser = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got.GetLinux(), tt.want) {
				t.Fatalf("ProcessUser = %v, want %v", got.GetLinux(), tt.want)
			}
		})
	}
}

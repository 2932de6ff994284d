package translate

import (
	"reflect"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// An image like critest's test-image-predefined-group: default-user (uid
// 1000, primary group 1000) is also a member of group 50000.
var groupsTestAccounts = &Accounts{
	Passwd: []byte("root:x:0:0:root:/root:/bin/sh\ndefault-user:x:1000:1000::/home/default-user:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n"),
	Group: []byte("root:x:0:\nbin:x:1:root,bin\ndefault-user:x:1000:\nwww-data:x:33:\n" +
		"group-defined-in-image:x:50000:default-user\nwww-extra:x:60000:www-data,default-user\n"),
}

const (
	groupsMerge  = runtimeapi.SupplementalGroupsPolicy_Merge
	groupsStrict = runtimeapi.SupplementalGroupsPolicy_Strict
)

func TestSupplementalGroupsPolicy(t *testing.T) {
	tests := []struct {
		name       string
		give       *runtimeapi.LinuxContainerSecurityContext
		imageUser  string
		accounts   *Accounts
		wantUser   string
		wantGroups []string
	}{
		// Merge with an implicit group is Docker's own way: nothing to read.
		{name: "merge, uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), SupplementalGroups: []int64{1234}},
			wantUser: "1000", wantGroups: []string{"1234"}},
		{name: "merge, uid and group: memberships kept", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), RunAsGroup: cfgTestInt(3000),
			SupplementalGroups: []int64{1234}}, accounts: groupsTestAccounts, wantUser: "1000:3000", wantGroups: []string{"1234", "50000", "60000"}},
		{name: "merge, name and group", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data", RunAsGroup: cfgTestInt(33)},
			accounts: groupsTestAccounts, wantUser: "www-data:33", wantGroups: []string{"60000"}},
		{name: "merge, a membership also asked for is added once", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), RunAsGroup: cfgTestInt(1000),
			SupplementalGroups: []int64{50000}}, accounts: groupsTestAccounts, wantUser: "1000:1000", wantGroups: []string{"50000", "60000"}},
		{name: "merge, image USER with a group", give: &runtimeapi.LinuxContainerSecurityContext{}, imageUser: "default-user:1004",
			accounts: groupsTestAccounts, wantGroups: []string{"50000", "60000"}},
		{name: "merge, uid not in the image", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(4242), RunAsGroup: cfgTestInt(4242)},
			accounts: groupsTestAccounts, wantUser: "4242:4242"},
		{name: "merge, image without accounts", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), RunAsGroup: cfgTestInt(3000)},
			accounts: &Accounts{}, wantUser: "1000:3000"},
		// Strict makes the group explicit, which drops the memberships.
		{name: "strict, uid", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), SupplementalGroups: []int64{1234},
			SupplementalGroupsPolicy: groupsStrict}, accounts: groupsTestAccounts, wantUser: "1000:1000", wantGroups: []string{"1234"}},
		{name: "strict, name", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "www-data", SupplementalGroupsPolicy: groupsStrict},
			accounts: groupsTestAccounts, wantUser: "www-data:33"},
		{name: "strict, uid and group: already explicit", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), RunAsGroup: cfgTestInt(3000),
			SupplementalGroupsPolicy: groupsStrict}, wantUser: "1000:3000"},
		{name: "strict, image USER", give: &runtimeapi.LinuxContainerSecurityContext{SupplementalGroupsPolicy: groupsStrict}, imageUser: "default-user",
			accounts: groupsTestAccounts, wantUser: "default-user:1000"},
		{name: "strict, image USER with a group", give: &runtimeapi.LinuxContainerSecurityContext{SupplementalGroupsPolicy: groupsStrict}, imageUser: "1003:1004"},
		{name: "strict, no user is root", give: &runtimeapi.LinuxContainerSecurityContext{SupplementalGroupsPolicy: groupsStrict},
			accounts: groupsTestAccounts, wantUser: "0:0"},
		{name: "strict, uid not in the image", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(4242), SupplementalGroupsPolicy: groupsStrict},
			accounts: groupsTestAccounts, wantUser: "4242:0"},
		{name: "strict, image without accounts", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), SupplementalGroupsPolicy: groupsStrict},
			accounts: &Accounts{}, wantUser: "1000:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := NeedsAccounts(tt.give, tt.imageUser), tt.accounts != nil; got != want {
				t.Fatalf("NeedsAccounts = %v, want %v", got, want)
			}
			got, err := cfgTestSecurity(tt.give, false, ContainerOptions{ImageUser: tt.imageUser, Accounts: tt.accounts})
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.User != tt.wantUser || !reflect.DeepEqual(got.HostConfig.GroupAdd, tt.wantGroups) {
				t.Fatalf("User %q, GroupAdd %q; want %q, %q", got.Config.User, got.HostConfig.GroupAdd, tt.wantUser, tt.wantGroups)
			}
		})
	}
}

func TestSupplementalGroupsPolicyErrors(t *testing.T) {
	tests := []struct {
		name     string
		give     *runtimeapi.LinuxContainerSecurityContext
		accounts *Accounts
		wantErr  string
	}{
		{name: "accounts not read", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: cfgTestInt(1000), SupplementalGroupsPolicy: groupsStrict},
			wantErr: "accounts were not read"},
		{name: "strict, name not in the image", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "nobody-here", SupplementalGroupsPolicy: groupsStrict},
			accounts: groupsTestAccounts, wantErr: `user "nobody-here"`},
		{name: "merge, name not in the image", give: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "nobody-here", RunAsGroup: cfgTestInt(5)},
			accounts: groupsTestAccounts, wantErr: `user "nobody-here"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cfgTestSecurity(tt.give, false, ContainerOptions{Accounts: tt.accounts})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// Untrusted accounts: malformed, hostile lines are read as runc reads them
// and an id outside [0, maxID] is never passed on (Docker would fail, or
// wrap it).
func TestSupplementalGroupsPolicyMalformedAccounts(t *testing.T) {
	acc := &Accounts{
		Passwd: []byte("garbage\n::::::\ndefault-user:x:1000:notanumber::/:/bin/sh\n\x00\xff:x:1:1\n"),
		Group:  []byte("g:x:99999999999999999999:default-user\nneg:x:-5:default-user\nok:x:70000:default-user\n"),
	}
	got, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "default-user", RunAsGroup: cfgTestInt(1000)}, false,
		ContainerOptions{Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"70000"}; !reflect.DeepEqual(got.HostConfig.GroupAdd, want) {
		t.Fatalf("GroupAdd %q, want %q: out-of-range ids must not pass", got.HostConfig.GroupAdd, want)
	}
}

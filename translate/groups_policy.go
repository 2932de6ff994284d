package translate

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

/*
Supplemental groups policy on Docker.

The groups of a container's process are, in Kubernetes' terms (KEP-3619):

	Merge (default)  the primary group, the groups /etc/group in the image
	                 gives the user, and supplemental_groups
	Strict           the primary group and supplemental_groups only

Docker decides by the form of Config.User (as runc's user lookup does):

	"user"       implicit group: the primary group from the image's
	             /etc/passwd, plus the user's /etc/group memberships (Merge)
	"user:group" explicit group: that group, and no memberships (Strict)

with GroupAdd added in both. So two cases need the image's accounts, which
only the shim can read (NeedsAccounts, ContainerOptions.Accounts):

  - Strict with an implicit group: the primary group is looked up in
    /etc/passwd and made explicit ("1000" becomes "1000:1000").
  - Merge with an explicit group (run_as_group, or an image USER "u:g"): the
    memberships Docker would drop are looked up in /etc/group and added to
    GroupAdd. dockershim dropped them; containerd keeps them.

The pause container follows Docker's form as it is: the pause image has no
accounts, so both policies give it the same groups.
*/

// Accounts are an image's /etc/passwd and /etc/group; nil content is a file
// the image does not have. They come from the image, so they are untrusted:
// they are only parsed, by moby/sys/user, as runc parses them.
type Accounts struct {
	Passwd, Group []byte
}

// NeedsAccounts reports whether ContainerCreateConfig needs the image's
// accounts for this security context (see the block comment above).
func NeedsAccounts(sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) bool {
	_, explicit := effectiveUser(sc, imageUser)
	switch sc.GetSupplementalGroupsPolicy() {
	case runtimeapi.SupplementalGroupsPolicy_Strict:
		return !explicit
	case runtimeapi.SupplementalGroupsPolicy_Merge:
		return explicit
	}
	return false
}

// effectiveUser is the user Docker runs the container as, without a group,
// and whether a group is given explicitly: run_as_username, run_as_user,
// else the image's USER, else root.
func effectiveUser(sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) (string, bool) {
	switch {
	case sc.GetRunAsUsername() != "":
		return sc.GetRunAsUsername(), sc.GetRunAsGroup() != nil
	case sc.GetRunAsUser() != nil:
		return strconv.FormatInt(sc.GetRunAsUser().GetValue(), 10), sc.GetRunAsGroup() != nil
	case imageUser != "":
		u, g, explicit := strings.Cut(imageUser, ":")
		return u, explicit && g != ""
	}
	return "0", false
}

// secGroupsPolicy applies the supplemental groups policy to an app
// container, after secUser and secGroups.
func secGroupsPolicy(sc *runtimeapi.LinuxContainerSecurityContext, opts ContainerOptions) cfgOpt {
	return func(c *Created) error {
		if !NeedsAccounts(sc, opts.ImageUser) {
			return nil
		}
		if opts.Accounts == nil {
			return fmt.Errorf("supplemental_groups_policy %s: the image's accounts were not read", sc.GetSupplementalGroupsPolicy())
		}
		name, _ := effectiveUser(sc, opts.ImageUser)
		// The implicit form: what Docker would resolve with no group given.
		eu, err := user.GetExecUser(name, &user.ExecUser{}, reader(opts.Accounts.Passwd), reader(opts.Accounts.Group))
		if err != nil {
			return cfgInvalid("user %q in the image's /etc/passwd and /etc/group: %v", name, err)
		}
		// moby/sys/user range-checks numeric users only, not ids read from
		// the image's files; Docker would wrap them to 32 bits (2^32 is root).
		if eu.Uid < 0 || eu.Uid > maxID {
			return cfgInvalid("user %q: the image's /etc/passwd gives uid %d, outside [0, %d]", name, eu.Uid, maxID)
		}
		if sc.GetSupplementalGroupsPolicy() == runtimeapi.SupplementalGroupsPolicy_Strict {
			if eu.Gid < 0 || eu.Gid > maxID {
				return cfgInvalid("user %q: the image's /etc/passwd gives gid %d, outside [0, %d]", name, eu.Gid, maxID)
			}
			c.Config.User = name + ":" + strconv.Itoa(eu.Gid)
			return nil
		}
		for _, g := range eu.Sgids {
			if g < 0 || g > maxID {
				continue // runc would fail the start on it
			}
			s := strconv.Itoa(g)
			if !slices.Contains(c.HostConfig.GroupAdd, s) {
				c.HostConfig.GroupAdd = append(c.HostConfig.GroupAdd, s)
			}
		}
		return nil
	}
}

// reader is nil for an absent file, which moby/sys/user reads as "no
// entries" (numeric ids only, defaults for the rest).
func reader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

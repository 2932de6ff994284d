package translate

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ProcessUser reads the identity of a container's process from its
// /proc/<pid>/status: the real uid and gid and the supplementary groups, as
// the kernel holds them. ContainerStatus reports it for a running container:
// it is what the image's accounts and the supplemental groups policy made,
// which Docker's User string ("1000", "www-data") does not say.
func ProcessUser(status []byte) (*runtimeapi.ContainerUser, error) {
	u := &runtimeapi.LinuxContainerUser{}
	var haveUID, haveGID bool
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		var err error
		switch key {
		case "Uid":
			haveUID = len(fields) > 0
			if haveUID {
				u.Uid, err = parseID(fields[0])
			}
		case "Gid":
			haveGID = len(fields) > 0
			if haveGID {
				u.Gid, err = parseID(fields[0])
			}
		case "Groups":
			u.SupplementalGroups = make([]int64, 0, len(fields))
			for _, f := range fields {
				g, gerr := parseID(f)
				if gerr != nil {
					err = gerr
					break
				}
				u.SupplementalGroups = append(u.SupplementalGroups, g)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("process status: %s: %w", key, err)
		}
	}
	if !haveUID || !haveGID {
		return nil, fmt.Errorf("process status: no Uid or Gid line")
	}
	return &runtimeapi.ContainerUser{Linux: u}, nil
}

func parseID(s string) (int64, error) {
	return strconv.ParseInt(s, 10, 64)
}

// ConfigUser reads the numeric uid and gid out of Docker's User ("1000",
// "1000:3000"); a name would need the image's /etc/passwd, so it gives nil.
// What a container not running reports.
func ConfigUser(user string) *runtimeapi.ContainerUser {
	u, g, _ := strings.Cut(user, ":")
	uid, err := strconv.ParseInt(u, 10, 64)
	if err != nil || uid < 0 {
		return nil
	}
	linux := &runtimeapi.LinuxContainerUser{Uid: uid}
	if gid, err := strconv.ParseInt(g, 10, 64); err == nil && gid >= 0 {
		linux.Gid = gid
	}
	return &runtimeapi.ContainerUser{Linux: linux}
}

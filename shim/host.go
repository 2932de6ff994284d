package shim

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/moby/api/types/container"

	"dockercri/translate"
)

// Host facts that decide how privileged containers and OOM scores are built.
// They are read once at start from /proc: dockercri runs on the node, beside
// dockerd, with the same capability bounding set.

// capSysResource is CAP_SYS_RESOURCE's bit; without it no process may lower
// an oom_score_adj below its own.
const capSysResource = 24

// OOMRestriction is the --restrict-oom-score-adj setting.
type OOMRestriction string

const (
	OOMRestrictAuto OOMRestriction = "auto"  // restrict when CAP_SYS_RESOURCE is missing
	OOMRestrictOn   OOMRestriction = "true"  // never below dockercri's own score
	OOMRestrictOff  OOMRestriction = "false" // pass scores through (dockershim's behaviour)
)

type capSet struct {
	mu  sync.Mutex
	set map[string]bool
}

// capabilities is the host's set less what Docker does not know.
func (h HostInfo) capabilities() []string {
	if h.Capabilities == nil || h.dockerLacks == nil {
		return h.Capabilities
	}
	h.dockerLacks.mu.Lock()
	defer h.dockerLacks.mu.Unlock()
	out := make([]string, 0, len(h.Capabilities))
	for _, c := range h.Capabilities {
		if !h.dockerLacks.set[c] {
			out = append(out, c)
		}
	}
	return out
}

// forgetCapability records that Docker refused c, one of the host's.
func (h HostInfo) forgetCapability(c string) {
	if h.dockerLacks == nil {
		return
	}
	h.dockerLacks.mu.Lock()
	defer h.dockerLacks.mu.Unlock()
	h.dockerLacks.set[c] = true
}

// unknownCapRE reads Docker's refusal of a capability it does not know:
// `invalid CapAdd: unknown capability: "CAP_BPF"`.
var unknownCapRE = regexp.MustCompile(`unknown capability: "?(CAP_[A-Z_]+)"?`)

func unknownCapability(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	m := unknownCapRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ProbeHost reads the capability sets and oom_score_adj of this process.
func ProbeHost(restrict OOMRestriction) (HostInfo, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: %w", err)
	}
	lastCapText, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: %w", err)
	}
	lastCap, err := strconv.Atoi(strings.TrimSpace(string(lastCapText)))
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: cap_last_cap: %w", err)
	}
	ownScoreText, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: %w", err)
	}
	ownScore, err := strconv.Atoi(strings.TrimSpace(string(ownScoreText)))
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: oom_score_adj: %w", err)
	}
	return hostInfoFrom(string(status), lastCap, ownScore, restrict)
}

// hostInfoFrom is ProbeHost without the file reads, for tests.
func hostInfoFrom(status string, lastCap, ownScore int, restrict OOMRestriction) (HostInfo, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	bnd, err := translate.ParseCapMask(fields["CapBnd"])
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: CapBnd: %w", err)
	}
	eff, err := translate.ParseCapMask(fields["CapEff"])
	if err != nil {
		return HostInfo{}, fmt.Errorf("probe host: CapEff: %w", err)
	}
	info := HostInfo{dockerLacks: &capSet{set: map[string]bool{}}}
	all := uint64(1)<<(lastCap+1) - 1
	if bnd&all != all {
		info.Capabilities = translate.CapabilitiesFromMask(bnd, lastCap)
	}
	switch restrict {
	case OOMRestrictOn:
		info.MinOOMScoreAdj = &ownScore
	case OOMRestrictOff:
	case OOMRestrictAuto, "":
		if eff&(1<<capSysResource) == 0 {
			info.MinOOMScoreAdj = &ownScore
		}
	default:
		return HostInfo{}, fmt.Errorf("--restrict-oom-score-adj=%q: want auto, true or false", restrict)
	}
	return info, nil
}

// clampOOMScoreAdj raises a score to the host's minimum where there is one.
func (h HostInfo) clampOOMScoreAdj(score int) int {
	if h.MinOOMScoreAdj != nil && score < *h.MinOOMScoreAdj {
		return *h.MinOOMScoreAdj
	}
	return score
}

// hostDevices lists every device node under /dev, the set Docker's
// privileged mode gives a container, for privileged containers built from
// the host's capabilities.
func hostDevices() ([]container.DeviceMapping, error) {
	var out []container.DeviceMapping
	err := filepath.WalkDir("/dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() && (p == "/dev/pts" || p == "/dev/shm" || p == "/dev/mqueue") {
			return filepath.SkipDir // per-container filesystems, not devices
		}
		if d.Type()&fs.ModeDevice == 0 {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return nil
		}
		out = append(out, container.DeviceMapping{PathOnHost: p, PathInContainer: p, CgroupPermissions: "rwm"})
		return nil
	})
	return out, err
}

package translate

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/moby/moby/api/types/container"
)

// Properties shared by the fuzz targets. Each checks a promise the shim
// relies on for every input, not only for the inputs of the table tests.

// fuzzValidUTF8 reports whether every string is valid UTF-8. gRPC refuses
// a proto3 string field that is not before a handler runs, so the string
// arguments of a fuzz target that stand for CRI fields are held to it (the
// targets that decode whole messages get it from proto.Unmarshal).
func fuzzValidUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// fuzzClassified fails unless err wraps one of the sentinels the shim maps
// to InvalidArgument: an unclassified error reaches the kubelet as Unknown.
func fuzzClassified(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%s: error %q wraps neither ErrInvalidConfig nor ErrUnsupported (the shim would answer Unknown)", what, err)
	}
}

// fuzzCleanAbs reports whether p is an absolute path with no ".." element:
// what every host or container path handed to Docker must be.
func fuzzCleanAbs(p string) bool {
	return path.IsAbs(p) && !cfgHasDotDot(p)
}

// fuzzCheckUser fails when a Docker User ("user[:group]") has a part that
// runc reads as a number (strconv.Atoi, as moby/sys/user does) outside
// [0, maxID]: such an id must be refused here, never left to wrap
// (CVE-2024-40635).
func fuzzCheckUser(t *testing.T, what, user string) {
	t.Helper()
	for _, p := range strings.SplitN(user, ":", 2) {
		if n, err := strconv.Atoi(p); err == nil && (n < 0 || n > maxID) {
			t.Fatalf("%s: user %q has id %d outside [0, %d]", what, user, n, maxID)
		}
	}
}

// fuzzCheckHost checks what both kinds of container share: users and groups
// in range, no ".." in the cgroup parent, a bounded OOM score.
func fuzzCheckHost(t *testing.T, c *Created, imageUser string) {
	t.Helper()
	user := c.Config.User
	if user == "" {
		user = imageUser // what Docker runs when the config names no user
	}
	fuzzCheckUser(t, "Config.User", user)
	for _, g := range c.HostConfig.GroupAdd {
		if n, err := strconv.Atoi(g); err != nil || n < 0 || n > maxID {
			t.Fatalf("GroupAdd %q is not an id in [0, %d]", g, maxID)
		}
	}
	if cfgHasDotDot(c.HostConfig.CgroupParent) {
		t.Fatalf("CgroupParent %q has a \"..\" element", c.HostConfig.CgroupParent)
	}
	if a := c.HostConfig.OomScoreAdj; a < -1000 || a > 1000 {
		t.Fatalf("OomScoreAdj %d is outside [-1000, 1000]", a)
	}
}

// fuzzCheckResources checks the cgroup values against the kernel's ranges.
func fuzzCheckResources(t *testing.T, r container.Resources) {
	t.Helper()
	switch {
	case r.CPUShares < 0 || r.CPUShares > resMaxShares:
		t.Fatalf("CPUShares %d is outside [0, %d]", r.CPUShares, resMaxShares)
	case r.CPUQuota < -1 || (r.CPUQuota > 0 && r.CPUQuota < 1000):
		t.Fatalf("CPUQuota %d", r.CPUQuota)
	case r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000):
		t.Fatalf("CPUPeriod %d", r.CPUPeriod)
	case r.Memory < 0:
		t.Fatalf("Memory %d is negative", r.Memory)
	case r.MemorySwap < -1 || (r.MemorySwap > 0 && r.MemorySwap < r.Memory):
		t.Fatalf("MemorySwap %d with Memory %d", r.MemorySwap, r.Memory)
	case r.Memory > 0 && r.MemorySwap == 0:
		t.Fatalf("Memory %d without MemorySwap: Docker would allow as much swap again", r.Memory)
	}
}

// fuzzCheckSysctls: every sysctl given to Docker is one well-formed,
// namespaced key whose value cannot smuggle a second one (CVE-2022-0811),
// and whose /proc/sys path stays under /proc/sys.
func fuzzCheckSysctls(t *testing.T, sysctls map[string]string, hostNet, hostIPC bool) {
	t.Helper()
	for k, v := range sysctls {
		if !sysctlKey.MatchString(k) {
			t.Fatalf("sysctl key %q is malformed", k)
		}
		if strings.ContainsAny(v, "+=\n\x00") {
			t.Fatalf("sysctl %q value %q could smuggle a second sysctl", k, v)
		}
		p := path.Clean("/proc/sys/" + strings.ReplaceAll(k, ".", "/"))
		if !strings.HasPrefix(p, "/proc/sys/") {
			t.Fatalf("sysctl %q writes %s, outside /proc/sys", k, p)
		}
		ipc, net := sysctlIsIPC(k), strings.HasPrefix(k, "net.")
		if (!ipc && !net) || (ipc && hostIPC) || (net && hostNet) {
			t.Fatalf("sysctl %q would change the node (host network %v, host IPC %v)", k, hostNet, hostIPC)
		}
	}
}

// fuzzCheckLogPath: a log path is empty or a clean absolute path of a file
// strictly inside the log directory.
func fuzzCheckLogPath(t *testing.T, dir, logPath, got string) {
	t.Helper()
	if got == "" {
		if logPath != "" {
			t.Fatalf("LogPath(%q, %q) = \"\" without an error", dir, logPath)
		}
		return
	}
	clean := path.Clean(dir)
	if got != path.Clean(got) || !path.IsAbs(got) || cfgHasDotDot(got) {
		t.Fatalf("LogPath(%q, %q) = %q: not a clean absolute path", dir, logPath, got)
	}
	if got == clean || !strings.HasPrefix(got, strings.TrimSuffix(clean, "/")+"/") {
		t.Fatalf("LogPath(%q, %q) = %q escapes the log directory", dir, logPath, got)
	}
}

// fuzzSameKnown compares two messages field by field, leaving out unknown
// fields: the fuzzer's bytes may carry fields this cri-api does not know,
// which no translation can (or should) carry through.
func fuzzSameKnown(a, b proto.Message) bool {
	return proto.Equal(fuzzKnownOnly(a), fuzzKnownOnly(b))
}

func fuzzKnownOnly(m proto.Message) proto.Message {
	if m == nil {
		return nil
	}
	c := proto.Clone(m)
	var strip func(protoreflect.Message)
	strip = func(r protoreflect.Message) {
		if !r.IsValid() {
			return
		}
		r.SetUnknown(nil)
		r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
				strip(v.Message())
			}
			return true
		})
	}
	strip(c.ProtoReflect())
	return c
}

package shim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Where Docker says nothing of a container's writable layer — the
// containerd image store reports GraphDriver without UpperDir — the layer is
// still the upper directory of the overlay mounted as the container's root.
// The kernel tells it in the container's own mountinfo: the mount at "/" of
// type overlay, super option upperdir=<host path>. Reading it costs a file
// read, not a daemon round trip.

// rootUpperDir returns the upper directory of the overlay that is the root
// of process pid's mount namespace, as seen from the host. It returns "" and
// no error when the root is not an overlay (another snapshotter or driver).
func rootUpperDir(procRoot string, pid int) (string, error) {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "mountinfo"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	return upperDirOfRoot(f)
}

// upperDirOfRoot reads mountinfo lines (proc(5)): "id parent major:minor
// root mountpoint options [optional...] - fstype source superoptions". The
// last mount at "/" wins, as it is the one visible.
func upperDirOfRoot(r io.Reader) (string, error) {
	var upper string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || fields[4] != "/" || len(tail) < 3 {
			continue
		}
		upper = ""
		if tail[0] != "overlay" {
			continue
		}
		for _, opt := range strings.Split(tail[2], ",") {
			if v, ok := strings.CutPrefix(opt, "upperdir="); ok {
				upper = unescapeMountinfo(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("mountinfo: %w", err)
	}
	if upper != "" && !filepath.IsAbs(upper) {
		return "", fmt.Errorf("mountinfo: upperdir %q is not absolute", upper)
	}
	return upper, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in a mountinfo field.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

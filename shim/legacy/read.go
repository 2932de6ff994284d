package legacy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// maxSize bounds what is read from a checkpoint. Real ones are well under a
// kilobyte; the files are another runtime's and are not trusted.
const maxSize = 1 << 20

// sandboxDir is where both writers keep checkpoints, under their root.
const sandboxDir = "sandbox"

// Read reads and verifies the checkpoint of sandboxID under root, read-only.
// sandboxID must be a full 64-hex Docker id, which also keeps the path inside
// root. An absent file gives an error wrapping fs.ErrNotExist; a symlink, a
// file that is not regular, or one over 1 MiB is refused.
func Read(root, sandboxID string) (*Checkpoint, error) {
	if !isID(sandboxID) {
		return nil, fmt.Errorf("sandbox id %q is not a 64-hex Docker id", sandboxID)
	}
	b, err := readFile(filepath.Join(root, sandboxDir, sandboxID))
	if err != nil {
		return nil, err
	}
	cp, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint of sandbox %s: %w", sandboxID, err)
	}
	return cp, nil
}

// Any reports whether dir holds at least one checkpoint that Parse accepts:
// the sign that a directory belongs to cri-dockerd or dockershim. An absent
// dir is false, nil. Files that cannot be read or do not verify are skipped:
// they prove nothing either way.
func Any(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := readFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if _, err := Parse(b); err == nil {
			return true, nil
		}
	}
	return false, nil
}

// readFile reads one untrusted checkpoint. O_NOFOLLOW refuses a symlink in
// the last component, O_NONBLOCK keeps a FIFO planted there from blocking the
// open, and the size is checked on the open file, then bounded while
// reading, since the file may grow in between.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("refusing checkpoint %s: it is a symlink", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("refusing checkpoint %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > maxSize {
		return nil, fmt.Errorf("refusing checkpoint %s: %d bytes, over %d", path, fi.Size(), maxSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("refusing checkpoint %s: over %d bytes", path, maxSize)
	}
	return b, nil
}

// isID reports whether s is a full Docker id: 64 lower-case hex digits.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

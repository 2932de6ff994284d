package legacy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// sandboxRoot makes <root>/sandbox and returns root.
func sandboxRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, sandboxDir), 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// padded is a valid checkpoint grown to n bytes with JSON whitespace, so
// that only the size can refuse it.
func padded(t *testing.T, n int) []byte {
	b := fixture(t, "cri-dockerd-ports.json")
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

func TestRead(t *testing.T) {
	good := fixture(t, "dockershim-ports.json")
	tests := []struct {
		name string
		id   string
		// setup puts something at path, <root>/sandbox/<testID>.
		setup      func(t *testing.T, root, path string)
		wantWriter Writer
		wantErr    func(error) bool
	}{
		{
			name:       "checkpoint",
			id:         testID,
			setup:      func(t *testing.T, _, path string) { writeFile(t, path, good) },
			wantWriter: Dockershim,
		},
		{
			name:       "exactly 1 MiB",
			id:         testID,
			setup:      func(t *testing.T, _, path string) { writeFile(t, path, padded(t, maxSize)) },
			wantWriter: CRIDockerd,
		},
		{
			name:    "absent",
			id:      testID,
			setup:   func(*testing.T, string, string) {},
			wantErr: func(err error) bool { return errors.Is(err, fs.ErrNotExist) },
		},
		{
			name: "symlink",
			id:   testID,
			setup: func(t *testing.T, root, path string) {
				target := filepath.Join(root, "elsewhere")
				writeFile(t, target, good)
				if err := os.Symlink(target, path); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: refused,
		},
		{
			name:    "over 1 MiB",
			id:      testID,
			setup:   func(t *testing.T, _, path string) { writeFile(t, path, padded(t, maxSize+1)) },
			wantErr: refused,
		},
		{
			name: "fifo",
			id:   testID,
			setup: func(t *testing.T, _, path string) {
				if err := syscall.Mkfifo(path, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: refused,
		},
		{
			name: "directory",
			id:   testID,
			setup: func(t *testing.T, _, path string) {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: refused,
		},
		{
			name:    "corrupt",
			id:      testID,
			setup:   func(t *testing.T, _, path string) { writeFile(t, path, good[:len(good)-1]) },
			wantErr: func(err error) bool { return errors.Is(err, ErrCorrupt) },
		},
		{name: "empty id", id: "", setup: writeGoodEverywhere(good), wantErr: refused},
		{name: "short id", id: testID[:63], setup: writeGoodEverywhere(good), wantErr: refused},
		{name: "upper-case id", id: strings.ToUpper(testID), setup: writeGoodEverywhere(good), wantErr: refused},
		{name: "dot dot", id: "../elsewhere", setup: writeGoodEverywhere(good), wantErr: refused},
		{name: "64 chars with dot dot", id: "../" + testID[3:], setup: writeGoodEverywhere(good), wantErr: refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := sandboxRoot(t)
			tt.setup(t, root, filepath.Join(root, sandboxDir, testID))
			got, err := Read(root, tt.id)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("Read = %+v, %v; want another error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got.Writer != tt.wantWriter {
				t.Errorf("Writer = %s, want %s", got.Writer, tt.wantWriter)
			}
		})
	}
}

// refused is an error that is neither absence nor corruption: Read would
// not have read the file.
func refused(err error) bool {
	return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorrupt)
}

// writeGoodEverywhere puts a valid checkpoint where a bad id could reach:
// at the expected path, next to the sandbox dir and under ids the bad ones
// are close to, so only the id check can refuse them.
func writeGoodEverywhere(good []byte) func(t *testing.T, root, path string) {
	return func(t *testing.T, root, path string) {
		writeFile(t, path, good)
		writeFile(t, filepath.Join(root, "elsewhere"), good)
		writeFile(t, filepath.Join(root, sandboxDir, strings.ToUpper(testID)), good)
		writeFile(t, filepath.Join(root, sandboxDir, testID[:63]), good)
	}
}

func TestAny(t *testing.T) {
	good := fixture(t, "cri-dockerd-noports.json")
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the dir to give
		want    bool
		wantErr bool
	}{
		{
			name:  "absent",
			setup: func(_ *testing.T, dir string) string { return filepath.Join(dir, "nope") },
		},
		{
			name:  "empty",
			setup: func(_ *testing.T, dir string) string { return dir },
		},
		{
			name: "checkpoint",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, testID), good)
				return dir
			},
			want: true,
		},
		{
			name: "corrupt and a checkpoint",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "a"), []byte("garbage"))
				writeFile(t, filepath.Join(dir, testID), good)
				return dir
			},
			want: true,
		},
		{
			name: "only other things",
			setup: func(t *testing.T, dir string) string {
				other := t.TempDir()
				writeFile(t, filepath.Join(other, "good"), good)
				writeFile(t, filepath.Join(dir, "a"), []byte("garbage"))
				writeFile(t, filepath.Join(dir, "b"), padded(t, maxSize+1))
				if err := os.Symlink(filepath.Join(other, "good"), filepath.Join(dir, testID)); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "sub", testID), good)
				return dir
			},
		},
		{
			name: "not a directory",
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, "f"), good)
				return filepath.Join(dir, "f")
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Any(tt.setup(t, t.TempDir()))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Any error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Any = %v, want %v", got, tt.want)
			}
		})
	}
}

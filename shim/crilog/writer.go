// Package crilog writes container output in the CRI log format the kubelet
// reads, one entry a line:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>
//
// F marks a full line (its newline is the entry's own), P a piece of a
// longer line that goes on in the next entry. Copy fills such a file from
// Docker's logs API; Writer.Reopen follows the kubelet's log rotation;
// Manager runs one copier per container.
//
// It owns the CRI log format, the log files and the copiers; it talks to
// Docker through its own narrow Docker interface (a subset of shim's) and
// may import Docker's API types, errdefs and klog, never package shim.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Stream names, as in the CRI (runtimeapi.Stdout, runtimeapi.Stderr).
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

const (
	tagFull    = 'F'
	tagPartial = 'P'

	// fileMode is the mode of a new log file (the kubelet reads it as root).
	fileMode = 0o640
	// tailScan is how much of an existing file OpenWriter reads back.
	tailScan = 64 << 10
	// keepBuf is the largest formatting buffer a Writer keeps between writes.
	keepBuf = 64 << 10
)

// Writer appends CRI-format entries to a file and can reopen it after the
// kubelet rotated it. It is safe for concurrent use.
type Writer struct {
	path string

	mu     sync.Mutex
	f      *os.File
	size   int64 // bytes in f, to undo a short write
	torn   bool  // f ends in a fragment of an entry: start the next one on a new line
	closed bool
	buf    []byte

	// What has been written, across files (for Copy's resume).
	maxTS time.Time // latest timestamp written
	atMax int       // entries written with timestamp maxTS
}

// OpenWriter opens path for appending, creating it (mode 0640) and its
// directory if needed, as containerd does. A symlink at path is refused
// (dockershim left symlinks to Docker's own JSON logs there, which must not
// be written through). If the file already has
// entries (after a dockercri restart), the Writer learns from its tail what
// was written last, so that Copy resumes exactly.
func OpenWriter(path string) (*Writer, error) {
	w := &Writer{path: path}
	// Only here: a Reopen after the kubelet removed the pod's directory
	// must not bring it back.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("crilog: %w", err)
	}
	f, size, torn, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	w.f, w.size, w.torn = f, size, torn
	if size > 0 {
		w.readTail()
	}
	return w, nil
}

func openAppend(path string) (f *os.File, size int64, torn bool, err error) {
	f, err = os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY|syscall.O_NOFOLLOW, fileMode)
	if err != nil {
		return nil, 0, false, fmt.Errorf("crilog: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false, fmt.Errorf("crilog: stat %s: %w", path, err)
	}
	size = st.Size()
	if size > 0 {
		// A write-only descriptor cannot read: look at the last byte through another.
		if r, err := os.Open(path); err == nil {
			var last [1]byte
			if n, _ := r.ReadAt(last[:], size-1); n == 1 && last[0] != '\n' {
				torn = true
			}
			r.Close()
		}
	}
	return f, size, torn, nil
}

// readTail reads back the entries at the end of the file (best effort).
func (w *Writer) readTail() {
	r, err := os.Open(w.path)
	if err != nil {
		return
	}
	defer r.Close()
	off := max(w.size-tailScan, 0)
	buf := make([]byte, w.size-off)
	n, _ := r.ReadAt(buf, off)
	buf = buf[:n]
	if off > 0 { // the first line is probably cut
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		} else {
			return
		}
	}
	for len(buf) > 0 {
		line := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, buf = buf[:i], buf[i+1:]
		} else {
			buf = nil
		}
		if ts, _, _, _, err := ParseLine(line); err == nil {
			w.note(ts)
		}
	}
}

// note records an entry written (w.mu held).
func (w *Writer) note(ts time.Time) {
	switch {
	case ts.After(w.maxTS):
		w.maxTS, w.atMax = ts, 1
	case ts.Equal(w.maxTS):
		w.atMax++
	}
}

func streamIndex(stream string) int {
	if stream == Stderr {
		return 1
	}
	return 0
}

var streamNames = [2]string{Stdout, Stderr}

// Write appends one entry: text, a full line unless partial. The text should
// not hold a newline; if it does, each newline ends a full entry (a trailing
// one just ends the last), so the file stays one entry a line. The timestamp
// is written in UTC. An entry is written whole to one file or not at all:
// after a failed (short) write the file is cut back to its previous end.
func (w *Writer) Write(ts time.Time, stream string, partial bool, text []byte) error {
	if stream != Stdout && stream != Stderr {
		return fmt.Errorf("crilog: unknown stream %q", stream)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.f == nil {
		return fmt.Errorf("crilog: write %s: %w", w.path, os.ErrClosed)
	}
	b := w.buf[:0]
	if w.torn {
		b = append(b, '\n')
	}
	entries := 0
	for {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			if len(text) > 0 || entries == 0 {
				b = appendEntry(b, ts, stream, partial, text)
				entries++
			}
			break
		}
		b = appendEntry(b, ts, stream, false, text[:i])
		entries++
		text = text[i+1:]
	}
	err := w.writeLocked(b)
	if cap(b) <= keepBuf {
		w.buf = b[:0]
	} else {
		w.buf = nil
	}
	if err != nil {
		return err
	}
	for range entries {
		w.note(ts)
	}
	return nil
}

func (w *Writer) writeLocked(b []byte) error {
	n, err := w.f.Write(b)
	if err == nil {
		w.size += int64(n)
		w.torn = false
		return nil
	}
	if n > 0 {
		if terr := w.f.Truncate(w.size); terr != nil {
			w.size += int64(n)
			w.torn = true
		}
	}
	return fmt.Errorf("crilog: write %s: %w", w.path, err)
}

func appendEntry(b []byte, ts time.Time, stream string, partial bool, text []byte) []byte {
	b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	if partial {
		b = append(b, ' ', tagPartial, ' ')
	} else {
		b = append(b, ' ', tagFull, ' ')
	}
	b = append(b, text...)
	return append(b, '\n')
}

// Reopen opens the path again and closes the old file (which the kubelet
// has renamed); later entries go to the new file. If the path cannot be
// opened, the Writer keeps the old file (the kubelet renames it back when
// ReopenContainerLog fails) and returns the error.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("crilog: reopen %s: %w", w.path, os.ErrClosed)
	}
	f, size, torn, err := openAppend(w.path)
	if err != nil {
		return err
	}
	if w.f != nil {
		w.f.Close() // everything was written already; nothing to flush
	}
	w.f, w.size, w.torn = f, size, torn
	return nil
}

// Close closes the file. Further writes fail; closing again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// resumeState reports how many entries stamped exactly t were written
// (-1 if unknown, that is t is not the latest timestamp written).
func (w *Writer) resumeState(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.IsZero() || !t.Equal(w.maxTS) {
		return -1
	}
	return w.atMax
}

// ParseLine parses one CRI log line (with or without its newline), the
// inverse of Write. text aliases line. As the kubelet does, only the first
// tag counts: "F:x" is F.
func ParseLine(line []byte) (ts time.Time, stream string, partial bool, text []byte, err error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	field := func(what string) ([]byte, error) {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("crilog: %s not found in %q", what, clip(line))
		}
		f := line[:i]
		line = line[i+1:]
		return f, nil
	}
	f, err := field("timestamp")
	if err != nil {
		return time.Time{}, "", false, nil, err
	}
	if ts, err = time.Parse(time.RFC3339Nano, string(f)); err != nil {
		return time.Time{}, "", false, nil, fmt.Errorf("crilog: bad timestamp: %w", err)
	}
	if f, err = field("stream"); err != nil {
		return time.Time{}, "", false, nil, err
	}
	switch string(f) {
	case Stdout, Stderr:
		stream = streamNames[streamIndex(string(f))]
	default:
		return time.Time{}, "", false, nil, fmt.Errorf("crilog: unknown stream %q", clip(f))
	}
	if f, err = field("tag"); err != nil {
		return time.Time{}, "", false, nil, err
	}
	if i := bytes.IndexByte(f, ':'); i >= 0 {
		f = f[:i]
	}
	switch string(f) {
	case string(tagFull):
	case string(tagPartial):
		partial = true
	default:
		return time.Time{}, "", false, nil, fmt.Errorf("crilog: unknown tag %q", clip(f))
	}
	return ts, stream, partial, line, nil
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// FormatSince renders t for Docker's LogsOptions.Since: "<unix seconds>.<nanoseconds>",
// which the client passes through and the daemon reads to the nanosecond
// (it sends entries at or after it). The zero time gives "" (no lower bound);
// times before 1970 give "0.000000000".
func FormatSince(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if t.Unix() < 0 {
		return "0.000000000"
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// ErrBadFrame is wrapped by Copy's error when a frame header is malformed
// (the stream is not framed the way Copy was told, or is corrupt).
var ErrBadFrame = errors.New("crilog: malformed frame header")

package crilog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

const (
	// maxEntry is the largest piece of a message written as one entry (and
	// the most Copy buffers): a longer frame is written as P pieces.
	maxEntry = 1 << 20
	// dockerSplit is where Docker's log copier cuts a line without a
	// newline (its json-file and local drivers): such a message is a piece
	// of exactly this many bytes, and all pieces of a line carry the
	// timestamp of the first.
	dockerSplit = 16 << 10
	// tsMax bounds the search for the space after a timestamp
	// (RFC3339Nano with a zone offset is 35 bytes).
	tsMax = 40
	// ttyWindow is the read buffer of a TTY stream (> dockerSplit+tsMax).
	ttyWindow = 64 << 10
	// keepPayload is the largest frame buffer Copy keeps between frames.
	keepPayload = 64 << 10

	frameHeader = 8
	sysErr      = 3 // stdcopy.Systemerr
)

// Copy reads a Docker logs stream (ContainerLogs with ShowStdout,
// ShowStderr, Timestamps, usually Follow) and writes every entry to w. The
// stream is framed (stdcopy multiplexing, one frame per log message) unless
// the container has a TTY, in which case it is raw stdout.
//
// A message that ends with a newline is a full entry (a trailing "\r" is
// dropped too), one without is a partial entry: Docker cut a long line. In a
// TTY stream, where messages are not delimited, a cut is recognised by the
// next timestamp following exactly 16 KiB of text.
//
// Entries stamped before after are dropped, and so are those stamped exactly
// after — all of them, or, when w itself wrote the entries stamped after
// (the same Writer resuming, or one opened on the file it wrote), just as
// many as it wrote: the pieces of a cut line share one timestamp, and the
// stream may have broken between them. Docker's Since is inclusive.
//
// Copy returns when the stream ends. At a clean end (the container
// stopped) a line the container left without a newline stays a partial
// entry, as containerd leaves it: the kubelet reads it back as written, so
// a termination message taken from the log (FallbackToLogsOnError) is the
// output itself, with no newline added. A TTY stream's unterminated last
// line is written as full. The error is nil at a clean
// end; a stream that ends inside a frame gives an error wrapping
// io.ErrUnexpectedEOF, a malformed header one wrapping ErrBadFrame, a
// failed read or write that error, wrapped. last is the latest timestamp
// Copy wrote (zero if none): resume with Since = FormatSince(last) and
// after = last. Frames from the daemon itself (stream 3, "Error grabbing
// logs: ...") are not container output and are skipped.
func Copy(r io.Reader, tty bool, after time.Time, w *Writer) (last time.Time, err error) {
	c := &copier{w: w, after: after, skipAt: -1}
	if !after.IsZero() {
		c.skipAt = w.resumeState(after)
	}
	if tty {
		err = c.copyTTY(r)
	} else {
		err = c.copyFramed(r)
	}
	return c.last, err
}

type copier struct {
	w      *Writer
	after  time.Time
	skipAt int       // entries stamped after still to drop; -1: all of them
	prev   time.Time // timestamp of the previous message
	last   time.Time
	buf    []byte
}

// emit writes an entry unless the resume point says it was written before.
func (c *copier) emit(ts time.Time, stream string, partial bool, text []byte) error {
	if !c.after.IsZero() {
		if ts.Before(c.after) {
			return nil
		}
		if ts.Equal(c.after) && c.skipAt != 0 {
			if c.skipAt > 0 {
				c.skipAt--
			}
			return nil
		}
	}
	if err := c.w.Write(ts, stream, partial, text); err != nil {
		return err
	}
	if ts.After(c.last) {
		c.last = ts
	}
	return nil
}

// stamp splits a message into its timestamp and text. A message without a
// parseable timestamp keeps all its bytes and gets the previous message's
// time (or now).
func (c *copier) stamp(b []byte) (time.Time, []byte) {
	if ts, n, ok := parseStamp(b); ok {
		c.prev = ts
		return ts, b[n:]
	}
	if c.prev.IsZero() {
		c.prev = time.Now()
	}
	return c.prev, b
}

// parseStamp reads "<RFC3339Nano> " at the start of b; n counts the space.
func parseStamp(b []byte) (ts time.Time, n int, ok bool) {
	i := bytes.IndexByte(b[:min(len(b), tsMax)], ' ')
	if i < len("2006-01-02T15:04:05Z") {
		return time.Time{}, 0, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, 0, false
	}
	return ts, i + 1, true
}

// cutLine tells a full message (newline, and a "\r" before it, removed)
// from a partial one.
func cutLine(b []byte) (text []byte, partial bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return b, true
	}
	b = b[:len(b)-1]
	return bytes.TrimSuffix(b, []byte{'\r'}), false
}

func (c *copier) copyFramed(r io.Reader) error {
	br := bufio.NewReaderSize(r, 32<<10)
	var hdr [frameHeader]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return nil // between frames: a clean end
			}
			return fmt.Errorf("crilog: reading a frame header: %w", err)
		}
		if hdr[1]|hdr[2]|hdr[3] != 0 || hdr[0] < 1 || hdr[0] > sysErr {
			return fmt.Errorf("%w: % x", ErrBadFrame, hdr)
		}
		size := int64(binary.BigEndian.Uint32(hdr[4:]))
		if hdr[0] == sysErr {
			if _, err := io.CopyN(io.Discard, br, size); err != nil {
				return fmt.Errorf("crilog: reading a %d-byte daemon error frame: %w", size, unexpected(err))
			}
			continue
		}
		if err := c.frame(br, streamNames[hdr[0]-1], size); err != nil {
			return err
		}
	}
}

// frame copies one frame's payload, in pieces of at most maxEntry bytes.
func (c *copier) frame(r io.Reader, stream string, size int64) error {
	defer func() {
		if cap(c.buf) > keepPayload {
			c.buf = nil
		}
	}()
	var ts time.Time
	for first := true; size > 0; first = false {
		n := int(min(size, maxEntry))
		if cap(c.buf) < n {
			c.buf = make([]byte, n)
		}
		b := c.buf[:n]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("crilog: reading a %d-byte frame: %w", size, unexpected(err))
		}
		size -= int64(n)
		if first {
			ts, b = c.stamp(b)
		}
		partial := true
		if size == 0 {
			b, partial = cutLine(b)
		}
		if err := c.emit(ts, stream, partial, b); err != nil {
			return err
		}
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// window is a read buffer whose unread bytes stay in view until skipped.
type window struct {
	r      io.Reader
	buf    []byte
	lo, hi int
	err    error
}

func (w *window) data() []byte { return w.buf[w.lo:w.hi] }

func (w *window) skip(n int) {
	w.lo += n
	if w.lo == w.hi {
		w.lo, w.hi = 0, 0
	}
}

// full tells there is no room for fill.
func (w *window) full() bool { return w.hi-w.lo == len(w.buf) }

// fill reads once more (the window must not be full).
func (w *window) fill() {
	if w.hi == len(w.buf) {
		copy(w.buf, w.buf[w.lo:w.hi])
		w.lo, w.hi = 0, w.hi-w.lo
	}
	for range 100 {
		n, err := w.r.Read(w.buf[w.hi:])
		w.hi += n
		if err != nil {
			w.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	w.err = io.ErrNoProgress
}

// end is the result of a finished stream.
func (w *window) end() error {
	if w.err == io.EOF {
		return nil
	}
	return fmt.Errorf("crilog: reading the log stream: %w", w.err)
}

func (c *copier) copyTTY(r io.Reader) error {
	in := &window{r: r, buf: make([]byte, ttyWindow)}
	for {
		// A message starts with its timestamp and a space.
		for {
			b := in.data()
			if len(b) >= tsMax || bytes.IndexAny(b, " \n") >= 0 || in.err != nil { // len(b) < tsMax from the 2nd test on
				break
			}
			in.fill()
		}
		b := in.data()
		if len(b) == 0 {
			return in.end()
		}
		ts, text := c.stamp(b)
		in.skip(len(b) - len(text))
		if err := c.ttyMessage(in, ts); err != nil {
			return err
		}
	}
}

// ttyMessage writes the text of one message: up to its newline, or up to
// a Docker cut (a partial message), or up to the end of the stream.
func (c *copier) ttyMessage(in *window, ts time.Time) error {
	checked := false // looked for a Docker cut
	for {
		b := in.data()
		nl := bytes.IndexByte(b, '\n')
		if !checked && (nl < 0 || nl > dockerSplit) {
			if len(b) <= dockerSplit {
				if in.err == nil {
					in.fill()
					continue
				}
			} else {
				probe := b[dockerSplit:min(len(b), dockerSplit+tsMax)]
				if _, _, ok := parseStamp(probe); ok {
					in.skip(dockerSplit)
					return c.emit(ts, Stdout, true, b[:dockerSplit])
				}
				if len(probe) < tsMax && bytes.IndexAny(probe, " \n") < 0 && in.err == nil {
					in.fill() // cannot tell yet
					continue
				}
			}
			checked = true
		}
		switch {
		case nl >= 0:
			text, _ := cutLine(b[:nl+1])
			in.skip(nl + 1)
			return c.emit(ts, Stdout, false, text)
		case in.err != nil:
			in.skip(len(b))
			if in.err == io.EOF && len(b) > 0 {
				// The container's last output, without a newline.
				return c.emit(ts, Stdout, false, bytes.TrimSuffix(b, []byte{'\r'}))
			}
			return nil // a broken stream: this message comes again on resume
		case in.full():
			// No cut where Docker would make one, and a full window.
			in.skip(len(b))
			if err := c.emit(ts, Stdout, true, b); err != nil {
				return err
			}
		default:
			in.fill()
		}
	}
}

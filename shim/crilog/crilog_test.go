package crilog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// dockerTS is the timestamp format of Docker's logs API.
const dockerTS = "2006-01-02T15:04:05.000000000Z07:00"

var t0 = time.Date(2026, 11, 22, 18, 0, 0, 123456789, time.UTC)

// at is t0 plus n milliseconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// msg is a Docker log message: timestamp, space, text.
func msg(ts time.Time, text string) string { return ts.Format(dockerTS) + " " + text }

// frame is one multiplexed frame (stream 1 stdout, 2 stderr, 3 daemon error).
func frame(stream byte, payload string) string {
	var h [8]byte
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return string(h[:]) + payload
}

type entry struct {
	ts      time.Time
	stream  string
	partial bool
	text    string
}

func (e entry) String() string {
	tag := "F"
	if e.partial {
		tag = "P"
	}
	text := e.text
	if len(text) > 40 {
		text = fmt.Sprintf("%s...(%d bytes)", text[:20], len(text))
	}
	return fmt.Sprintf("%s %s %s %q", e.ts.Format(time.RFC3339Nano), e.stream, tag, text)
}

func out(ts time.Time, text string) entry  { return entry{ts, Stdout, false, text} }
func errE(ts time.Time, text string) entry { return entry{ts, Stderr, false, text} }
func part(ts time.Time, text string) entry { return entry{ts, Stdout, true, text} }

// readEntries parses every line of the file at path.
func readEntries(t *testing.T, path string) []entry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline: %q", path, b[max(0, len(b)-80):])
	}
	var es []entry
	for _, line := range bytes.SplitAfter(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		ts, stream, partial, text, err := ParseLine(line)
		if err != nil {
			t.Fatalf("%s: line %q: %v", path, line, err)
		}
		es = append(es, entry{ts, stream, partial, string(text)})
	}
	return es
}

func sameEntries(t *testing.T, got, want []entry) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].ts.Equal(want[i].ts) && got[i].stream == want[i].stream &&
			got[i].partial == want[i].partial && got[i].text == want[i].text
	}
	if !ok {
		t.Errorf("entries:\n got %v\nwant %v", got, want)
	}
}

func newWriter(t *testing.T) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

// brokenReader gives its data, then err.
func brokenReader(data string, err error) io.Reader {
	return io.MultiReader(strings.NewReader(data), iotest.ErrReader(err))
}

func TestCopyFramed(t *testing.T) {
	aaa := strings.Repeat("a", dockerSplit)
	big := strings.Repeat("x", maxEntry+maxEntry/2)
	errBroken := errors.New("connection reset")
	tests := []struct {
		name     string
		give     string
		reader   func(io.Reader) io.Reader // nil: as is
		want     []entry
		wantLast time.Time
		wantErr  error
	}{
		{
			name: "stdout and stderr interleaved",
			give: frame(1, msg(at(1), "one\n")) + frame(2, msg(at(2), "oops\n")) + frame(1, msg(at(3), "two\n")) +
				frame(2, msg(at(4), "again\n")),
			want:     []entry{out(at(1), "one"), errE(at(2), "oops"), out(at(3), "two"), errE(at(4), "again")},
			wantLast: at(4),
		},
		{
			name: "a cut line: pieces share the timestamp, P then F",
			give: frame(1, msg(at(1), aaa)) + frame(1, msg(at(1), aaa)) + frame(1, msg(at(1), "tail\n")) +
				frame(1, msg(at(2), "next\n")),
			want:     []entry{part(at(1), aaa), part(at(1), aaa), out(at(1), "tail"), out(at(2), "next")},
			wantLast: at(2),
		},
		{
			name:     "empty line and CRLF",
			give:     frame(1, msg(at(1), "\n")) + frame(2, msg(at(2), "dos\r\n")) + frame(1, msg(at(3), "cr\rinside\n")),
			want:     []entry{out(at(1), ""), errE(at(2), "dos"), out(at(3), "cr\rinside")},
			wantLast: at(3),
		},
		{
			name:     "one byte at a time",
			give:     frame(1, msg(at(1), "one\n")) + frame(2, msg(at(2), "two\n")) + frame(1, msg(at(3), "\n")),
			reader:   iotest.OneByteReader,
			want:     []entry{out(at(1), "one"), errE(at(2), "two"), out(at(3), "")},
			wantLast: at(3),
		},
		{
			name:     "half reads",
			give:     frame(1, msg(at(1), aaa)) + frame(1, msg(at(1), "end\n")) + frame(2, msg(at(2), "two\n")),
			reader:   iotest.HalfReader,
			want:     []entry{part(at(1), aaa), out(at(1), "end"), errE(at(2), "two")},
			wantLast: at(2),
		},
		{
			name:     "truncated inside a payload",
			give:     frame(1, msg(at(1), "one\n")) + frame(2, msg(at(2), "two\n")) + frame(1, msg(at(3), "three\n"))[:20],
			want:     []entry{out(at(1), "one"), errE(at(2), "two")},
			wantLast: at(2),
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name:     "truncated inside a header",
			give:     frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), "two\n"))[:5],
			reader:   iotest.OneByteReader,
			want:     []entry{out(at(1), "one")},
			wantLast: at(1),
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name:     "read error inside a payload",
			give:     frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), "two\n"))[:12],
			reader:   func(r io.Reader) io.Reader { return io.MultiReader(r, iotest.ErrReader(errBroken)) },
			want:     []entry{out(at(1), "one")},
			wantLast: at(1),
			wantErr:  errBroken,
		},
		{
			name:     "malformed header",
			give:     frame(1, msg(at(1), "one\n")) + "\x01\x00\x01\x00\x00\x00\x00\x04" + frame(1, msg(at(2), "two\n")),
			want:     []entry{out(at(1), "one")},
			wantLast: at(1),
			wantErr:  ErrBadFrame,
		},
		{
			name:    "a TTY stream read as framed",
			give:    msg(at(1), "hello\r\n"),
			wantErr: ErrBadFrame,
		},
		{
			name:     "daemon error frames are skipped",
			give:     frame(1, msg(at(1), "one\n")) + frame(3, "Error grabbing logs: bad entry\n") + frame(1, msg(at(2), "two\n")),
			want:     []entry{out(at(1), "one"), out(at(2), "two")},
			wantLast: at(2),
		},
		{
			name:     "an empty frame writes nothing",
			give:     frame(1, "") + frame(2, msg(at(1), "x\n")),
			want:     []entry{errE(at(1), "x")},
			wantLast: at(1),
		},
		{
			name: "no timestamp: the previous message's time",
			give: frame(1, msg(at(1), "one\n")) + frame(2, "no time here\n") + frame(1, "2026-13-45T99:00:00Z bad\n") +
				frame(1, msg(at(2), "two\n")),
			want: []entry{out(at(1), "one"), errE(at(1), "no time here"), out(at(1), "2026-13-45T99:00:00Z bad"),
				out(at(2), "two")},
			wantLast: at(2),
		},
		{
			name:     "a zone offset is read and written as UTC",
			give:     frame(1, "2026-11-22T19:00:00.123456789+01:00 local\n"),
			want:     []entry{out(at(0), "local")},
			wantLast: at(0),
		},
		{
			// As containerd leaves it: the kubelet reads "no newline" back
			// without a newline (a FallbackToLogsOnError termination message).
			name:     "last output without a newline stays P at the end",
			give:     frame(2, msg(at(1), "err\n")) + frame(1, msg(at(2), "no newline")),
			want:     []entry{errE(at(1), "err"), part(at(2), "no newline")},
			wantLast: at(2),
		},
		{
			name:     "an open line is not closed when the stream breaks",
			give:     frame(1, msg(at(1), "no newline")) + frame(1, msg(at(2), "x\n"))[:3],
			want:     []entry{part(at(1), "no newline")},
			wantLast: at(1),
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name:     "a frame over maxEntry is written in pieces",
			give:     frame(1, msg(at(1), big+"\n")) + frame(1, msg(at(2), "after\n")),
			reader:   iotest.HalfReader,
			want:     []entry{part(at(1), big[:maxEntry-len(msg(at(1), ""))]), out(at(1), big[maxEntry-len(msg(at(1), "")):]), out(at(2), "after")},
			wantLast: at(2),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := newWriter(t)
			var r io.Reader = strings.NewReader(tt.give)
			if tt.reader != nil {
				r = tt.reader(r)
			}
			last, err := Copy(r, false, time.Time{}, w)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !last.Equal(tt.wantLast) {
				t.Errorf("last = %v, want %v", last, tt.wantLast)
			}
			sameEntries(t, readEntries(t, path), tt.want)
		})
	}
}

func TestCopyFirstMessageWithoutTimestamp(t *testing.T) {
	w, path := newWriter(t)
	before := time.Now()
	if _, err := Copy(strings.NewReader(frame(1, "garbage\n")+frame(1, "more\n")), false, time.Time{}, w); err != nil {
		t.Fatal(err)
	}
	got := readEntries(t, path)
	if len(got) != 2 || got[0].text != "garbage" || got[1].text != "more" ||
		got[0].ts.Before(before) || got[0].ts.After(time.Now()) || !got[1].ts.Equal(got[0].ts) {
		t.Errorf("got %v, want both entries stamped now", got)
	}
}

func TestCopyTTY(t *testing.T) {
	aaa := strings.Repeat("a", dockerSplit)
	long := strings.Repeat("b", 5*dockerSplit)
	tests := []struct {
		name     string
		give     string
		reader   func(io.Reader) io.Reader
		want     []entry
		wantLast time.Time
		wantErr  error
	}{
		{
			name:     "CRLF lines and an empty one",
			give:     msg(at(1), "hello\r\n") + msg(at(2), "\r\n") + msg(at(3), "tab\there\r\n"),
			want:     []entry{out(at(1), "hello"), out(at(2), ""), out(at(3), "tab\there")},
			wantLast: at(3),
		},
		{
			name:     "one byte at a time",
			give:     msg(at(1), "hello\r\n") + msg(at(2), "world\r\n"),
			reader:   iotest.OneByteReader,
			want:     []entry{out(at(1), "hello"), out(at(2), "world")},
			wantLast: at(2),
		},
		{
			name:     "a Docker cut: the next timestamp after 16 KiB",
			give:     msg(at(1), aaa) + msg(at(1), aaa) + msg(at(1), "tail\r\n") + msg(at(2), "next\r\n"),
			reader:   iotest.HalfReader,
			want:     []entry{part(at(1), aaa), part(at(1), aaa), out(at(1), "tail"), out(at(1+1), "next")},
			wantLast: at(2),
		},
		{
			name:     "a Docker cut, one byte at a time",
			give:     msg(at(1), aaa) + msg(at(1), "\r\n"),
			reader:   iotest.OneByteReader,
			want:     []entry{part(at(1), aaa), out(at(1), "")},
			wantLast: at(1),
		},
		{
			name:     "16 KiB not followed by a timestamp is not a cut",
			give:     msg(at(1), aaa+"2026-11-22 is not a time\r\n"),
			want:     []entry{out(at(1), aaa+"2026-11-22 is not a time")},
			wantLast: at(1),
		},
		{
			name:     "a line longer than the window, no cuts",
			give:     msg(at(1), long+"\r\n") + msg(at(2), "x\r\n"),
			want:     []entry{part(at(1), long[:ttyWindow]), out(at(1), long[ttyWindow:]), out(at(2), "x")},
			wantLast: at(2),
		},
		{
			name:     "the last line without a newline is full",
			give:     msg(at(1), "one\r\n") + msg(at(2), "prompt> "),
			want:     []entry{out(at(1), "one"), out(at(2), "prompt> ")},
			wantLast: at(2),
		},
		{
			name:     "a broken stream drops the unfinished line",
			give:     msg(at(1), "one\r\n") + msg(at(2), "unfini"),
			reader:   func(r io.Reader) io.Reader { return io.MultiReader(r, iotest.ErrReader(io.ErrUnexpectedEOF)) },
			want:     []entry{out(at(1), "one")},
			wantLast: at(1),
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name:     "a line without timestamp",
			give:     msg(at(1), "one\r\n") + "bare\r\n",
			want:     []entry{out(at(1), "one"), out(at(1), "bare")},
			wantLast: at(1),
		},
		{
			name: "empty stream",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := newWriter(t)
			var r io.Reader = strings.NewReader(tt.give)
			if tt.reader != nil {
				r = tt.reader(r)
			}
			last, err := Copy(r, true, time.Time{}, w)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !last.Equal(tt.wantLast) {
				t.Errorf("last = %v, want %v", last, tt.wantLast)
			}
			sameEntries(t, readEntries(t, path), tt.want)
		})
	}
}

func TestCopyAfter(t *testing.T) {
	aaa := strings.Repeat("a", dockerSplit)
	// What Docker sends with Since = at(2): everything stamped at(2) or later.
	since2 := frame(1, msg(at(2), aaa)) + frame(1, msg(at(2), aaa)) + frame(1, msg(at(2), "end\n")) +
		frame(2, msg(at(3), "three\n"))
	tests := []struct {
		name string
		// first is copied with after zero, then give with after = the first copy's last.
		first, give string
		// reopen: a new Writer on the same file for the second copy; rotate: on a fresh file.
		reopen, rotate bool
		want           []entry
	}{
		{
			name:  "entries at or before after are skipped",
			first: frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), "two\n")),
			give:  frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), "two\n")) + frame(2, msg(at(3), "three\n")),
			want:  []entry{out(at(1), "one"), out(at(2), "two"), errE(at(3), "three")},
		},
		{
			name:  "resume inside a cut line with the same Writer",
			first: frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), aaa)) + frame(1, msg(at(2), aaa))[:100],
			give:  since2,
			want: []entry{out(at(1), "one"), part(at(2), aaa), part(at(2), aaa), out(at(2), "end"),
				errE(at(3), "three")},
		},
		{
			name:   "resume inside a cut line after a restart (new Writer on the file)",
			first:  frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), aaa)) + frame(1, msg(at(2), aaa)) + "\x01",
			give:   since2,
			reopen: true,
			want: []entry{out(at(1), "one"), part(at(2), aaa), part(at(2), aaa), out(at(2), "end"),
				errE(at(3), "three")},
		},
		{
			name:   "a Writer that knows nothing of after skips all entries stamped after",
			first:  frame(1, msg(at(1), "one\n")) + frame(1, msg(at(2), "two\n")),
			give:   frame(1, msg(at(2), "two\n")) + frame(1, msg(at(2), "two b\n")) + frame(1, msg(at(3), "three\n")),
			rotate: true,
			want:   []entry{out(at(3), "three")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := newWriter(t)
			after, _ := Copy(strings.NewReader(tt.first), false, time.Time{}, w)
			if after.IsZero() {
				t.Fatal("first copy wrote nothing")
			}
			switch {
			case tt.reopen:
				w.Close()
				var err error
				if w, err = OpenWriter(path); err != nil {
					t.Fatal(err)
				}
				defer w.Close()
			case tt.rotate:
				w.Close()
				path = filepath.Join(t.TempDir(), "1.log")
				var err error
				if w, err = OpenWriter(path); err != nil {
					t.Fatal(err)
				}
				defer w.Close()
			}
			last, err := Copy(strings.NewReader(tt.give), false, after, w)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want[len(tt.want)-1].ts; !last.Equal(want) {
				t.Errorf("last = %v, want %v", last, want)
			}
			sameEntries(t, readEntries(t, path), tt.want)
		})
	}
}

func TestWriteParseRoundTrip(t *testing.T) {
	local := time.FixedZone("X", -7*3600)
	tests := []struct {
		name    string
		ts      time.Time
		stream  string
		partial bool
		give    string
		want    []entry // nil: one entry with give
	}{
		{name: "plain", ts: at(0), stream: Stdout, give: "hello"},
		{name: "empty", ts: at(0), stream: Stderr, give: ""},
		{name: "partial", ts: at(0), stream: Stdout, partial: true, give: "half a li"},
		{name: "tabs and spaces", ts: at(0), stream: Stdout, give: "\t a  b \t"},
		{name: "unicode", ts: at(0), stream: Stderr, give: "héllo wörld ✓ 日本語 🚀"},
		{name: "invalid UTF-8", ts: at(0), stream: Stdout, give: "\xff\xfe\x00zero"},
		{name: "text that looks like an entry", ts: at(0), stream: Stdout, give: "2020-01-01T00:00:00Z stderr P nested"},
		{name: "carriage return", ts: at(0), stream: Stdout, give: "50%\r100%"},
		{name: "whole seconds", ts: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), stream: Stdout, give: "x"},
		{name: "a zone is written as UTC", ts: time.Date(2026, 1, 2, 3, 4, 5, 6, local), stream: Stdout, give: "x"},
		{
			name: "newlines inside end full entries", ts: at(0), stream: Stdout, partial: true, give: "a\n\nb",
			want: []entry{out(at(0), "a"), out(at(0), ""), part(at(0), "b")},
		},
		{
			name: "a trailing newline just ends the entry", ts: at(0), stream: Stderr, give: "line\n",
			want: []entry{errE(at(0), "line")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := newWriter(t)
			if err := w.Write(tt.ts, tt.stream, tt.partial, []byte(tt.give)); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = []entry{{tt.ts, tt.stream, tt.partial, tt.give}}
			}
			sameEntries(t, readEntries(t, path), want)
			raw, _ := os.ReadFile(path)
			if !bytes.Contains(raw[:35], []byte("Z ")) {
				t.Errorf("timestamp not in UTC: %q", raw)
			}
		})
	}
}

func TestWriteFormat(t *testing.T) {
	w, path := newWriter(t)
	w.Write(at(0), Stdout, false, []byte("hello"))
	w.Write(time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC), Stderr, true, []byte("x"))
	b, _ := os.ReadFile(path)
	want := "2026-11-22T18:00:00.123456789Z stdout F hello\n2026-11-22T18:00:00Z stderr P x\n"
	if string(b) != want {
		t.Errorf("file = %q, want %q", b, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm()&^0o640 != 0 {
		t.Errorf("mode = %v, want at most 0640", st.Mode())
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		give        string
		wantStream  string
		wantPartial bool
		wantText    string
		wantErr     bool
	}{
		{give: "2026-11-22T18:00:00.123456789Z stdout F hello\n", wantStream: Stdout, wantText: "hello"},
		{give: "2026-11-22T18:00:00Z stderr P  two spaces", wantStream: Stderr, wantPartial: true, wantText: " two spaces"},
		{give: "2026-11-22T18:00:00.1+02:00 stdout F:future x", wantStream: Stdout, wantText: "x"},
		{give: "2026-11-22T18:00:00Z stdout F ", wantStream: Stdout, wantText: ""},
		{give: "", wantErr: true},
		{give: "2026-11-22T18:00:00Z", wantErr: true},
		{give: "yesterday stdout F x", wantErr: true},
		{give: "2026-11-22T18:00:00Z stdin F x", wantErr: true},
		{give: "2026-11-22T18:00:00Z stdout X x", wantErr: true},
		{give: "2026-11-22T18:00:00Z stdout F", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, stream, partial, text, err := ParseLine([]byte(tt.give))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (stream != tt.wantStream || partial != tt.wantPartial || string(text) != tt.wantText) {
				t.Errorf("got %s %v %q, want %s %v %q", stream, partial, text, tt.wantStream, tt.wantPartial, tt.wantText)
			}
		})
	}
}

func TestFormatSince(t *testing.T) {
	tests := []struct {
		give time.Time
		want string
	}{
		{give: time.Time{}, want: ""},
		{give: time.Unix(1795374844, 961669921), want: "1795374844.961669921"},
		{give: time.Unix(1795374844, 5).In(time.FixedZone("X", 3600)), want: "1795374844.000000005"},
		{give: time.Unix(1795374844, 0), want: "1795374844.000000000"},
		{give: time.Unix(-10, 0), want: "0.000000000"},
	}
	for _, tt := range tests {
		if got := FormatSince(tt.give); got != tt.want {
			t.Errorf("FormatSince(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestReopen(t *testing.T) {
	w, path := newWriter(t)
	w.Write(at(1), Stdout, false, []byte("old"))
	w.Write(at(2), Stdout, true, []byte("old partial"))
	rotated := path + ".20261122-180000"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.Write(at(3), Stderr, false, []byte("new"))
	sameEntries(t, readEntries(t, rotated), []entry{out(at(1), "old"), part(at(2), "old partial")})
	sameEntries(t, readEntries(t, path), []entry{errE(at(3), "new")})
}

func TestReopenFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "0.log")
	os.Mkdir(filepath.Dir(path), 0o755)
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(at(1), Stdout, false, []byte("one"))
	// The kubelet renamed the file, and the path cannot be opened now.
	rotated := filepath.Join(dir, "rotated")
	os.Rename(path, rotated)
	os.Remove(filepath.Dir(path))
	if err := w.Reopen(); err == nil {
		t.Fatal("Reopen succeeded without the directory")
	}
	// It renames it back and retries later.
	os.Mkdir(filepath.Dir(path), 0o755)
	os.Rename(rotated, path)
	if err := w.Write(at(2), Stdout, false, []byte("two")); err != nil {
		t.Fatal(err)
	}
	sameEntries(t, readEntries(t, path), []entry{out(at(1), "one"), out(at(2), "two")})
}

func TestReopenUnderConcurrentWrites(t *testing.T) {
	w, path := newWriter(t)
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				text := fmt.Sprintf("g%d-%d %s", g, i, strings.Repeat("z", i%200))
				if err := w.Write(at(i), []string{Stdout, Stderr}[g%2], false, []byte(text)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rotated []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			r := fmt.Sprintf("%s.%d", path, i)
			if err := os.Rename(path, r); err != nil {
				t.Error(err)
				return
			}
			rotated = append(rotated, r)
			if err := w.Reopen(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	wg.Wait()
	<-done
	seen := map[string]bool{}
	for _, p := range append(rotated, path) {
		for _, e := range readEntries(t, p) { // every line of every file parses
			if seen[e.text] {
				t.Errorf("%q written twice", e.text)
			}
			seen[e.text] = true
		}
	}
	if len(seen) != writers*perWriter {
		t.Errorf("%d entries in the files, want %d", len(seen), writers*perWriter)
	}
	// A write racing Close either lands or fails cleanly.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Write(at(0), Stdout, false, []byte("late")); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Error(err)
		}
	}()
	w.Close()
	wg.Wait()
}

func TestWriteErrors(t *testing.T) {
	w, _ := newWriter(t)
	if err := w.Write(at(0), "stdin", false, []byte("x")); err == nil {
		t.Error("wrote to stream stdin")
	}
	w.Close()
	if err := w.Write(at(0), Stdout, false, []byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after Close: err = %v, want os.ErrClosed", err)
	}
	if err := w.Reopen(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reopen after Close: err = %v, want os.ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	if _, err := OpenWriter(filepath.Join(notDir, "0.log")); err == nil {
		t.Error("OpenWriter under a regular file succeeded")
	}
}

func TestOpenWriterCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod", "app", "0.log")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(at(1), Stdout, false, []byte("one")); err != nil {
		t.Fatal(err)
	}
	sameEntries(t, readEntries(t, path), []entry{out(at(1), "one")})
}

// dockershim left a symlink to Docker's JSON log at the log path: writing
// through it would corrupt Docker's log.
func TestOpenWriterRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "docker-json.log")
	os.WriteFile(target, []byte("{}\n"), 0o600)
	link := filepath.Join(dir, "0.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if w, err := OpenWriter(link); err == nil {
		w.Close()
		t.Fatal("OpenWriter wrote through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "{}\n" {
		t.Fatalf("target changed: %q", b)
	}
}

func TestWriteDiskFull(t *testing.T) {
	w, err := OpenWriter("/dev/full")
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer w.Close()
	if err := w.Write(at(0), Stdout, false, []byte("x")); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("err = %v, want ENOSPC", err)
	}
	last, err := Copy(strings.NewReader(frame(1, msg(at(1), "x\n"))), false, time.Time{}, w)
	if !errors.Is(err, syscall.ENOSPC) || !last.IsZero() {
		t.Errorf("Copy: last %v, err = %v, want zero, ENOSPC", last, err)
	}
}

func TestOpenWriterOnATornFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(path, []byte("2026-11-22T18:00:00Z stdout F one\n2026-11-22T18:00:01Z stdout F tw"), 0o640)
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(at(5000), Stderr, false, []byte("three"))
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], " tw") || !strings.HasSuffix(lines[2], "stderr F three") {
		t.Errorf("file = %q: the new entry should start on its own line", b)
	}
}

func BenchmarkCopy(b *testing.B) {
	const lines = 10000
	var stream bytes.Buffer
	for i := range lines {
		m := msg(at(i), "")
		text := strings.Repeat("x", 100-len(m)-1)
		stream.WriteString(frame(byte(1+i%2), m+text+"\n"))
	}
	data := stream.Bytes()
	dir := b.TempDir()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w, err := OpenWriter(filepath.Join(dir, fmt.Sprintf("%d.log", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Copy(bytes.NewReader(data), false, time.Time{}, w); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}

package bench

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sys/unix"
)

// Progress is the line that tells how far an invocation is: one step per pod
// started and per steady-state sample.
type Progress interface {
	Start(total int)
	Describe(what string)
	Step()
	Done()
}

// Bar draws the progress line on W, a bar on a terminal; elsewhere (a CI
// log) one line per stage, since a redrawn bar would fill the log.
type Bar struct {
	W     io.Writer
	bar   *progressbar.ProgressBar
	plain bool
	start time.Time
}

// Start implements Progress.
func (b *Bar) Start(total int) {
	b.start = time.Now()
	if f, ok := b.W.(*os.File); !ok || !isTerminal(f) {
		b.plain = true
		return
	}
	b.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(b.W),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// Describe implements Progress.
func (b *Bar) Describe(what string) {
	if b.plain {
		fmt.Fprintf(b.W, "[cribench %s] %s\n", time.Since(b.start).Truncate(time.Second), what)
		return
	}
	b.bar.Describe(what)
}

// Step implements Progress.
func (b *Bar) Step() {
	if !b.plain {
		_ = b.bar.Add(1)
	}
}

// Done implements Progress.
func (b *Bar) Done() {
	if !b.plain {
		_ = b.bar.Finish()
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

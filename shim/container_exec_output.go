package shim

// ExecSync output is bounded twice (CVE-2022-31030, CVE-2022-1708): each
// stream is kept to execOutputCap while it is read, the rest drained and
// dropped so the process never blocks on a full pipe; then the two are cut to
// fit one gRPC message, since the kubelet refuses a response above 16 MiB
// (containerd 1.6 keeps 16 MiB each and so answers a 50 MiB output with
// ResourceExhausted).

// execOutputCap is what one stream of an ExecSync keeps while reading.
const execOutputCap = 16 << 20

// execSyncFraming is the most an ExecSyncResponse adds around its outputs:
// two field tags with 4-byte lengths and a negative int32 exit code (11
// bytes), rounded up.
const execSyncFraming = 32

// cappedBuffer keeps the first limit bytes written to it and counts the rest.
// It never fails a write: a failed write would stop the copy, and the
// process would block on its pipe.
type cappedBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	keep := min(len(p), c.limit-len(c.buf))
	c.buf = append(c.buf, p[:keep]...)
	c.dropped += int64(len(p) - keep)
	return len(p), nil
}

// fitOutput cuts stdout and stderr so that together they take at most budget
// bytes. Each stream is guaranteed half the budget; a stream that needs less
// leaves the rest to the other. Both keep their beginning.
func fitOutput(stdout, stderr []byte, budget int) ([]byte, []byte) {
	if len(stdout)+len(stderr) <= budget {
		return stdout, stderr
	}
	half := budget / 2
	switch {
	case len(stdout) <= half:
		return stdout, stderr[:budget-len(stdout)]
	case len(stderr) <= budget-half:
		return stdout[:budget-len(stderr)], stderr
	}
	return stdout[:half], stderr[:budget-half]
}

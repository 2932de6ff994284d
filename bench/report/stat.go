package report

import (
	"slices"
	"time"
)

// number is what Stat summarizes: durations, CPU shares and byte counts.
type number interface {
	~int64 | ~uint64 | ~float64
}

// statOf returns the median and spread of vs.
func statOf[T number](vs []T) Stat[T] {
	if len(vs) == 0 {
		return Stat[T]{}
	}
	sorted := slices.Clone(vs)
	slices.Sort(sorted)
	return Stat[T]{
		Median: median(sorted),
		Min:    sorted[0],
		Max:    sorted[len(sorted)-1],
		N:      len(sorted),
	}
}

// median of a sorted, non-empty slice; of an even count, the mean of the two
// middle values. a+(b-a)/2 rather than (a+b)/2: b ≥ a, so it cannot overflow
// an unsigned byte count.
func median[T number](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	a, b := sorted[n/2-1], sorted[n/2]
	return a + (b-a)/2
}

// ratioOf returns num/den, or false when the ratio would be meaningless (no
// samples on either side, or a zero denominator that JSON could not encode
// the quotient of).
func ratioOf[T number](num, den Stat[T]) (float64, bool) {
	if num.N == 0 || den.N == 0 || den.Median == 0 {
		return 0, false
	}
	return float64(num.Median) / float64(den.Median), true
}

// seconds converts for tables and charts, which show durations in seconds.
func seconds(d time.Duration) float64 { return d.Seconds() }

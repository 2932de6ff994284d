package translate

import (
	"strconv"
	"strings"
)

// apiLess reports whether Docker API version v ("1.41") is older than
// other, comparing dot-separated numbers as Docker does (a missing or
// malformed part reads as 0). It is the client's versions.LessThan, kept
// here because translate does not import the client module.
func apiLess(v, other string) bool {
	a, b := strings.Split(v, "."), strings.Split(other, ".")
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

package translate

import "testing"

func TestAPILess(t *testing.T) {
	tests := []struct {
		v, other string
		want     bool
	}{
		{v: "1.41", other: "1.44", want: true},
		{v: "1.44", other: "1.44", want: false},
		{v: "1.57", other: "1.44", want: false},
		{v: "1.9", other: "1.41", want: true}, // numbers, not text
		{v: "1.100", other: "1.57", want: false},
		{v: "1.44", other: "1.44.0", want: false}, // a missing part is 0
		{v: "1.44", other: "1.44.1", want: true},
		{v: "", other: "1.41", want: true},
		{v: "1.x", other: "1.0", want: false}, // a malformed part is 0
	}
	for _, tt := range tests {
		if got := apiLess(tt.v, tt.other); got != tt.want {
			t.Errorf("apiLess(%q, %q) = %v, want %v", tt.v, tt.other, got, tt.want)
		}
	}
}

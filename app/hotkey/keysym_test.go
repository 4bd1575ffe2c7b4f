//go:build unix && !darwin && !android

package hotkey

import "testing"

func TestKeysymOf(t *testing.T) {
	tests := []struct {
		name string
		want uint32
		ok   bool
	}{
		{"F1", 0xffbe, true},
		{"F8", 0xffc5, true},
		{"F12", 0xffc9, true},
		{"RightControl", 0xffe4, true},
		{"A", 'a', true},
		{"5", '5', true},
		{"F", 'f', true},
		{"Fx", 0, false},
		{"F99", 0, false},
		{"Nonsense", 0, false},
	}
	for _, tc := range tests {
		got, ok := keysymOf(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("keysymOf(%q) = %#x, %v; want %#x, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

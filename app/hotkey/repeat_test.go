package hotkey

import (
	"reflect"
	"testing"
)

// step is one raw event fed to the filter: press, release, or expire.
type step struct {
	op string // "press", "release", "expire"
	t  uint32
}

func TestRepeatFilter(t *testing.T) {
	down, up := Event{Down: true}, Event{Down: false}
	tests := []struct {
		name        string
		detectable  bool
		steps       []step
		want        []Event
		wantRepeats int
	}{
		{"press release", true, []step{{"press", 1}, {"release", 5}}, []Event{down, up}, 0},
		{"detectable repeats are presses", true,
			[]step{{"press", 1}, {"press", 600}, {"press", 640}, {"press", 680}, {"release", 700}},
			[]Event{down, up}, 3},
		{"classic repeat pairs share a timestamp", false,
			[]step{{"press", 1}, {"release", 600}, {"press", 600}, {"release", 640}, {"press", 640}, {"release", 700}, {"expire", 0}},
			[]Event{down, up}, 2},
		{"real release then new press", false,
			[]step{{"press", 1}, {"release", 100}, {"press", 150}, {"release", 200}, {"expire", 0}},
			[]Event{down, up, down, up}, 0},
		{"release without press is ignored", true, []step{{"release", 3}}, nil, 0},
		{"expire with nothing pending", false, []step{{"expire", 0}, {"press", 2}}, []Event{down}, 0},
		{"pending release is not final before expire", false, []step{{"press", 1}, {"release", 9}}, []Event{down}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f repeatFilter
			var got []Event
			for _, s := range tc.steps {
				switch s.op {
				case "press":
					got = append(got, f.press(s.t)...)
				case "release":
					got = append(got, f.release(s.t, tc.detectable)...)
				case "expire":
					got = append(got, f.expire()...)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events = %v, want %v", got, tc.want)
			}
			if f.repeats != tc.wantRepeats {
				t.Errorf("repeats = %d, want %d", f.repeats, tc.wantRepeats)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		in   string
		want Key
	}{
		{"", Key{Name: "F8"}},
		{"F9", Key{Name: "F9"}},
		{"scan:74", Key{Scan: 74}},
		{"scan:x", Key{Name: "scan:x"}},
	}
	for _, tc := range tests {
		if got := ParseKey(tc.in); got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

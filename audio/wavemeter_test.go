package audio

import (
	"testing"
)

// stepped is speech-like PCM for waveform tests: 0.75 s tones at levels
// from silence to near full scale, 6 s (300 frames) in all.
func stepped() []int16 {
	var pcm []int16
	for _, amp := range []float64{0, 0.05, 0.5, 0.1, 0.8, 0, 0.3, 0.02} {
		if amp == 0 {
			pcm = append(pcm, make([]int16, SampleRate*3/4)...)
			continue
		}
		pcm = append(pcm, tone(330, amp, SampleRate*3/4)...)
	}
	return pcm
}

// record runs pcm through a Recorder and returns its packets and summary.
func record(t *testing.T, pcm []int16) ([]Packet, Recording) {
	t.Helper()
	ps, sum, err := RecordPCM(pcm, RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return ps, sum
}

// TestWaveMeterGrows: the growing waveform has one point per
// LiveFramesPerPoint frames until WaveformPoints, then WaveformPoints.
func TestWaveMeterGrows(t *testing.T) {
	ps, _ := record(t, stepped())
	if len(ps) != 300 {
		t.Fatalf("recorded %d packets, want 300", len(ps))
	}
	m, err := NewWaveMeter()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		frames int
		points int
	}{
		{"none", 0, 0},
		{"one frame", 1, 1},
		{"a point's frames", LiveFramesPerPoint, 1},
		{"one frame more", LiveFramesPerPoint + 1, 2},
		{"a second", 50, 17},
		{"just short of full", WaveformPoints*LiveFramesPerPoint - 1, WaveformPoints},
		{"the whole message", 300, WaveformPoints},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for m.Frames() < c.frames {
				if err := m.Add(ps[m.Frames()].Data); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(m.Points()); got != c.points {
				t.Errorf("%d frames: %d points, want %d", c.frames, got, c.points)
			}
			if got, want := m.PointsOf(c.frames/2), WaveformOf(m.peaks[:c.frames/2], (c.frames/2+2)/3); len(want) <= WaveformPoints && string(got) != string(want) {
				t.Errorf("points of the first %d frames %v, want %v", c.frames/2, got, want)
			}
		})
	}
}

// TestWaveMeterEndsAsStored: decoded from the packets, the waveform of the
// whole message is the Recorder's (no jump in shape when the live bubble's
// waveform is replaced by the stored one); halfway it is the first half of
// the message, each level where it was said.
func TestWaveMeterEndsAsStored(t *testing.T) {
	ps, sum := record(t, stepped())
	m, err := NewWaveMeter()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if err := m.Add(p.Data); err != nil {
			t.Fatal(err)
		}
		if i == 149 { // 3 s: silence, -26 dBFS, -6 dBFS, -20 dBFS
			pts := m.Points()
			want := map[int]int{2: 0, 18: 145, 30: 230, 45: 170}
			for j, w := range want {
				if d := abs(int(pts[j]) - w); d > 12 {
					t.Errorf("after 3 s: point %d is %d, want %d (points %v)", j, pts[j], w, pts)
				}
			}
		}
	}
	got, want := m.Points(), sum.Waveform
	if len(got) != len(want) {
		t.Fatalf("%d points, want the stored %d", len(got), len(want))
	}
	// Opus's decoded audio rings on a little where a loud part stops: a
	// bar at such an edge may differ; the rest match within 3 dB.
	total, off := 0, 0
	for i := range got {
		d := abs(int(got[i]) - int(want[i]))
		total += d
		if d > 12 { // 12/255 of 60 dB: 3 dB
			off++
		}
	}
	if mean := float64(total) / float64(len(got)); off > 2 || mean > 4 {
		t.Errorf("decoded waveform: %d points off by more than 3 dB (want at most 2), mean difference %.1f (want <= 4)\n got %v\nwant %v", off, mean, got, want)
	}
	t.Logf("decoded vs stored waveform: %d points off, mean difference %.1f of 255", off, float64(total)/float64(len(got)))
}

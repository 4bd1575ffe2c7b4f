package app

import (
	"testing"
	"time"

	"parley/audio"
	"parley/sync"
)

// steppedSpeech is 6 s (300 frames) of 0.75 s tones at levels from
// silence to near full scale: a waveform with a shape to compare.
func steppedSpeech() []int16 {
	var pcm []int16
	for _, amp := range []float64{0, 0.05, 0.5, 0.1, 0.8, 0, 0.3, 0.02} {
		seg := make([]int16, audio.SampleRate*3/4)
		if amp > 0 {
			copy(seg, toneSamples(330, amp, len(seg)))
		}
		pcm = append(pcm, seg...)
	}
	return pcm
}

// TestLiveWaveformGrows: at the listener, a message still arriving has a
// waveform made from the packets received so far, growing with them by
// whole seconds (one point per 3 packets), and its length so far; ann's loud part shows loud
// where she said it. Once complete it has the stored waveform, which the
// growing one had become (no jump in shape), and the listener forgets its
// decoder. Bob does not play it (auto-play off): the waveform does not
// depend on playback.
func TestLiveWaveformGrows(t *testing.T) {
	e := newLiveEnv(t, livePolicy{})
	packets, summary, err := audio.RecordPCM(steppedSpeech(), audio.RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(packets) != 300 {
		t.Fatalf("recorded %d packets, want 300", len(packets))
	}
	v, err := e.talker.StartVoice(e.lobby)
	if err != nil {
		t.Fatal(err)
	}
	pushed := 0
	push := func(upto int) {
		for ; pushed < upto; pushed++ {
			if err := v.Push(packets[pushed].Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func() sync.Message {
		m, err := e.msgr.Message(v.ID())
		if err != nil {
			return sync.Message{}
		}
		return m
	}
	// Readers run meanwhile, as ui's hint loop and a page read would.
	stop := make(chan struct{})
	readers := make(chan struct{})
	go func() {
		defer close(readers)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond): // a reader's pace, not a wait for an event
				e.msgr.Messages(e.lobby, 0, 50)
			}
		}
	}()
	defer func() {
		close(stop)
		<-readers
	}()
	cases := []struct {
		name    string
		packets int
		points  int
		loud    []int // points that are loud (-6 dBFS and up)
	}{
		{"under a second", 30, 0, nil},
		{"a second", 50, 17, nil},
		{"into the loud part", 120, 34, []int{26, 30}}, // two seconds drawn
		{"most of it", 250, 84, []int{26, 30, 35, 52, 60}},
		{"every packet", 300, 100, []int{26, 30, 35, 52, 60}},
	}
	var last sync.Message
	for _, c := range cases {
		push(c.packets)
		e.waitHint(c.name+": bob has the packets", func() bool {
			last = read()
			return last.Packets >= uint32(c.packets)
		})
		if last.State != sync.StateRecording {
			t.Fatalf("%s: state %v, want recording", c.name, last.State)
		}
		if got := len(last.Waveform); got != c.points {
			t.Errorf("%s: %d waveform points, want %d", c.name, got, c.points)
		}
		if got, want := last.Length(), time.Duration(c.packets)*audio.FrameDuration; got != want {
			t.Errorf("%s: length so far %v, want %v", c.name, got, want)
		}
		for _, i := range c.loud {
			if i < len(last.Waveform) && last.Waveform[i] < 220 {
				t.Errorf("%s: point %d is %d, want loud (>= 220) in %v", c.name, i, last.Waveform[i], last.Waveform)
			}
		}
		if len(last.Waveform) > 0 && last.Waveform[0] > 10 {
			t.Errorf("%s: point 0 is %d, want the opening silence", c.name, last.Waveform[0])
		}
	}
	growing := last.Waveform
	if err := v.End(summary.Duration, summary.Waveform); err != nil {
		t.Fatal(err)
	}
	var done sync.Message
	e.waitHint("bob has the complete message", func() bool {
		done = read()
		return done.State == sync.StateComplete
	})
	if string(done.Waveform) != string(summary.Waveform) {
		t.Errorf("complete message's waveform %v, want the stored %v", done.Waveform, summary.Waveform)
	}
	off, total := 0, 0
	for i := range growing {
		d := int(growing[i]) - int(summary.Waveform[i])
		d = max(d, -d)
		total += d
		if d > 12 { // 3 dB
			off++
		}
	}
	t.Logf("growing waveform at the last packet vs stored: %d of 100 points off by more than 3 dB, mean difference %.1f of 255", off, float64(total)/100)
	if off > 2 || total > 400 {
		t.Errorf("growing waveform jumps when replaced by the stored one: %d points off, mean %.1f\n growing %v\n  stored %v", off, float64(total)/100, growing, summary.Waveform)
	}
	acc := e.msgr.current()
	acc.waves.mu.Lock()
	kept := len(acc.waves.waves)
	acc.waves.mu.Unlock()
	if kept != 0 {
		t.Errorf("%d live waveforms kept after the message ended, want 0", kept)
	}
}

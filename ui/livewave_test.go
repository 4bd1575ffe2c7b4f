package ui

import (
	"math"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"parley/sync"
)

// spokenWave is n points of a speech-like waveform (words and pauses),
// the same for the first points whatever n: what the model gives a message
// growing one point per three packets.
func spokenWave(n int) []byte {
	w := make([]byte, n)
	for i := range w {
		word := math.Max(0, math.Sin(float64(i)*0.21)) // words and gaps
		ripple := 0.5 + 0.5*math.Abs(math.Sin(float64(i)*1.7))
		w[i] = byte(20 + 225*word*ripple)
	}
	return w
}

// TestLiveListenerWaveformGrows: bob's live message on alice's screen (she
// listens) grows as its packets come: at 1 s and at 3 s of it, the same
// bubble shows 17 and then 50 bars from the left with the elapsed time,
// each hint setting that one row once; at 6 s the bars fill the width (100
// of them); complete, it shows the stored 100 bars, the ones it had
// (golden images of the four moments: the last two have the same bars).
func TestLiveListenerWaveformGrows(t *testing.T) {
	h := newHarness(t, true)
	h.m.put(Message{Conversation: "lobby", SenderName: "carol", Kind: sync.KindText, Text: "bob, are you at the dock?",
		State: sync.StateComplete, Created: time.Date(2026, 3, 14, 9, 40, 0, 0, time.UTC)})
	live := h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindVoice, State: sync.StateRecording,
		Created: time.Date(2026, 3, 14, 9, 41, 0, 0, time.UTC)})
	s := openLobby(t, h)
	moments := []struct {
		name    string
		packets uint32
		state   sync.MessageState
		points  int
		times   string
		golden  string
	}{
		{"1 s in", 50, sync.StateRecording, 17, "0:01", "live_wave_1.png"},
		{"3 s in", 150, sync.StateRecording, 50, "0:03", "live_wave_2.png"},
		{"6 s in", 300, sync.StateRecording, 100, "0:06", "live_wave_3.png"},
		{"complete", 300, sync.StateComplete, 100, "0:06", "live_wave_done.png"},
	}
	row := s.bound[live.ID]
	if row == nil {
		t.Fatalf("live message %s not on screen", live.ID)
	}
	wave := row.voice.wave
	for _, c := range moments {
		t.Run(c.name, func(t *testing.T) {
			h.m.update(live.ID, func(m *Message) {
				m.Packets, m.State, m.Waveform = c.packets, c.state, spokenWave(c.points)
				if c.state == sync.StateComplete {
					m.Duration = 6 * time.Second
				}
			})
			sets := row.sets
			h.u.handleHint(Hint{Kind: HintMessage, Conversation: "lobby", Message: live.ID})
			if s.bound[live.ID] != row || row.voice.wave != wave {
				t.Fatal("the live message's row or waveform was replaced, not updated")
			}
			if got := row.sets - sets; got != 1 {
				t.Errorf("row set %d times for one hint, want 1", got)
			}
			if got := len(wave.points); got != c.points {
				t.Errorf("waveform has %d points, want %d", got, c.points)
			}
			if !slices.Equal(wave.points[:17], spokenWave(17)) {
				t.Error("the first bars changed as the message grew")
			}
			if got := row.voice.times.Text; got != c.times {
				t.Errorf("times = %q, want %q", got, c.times)
			}
			test.AssertImageMatches(t, c.golden, h.u.win.Canvas().Capture())
		})
	}
}

// TestLiveTimesTickWithWaveform: a live message's elapsed time changes
// only when a whole second of packets has come, the moment its waveform
// grows a step (50 packets), so both change in one redraw; a complete
// message still shows its duration rounded.
func TestLiveTimesTickWithWaveform(t *testing.T) {
	cases := []struct {
		name    string
		packets uint32
		state   sync.MessageState
		want    string
	}{
		{"live, 1.48 s", 74, sync.StateRecording, "0:01"},
		{"live, 1.5 s", 75, sync.StateRecording, "0:01"},
		{"live, 1.98 s", 99, sync.StateRecording, "0:01"},
		{"live, 2 s", 100, sync.StateRecording, "0:02"},
		{"live, 61 s", 3050, sync.StateRecording, "1:01"},
		{"complete, 1.5 s", 75, sync.StateComplete, "0:02"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := bubbleView{Msg: Message{Kind: sync.KindVoice, State: c.state, Packets: c.packets}}
			if got := timesText(v); got != c.want {
				t.Errorf("timesText(%d packets, %v) = %q, want %q", c.packets, c.state, got, c.want)
			}
		})
	}
	prev := ""
	for n := uint32(1); n <= 400; n++ {
		got := timesText(bubbleView{Msg: Message{Kind: sync.KindVoice, State: sync.StateRecording, Packets: n}})
		if changed := got != prev; changed != (n%50 == 0) && n > 1 {
			t.Errorf("at %d packets the live time went %q -> %q: it must change exactly at whole seconds (50 packets)", n, prev, got)
		}
		prev = got
	}
}

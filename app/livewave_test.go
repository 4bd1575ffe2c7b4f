package app

import (
	"context"
	"log/slog"
	gosync "sync"
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

// cachedPackets is a packetReader over packets held in memory, as
// sync.Store reads them (from on, stopping at the first not cached),
// counting the reads.
type cachedPackets struct {
	mu    gosync.Mutex
	data  map[uint32][]byte
	reads int
}

func (c *cachedPackets) Packets(_ context.Context, _ string, from uint32, limit int) ([]sync.Packet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	if limit <= 0 {
		limit = 1 << 30
	}
	var ps []sync.Packet
	for seq := from; len(ps) < limit; seq++ {
		d, ok := c.data[seq]
		if !ok {
			break
		}
		ps = append(ps, sync.Packet{Seq: seq, Data: d})
	}
	return ps, nil
}

func (c *cachedPackets) put(ps []audio.Packet, from, to int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; i < to; i++ {
		c.data[uint32(i)] = ps[i].Data
	}
}

// TestLiveWaveformLateJoin: bob joined ann's message 3 s in (packets 150
// on cached, the start never fetched). His waveform shows the received
// span where it belongs, the missing start silent (not waiting for packet
// 0); it finds the start with a few one-packet reads, once, and the reads
// after stay one per read. When he plays it from the start (its packets
// fetched), the start fills in.
func TestLiveWaveformLateJoin(t *testing.T) {
	packets, summary, err := audio.RecordPCM(steppedSpeech(), audio.RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		packets uint32        // the message's packets as bob's store knows them
		skew    time.Duration // bob's clock ahead of the server's
	}{
		{"known count 0, clocks agree", 0, 0},
		{"known count at join", 150, 0},
		{"clock 4 s ahead", 0, 4 * time.Second},
		{"clock 4 s behind", 0, -4 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &cachedPackets{data: map[uint32][]byte{}}
			st.put(packets, 150, 250)
			l := newLiveWaves(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
			created := time.Now().Add(c.skew - 250*audio.FrameDuration)
			read := func() sync.Message {
				ms := []sync.Message{{ID: "m1", Kind: sync.KindVoice, State: sync.StateRecording, Created: created, Packets: c.packets}}
				l.fill(context.Background(), st, ms)
				return ms[0]
			}
			m := read()
			if got, want := len(m.Waveform), 84; got != want { // 250 packets drawn by seconds: 200, at 3 a point
				t.Fatalf("%d points, want %d (the received span where it belongs): %v", got, want, m.Waveform)
			}
			for i := range 50 { // packets 0..149 not received
				if m.Waveform[i] != 0 {
					t.Fatalf("point %d is %d, want 0 (not received): %v", i, m.Waveform[i], m.Waveform)
				}
			}
			for _, i := range []int{52, 60} { // loud, as in TestLiveWaveformGrows
				if m.Waveform[i] < 220 {
					t.Errorf("point %d is %d, want loud: %v", i, m.Waveform[i], m.Waveform)
				}
			}
			if m.Packets != 250 {
				t.Errorf("length so far %d packets, want 250", m.Packets)
			}
			found := st.reads
			t.Logf("found the start with %d reads", found)
			if found > 30 {
				t.Errorf("%d reads to find the start, want a few", found)
			}
			read()
			if st.reads-found > 2 {
				t.Errorf("a read after the start was found took %d reads, want 1 or 2", st.reads-found)
			}
			st.put(packets, 0, 150) // bob plays it from the start: fetched
			st.put(packets, 250, 300)
			m = read()
			if len(m.Waveform) != 100 {
				t.Fatalf("%d points after every packet, want 100", len(m.Waveform))
			}
			for _, i := range []int{26, 30, 35} {
				if m.Waveform[i] < 220 {
					t.Errorf("start not filled in: point %d is %d, want loud: %v", i, m.Waveform[i], m.Waveform)
				}
			}
			off := 0
			for i := range m.Waveform {
				if d := int(m.Waveform[i]) - int(summary.Waveform[i]); d > 12 || d < -12 {
					off++
				}
			}
			if off > 3 {
				t.Errorf("filled waveform is %d points off the stored one\n got %v\nwant %v", off, m.Waveform, summary.Waveform)
			}
		})
	}
}

// TestLiveWaveformNoProbes: a message heard from its start costs one
// packet read per waveform read, as before late joins were handled:
// growing, between two batches (nothing new), and before its first
// packet is cached.
func TestLiveWaveformNoProbes(t *testing.T) {
	packets, _, err := audio.RecordPCM(steppedSpeech(), audio.RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		cached int // packets cached from 0
		age    time.Duration
	}{
		{"first packet not cached yet", 0, 500 * time.Millisecond},
		{"growing", 120, 3 * time.Second},
		{"nothing new since the last read", 120, 3 * time.Second},
	}
	st := &cachedPackets{data: map[uint32][]byte{}}
	l := newLiveWaves(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, c := range cases {
		st.put(packets, 0, c.cached)
		before := st.reads
		ms := []sync.Message{{ID: "m1", Kind: sync.KindVoice, State: sync.StateRecording, Created: time.Now().Add(-c.age)}}
		l.fill(context.Background(), st, ms)
		if got := st.reads - before; got != 1 {
			t.Errorf("%s: %d packet reads, want 1", c.name, got)
		}
		if got, want := ms[0].Packets, uint32(c.cached); got != want {
			t.Errorf("%s: %d packets so far, want %d", c.name, got, want)
		}
	}
}

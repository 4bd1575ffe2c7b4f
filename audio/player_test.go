package audio

import (
	"testing"
	"time"
)

// TestLiveLowWater: a live player decodes each frame only when its voice
// is down to the low water (empty, or up to one device period after the
// loop was late), not as soon as the voice has room for a frame: every
// sample queued there is delay. Measured on the trace's mixer stage (what
// the voice holds when a frame is decoded), which was one whole frame
// (20 ms) before.
func TestLiveLowWater(t *testing.T) {
	e := newNullEngine(t)
	EnableTrace(true)
	defer EnableTrace(false)
	pkts := encodeTone(t, 440, time.Second)
	p := playLive(t, e, pkts, PlayerConfig{Live: true})
	lead := samplesToDuration(e.mix.lead.Load())
	for _, s := range TraceReport() {
		if s.Stage != StageMixer {
			continue
		}
		t.Logf("mixer stage: n=%d p50=%v p95=%v (lead %v); jitter %+v", s.N, s.P50, s.P95, lead, p.JitterStats())
		if s.N < len(pkts)/2 {
			t.Fatalf("mixer stage traced %d frames of %d", s.N, len(pkts))
		}
		if s.P95 > lead {
			t.Errorf("a live frame is decoded with %v queued in its voice (p95), want at most the lead %v", s.P95, lead)
		}
		return
	}
	t.Fatal("no mixer stage in the trace")
}

// TestLiveShedsSpare: a live stream started with more delay than its
// packets need (a 60 ms start, packets on time) has the spare taken off
// inside its pauses, by whole device periods, without a stall.
func TestLiveShedsSpare(t *testing.T) {
	e := newNullEngine(t)
	var pcm []int16
	for range 6 { // 0.5 s of tone, 0.5 s of silence
		pcm = append(pcm, tone(440, 0.3, SampleRate/2)...)
		pcm = append(pcm, make([]int16, SampleRate/2)...)
	}
	pkts, err := EncodePCM(pcm, EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p := playLive(t, e, pkts, PlayerConfig{Live: true, Jitter: JitterConfig{MinDelay: 60 * time.Millisecond}})
	st := p.JitterStats()
	t.Logf("jitter %+v", st)
	if st.Shed < 20*time.Millisecond {
		t.Errorf("shed %v of a 60 ms start with packets on time, want at least 20 ms", st.Shed)
	}
	// Whole periods: of 10 ms, or 20 ms after a fallback; skipped frames
	// are 20 ms.
	if period := e.cfg.Period; st.Shed%period != 0 {
		t.Errorf("shed %v, want whole device periods of %v", st.Shed, period)
	}
}

// TestLiveWaitsForLatePacket: a packet that comes after the mixer has
// emptied the voice, but well before the device needs its samples, is
// played, not concealed as a stall: the loop gives it the rest of the
// device period. Each packet after the first is handed over 2 ms after
// the mixer took the last sample of the one before it (the loop used to
// stall on every one of them).
func TestLiveWaitsForLatePacket(t *testing.T) {
	e := newNullEngine(t)
	pkts := encodeTone(t, 440, 600*time.Millisecond)
	ch := make(chan Packet)
	p, err := e.Play(ChanSource(ch), PlayerConfig{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go func() {
		defer close(ch)
		for i, pk := range pkts {
			for i > 0 && p.v.consumed.Load() < int64(i*FrameSamples) {
				time.Sleep(100 * time.Microsecond) // polls the voice
			}
			if i > 0 {
				time.Sleep(2 * time.Millisecond) // the packet's lateness
			}
			pk.Arrived = time.Now()
			ch <- pk
		}
	}()
	for ev := range p.Events() {
		if ev.Kind == PlayerFinished {
			break
		}
	}
	st := p.JitterStats()
	t.Logf("jitter %+v", st)
	if st.Stalls != 0 || st.Played != len(pkts) {
		t.Errorf("%d stalls, %d of %d packets played, want none and all", st.Stalls, st.Played, len(pkts))
	}
}

// playLive plays pkts as a talker sends them, one every 20 ms, through a
// live player with cfg, and returns the player once it has finished.
func playLive(t *testing.T, e *Engine, pkts []Packet, cfg PlayerConfig) *Player {
	t.Helper()
	ch := make(chan Packet, len(pkts))
	p, err := e.Play(ChanSource(ch), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	go func() { // the talker, at its pace
		tick := time.NewTicker(FrameDuration)
		defer tick.Stop()
		begin := time.Now()
		for i, pk := range pkts {
			<-tick.C
			pk.Arrived = begin.Add(time.Duration(i+1) * FrameDuration)
			ch <- pk
		}
		close(ch)
	}()
	for ev := range p.Events() {
		if ev.Kind == PlayerFinished {
			break
		}
	}
	return p
}

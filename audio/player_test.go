package audio

import (
	"testing"
	"time"
)

// TestLiveLowWater: a live player decodes each frame only when its voice
// is down to the low water (one device period), not as soon as the voice
// has room for a frame: every sample queued there is delay. Measured on
// the trace's mixer stage (what the voice holds when a frame is decoded),
// which was one whole frame (20 ms) before.
func TestLiveLowWater(t *testing.T) {
	e := newNullEngine(t)
	EnableTrace(true)
	defer EnableTrace(false)
	pkts := encodeTone(t, 440, time.Second)
	ch := make(chan Packet, len(pkts))
	p, err := e.Play(ChanSource(ch), PlayerConfig{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
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
	lead := samplesToDuration(e.mix.lead.Load())
	for _, s := range TraceReport() {
		if s.Stage != StageMixer {
			continue
		}
		t.Logf("mixer stage: n=%d p50=%v p95=%v (low water %v)", s.N, s.P50, s.P95, lead)
		if s.N < len(pkts)/2 {
			t.Fatalf("mixer stage traced %d frames of %d", s.N, len(pkts))
		}
		if s.P95 > lead {
			t.Errorf("a live frame is decoded with %v queued in its voice (p95), want at most the low water %v", s.P95, lead)
		}
		return
	}
	t.Fatal("no mixer stage in the trace")
}

package audio

import (
	"math"
	"testing"
	"time"
)

// noiseSource is a microphone that hears steady white noise (about -30
// dBFS) at the real pace, between recordings too. reached[i] is closed
// once it has delivered marks[i] of it.
type noiseSource struct {
	start   time.Time
	sent    int64
	seed    uint32
	ticker  *time.Ticker
	marks   []int64 // samples
	reached []chan struct{}
}

func newNoiseSource(marks ...time.Duration) *noiseSource {
	s := &noiseSource{start: time.Now(), seed: 1, ticker: time.NewTicker(10 * time.Millisecond)}
	for _, m := range marks {
		s.marks = append(s.marks, durationToSamples(m))
		s.reached = append(s.reached, make(chan struct{}))
	}
	return s
}

func (s *noiseSource) ready() <-chan struct{}   { return nil }
func (s *noiseSource) tick() <-chan time.Time   { return s.ticker.C }
func (s *noiseSource) begin()                   {}
func (s *noiseSource) end()                     {}
func (s *noiseSource) flowing() <-chan struct{} { return closedChan }
func (s *noiseSource) idle() bool               { return false }
func (s *noiseSource) wake() error              { return nil }
func (s *noiseSource) read(p []int16) (int, error) {
	n := min(int64(len(p)), durationToSamples(time.Since(s.start))-s.sent)
	for i := range n {
		s.seed = s.seed*1664525 + 1013904223
		p[i] = int16(int32(s.seed>>16)%4000 - 2000)
	}
	for i, m := range s.marks {
		if s.sent < m && s.sent+n >= m {
			close(s.reached[i])
		}
	}
	s.sent += n
	return int(n), nil
}

// noiseDBFS is the level of noiseSource's noise (uniform, ±2000).
var noiseDBFS = 20 * math.Log10(2000/math.Sqrt(3)/32768)

// TestWarmClean: between recordings the clean-up runs only for the first
// idleCleanFor after the Recorder opens, yet the start of a recording is
// denoised about as well as if it had run all along (-62 dBFS from the
// -29 dBFS noise when it did; -36 with a cold noise estimate).
func TestWarmClean(t *testing.T) {
	src := newNoiseSource(3*time.Second, 4*time.Second+FrameDuration*25+3*time.Second)
	defer src.ticker.Stop()
	rec, err := newRecorder(src, RecorderConfig{Preprocess: PreprocessConfig{Denoise: true}}, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	wait := func(i int) {
		t.Helper()
		select {
		case <-src.reached[i]:
		case <-time.After(20 * time.Second):
			t.Fatalf("the noise source did not reach mark %d in 20 s", i)
		}
	}
	// record returns the level of the first 300 ms of a 500 ms recording.
	record := func() float64 {
		t.Helper()
		ch, err := rec.Start()
		if err != nil {
			t.Fatal(err)
		}
		var pkts []Packet
		for p := range ch {
			pkts = append(pkts, p)
			if len(pkts) == 25 {
				if _, err := rec.Stop(); err != nil {
					t.Fatal(err)
				}
			}
		}
		out, err := DecodeAll(t.Context(), NewSliceSource(pkts))
		if err != nil {
			t.Fatal(err)
		}
		return 20 * math.Log10(rmsOf(toFloat32s(out[:durationToSamples(300*time.Millisecond)])))
	}
	for i, name := range []string{"after 3 s open", "after a recording and 3 s idle"} {
		wait(i)
		got := record()
		t.Logf("%s: the first 300 ms of the recording are at %.1f dBFS (the noise is %.1f dBFS)", name, got, noiseDBFS)
		if noiseDBFS-got < 20 {
			t.Errorf("%s: the first 300 ms are only %.1f dB under the noise, want 20 dB: the clean-up was not warm", name, noiseDBFS-got)
		}
	}
	rec.Close()
	if limit := durationToSamples(idleCleanFor + 100*time.Millisecond); rec.idleCleaned > limit {
		t.Errorf("the clean-up ran on %v of idle audio, want about %v", samplesToDuration(rec.idleCleaned), idleCleanFor)
	}
}

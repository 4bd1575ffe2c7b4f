package audio

import (
	"log/slog"
	"math"
	"testing"
)

// tone returns n samples of a sine at freq Hz and amplitude amp (0..1).
func tone(freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return out
}

// goertzelPower is the power of pcm at freq.
func goertzelPower(pcm []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// dominantFreq finds the strongest frequency in [lo, hi] Hz to 0.5 Hz.
func dominantFreq(pcm []int16, lo, hi float64) float64 {
	best, bestP := lo, -1.0
	for f := lo; f <= hi; f += 2 {
		if p := goertzelPower(pcm, f); p > bestP {
			best, bestP = f, p
		}
	}
	for f := best - 2; f <= best+2; f += 0.5 {
		if p := goertzelPower(pcm, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

func rms(pcm []int16) float64 { return float64(measureLevel(pcm).RMS) }

// testLogger logs through t.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

package audio

import (
	"math"
	"testing"
)

// stretchAll runs pcm through a stretcher in 20 ms frames.
func stretchAll(pcm []int16, speed float64) []int16 {
	s := newStretcher(speed)
	var out []int16
	for i := 0; i < len(pcm); i += FrameSamples {
		out = append(out, s.write(pcm[i:min(len(pcm), i+FrameSamples)])...)
	}
	return append(out, s.flush()...)
}

// TestTimeStretch: at 1.5x and 2x the output lasts 1/speed of the input
// within 2 % and its dominant frequency stays within 3 %.
func TestTimeStretch(t *testing.T) {
	for _, speed := range []float64{1, 1.5, 2} {
		for _, freq := range []float64{180, 440} {
			t.Run(ftoa(speed)+"x/"+itoa(int(freq))+"Hz", func(t *testing.T) {
				in := tone(freq, 0.3, 2*SampleRate)
				out := stretchAll(in, speed)
				want := float64(len(in)) / speed
				if d := math.Abs(float64(len(out))-want) / want; d > 0.02 {
					t.Errorf("output %d samples, want %.0f ±2%% (off by %.2f%%)", len(out), want, 100*d)
				}
				mid := out[len(out)/4 : 3*len(out)/4]
				if got := dominantFreq(mid, freq*0.8, freq*1.2); math.Abs(got-freq)/freq > 0.03 {
					t.Errorf("pitch %.1f Hz, want %.0f ±3%%", got, freq)
				}
				// A pitch-preserving stretch of a steady tone keeps its level.
				if g, w := rms(mid), rms(in); math.Abs(20*math.Log10(g/w)) > 1.5 {
					t.Errorf("level changed by %.2f dB", 20*math.Log10(g/w))
				}
			})
		}
	}
}

// TestTimeStretchUnityIsTransparent: at 1x the stretcher reproduces its
// input exactly (the Hann windows sum to one).
func TestTimeStretchUnityIsTransparent(t *testing.T) {
	in := tone(300, 0.3, SampleRate/2)
	out := stretchAll(in, 1)
	for i := wsolaHop; i < len(in)-wsolaWin; i++ {
		if d := int(out[i]) - int(in[i]); d > 1 || d < -1 {
			t.Fatalf("sample %d = %d, want %d", i, out[i], in[i])
		}
	}
}

func ftoa(f float64) string {
	if f == math.Trunc(f) {
		return itoa(int(f))
	}
	return itoa(int(f)) + "." + itoa(int(math.Round((f-math.Trunc(f))*10)))
}

func BenchmarkTimeStretch2x(b *testing.B) {
	in := tone(180, 0.3, SampleRate)
	s := newStretcher(2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.write(in[i : i+FrameSamples])
		i = (i + FrameSamples) % (len(in) - FrameSamples)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

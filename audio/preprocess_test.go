package audio

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

// speechAndNoise makes clean espeak-ng speech and sox brown noise (a fan),
// both 48 kHz mono floats; the noise is longer by lead seconds at the start.
func speechAndNoise(t *testing.T) (speech, noise []float32) {
	t.Helper()
	dir := t.TempDir()
	sp := filepath.Join(dir, "speech.wav")
	text := "Hello from Parley. The fan in this room is loud, but you should still hear every word I say. One, two, three, four, five."
	if out, err := exec.Command(requireTool(t, "espeak-ng"), "-s", "150", "-w", sp, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	nz := filepath.Join(dir, "noise.wav")
	if out, err := exec.Command(requireTool(t, "sox"), "-R", "-n", "-r", "48000", "-c", "1", "-b", "16", nz, "synth", "14", "brownnoise", "vol", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	s16, err := ReadWAVFile(sp)
	if err != nil {
		t.Fatal(err)
	}
	n16, err := ReadWAVFile(nz)
	if err != nil {
		t.Fatal(err)
	}
	return toFloat32s(s16), toFloat32s(n16)
}

func toFloat32s(s []int16) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v) / 32768
	}
	return out
}

func rmsOf(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(1, len(x))))
}

// activeRMS is the RMS over the 20 ms frames of clean where speech is
// (louder than -50 dBFS), and the mask of those frames.
func activeRMS(clean []float32) (float64, []bool) {
	mask := make([]bool, len(clean)/FrameSamples)
	var s float64
	n := 0
	for i := range mask {
		f := clean[i*FrameSamples : (i+1)*FrameSamples]
		if rmsOf(f) > 0.00316 {
			mask[i] = true
			for _, v := range f {
				s += float64(v) * float64(v)
			}
			n += len(f)
		}
	}
	return math.Sqrt(s / float64(max(1, n))), mask
}

// runPreprocess cleans x (a multiple of FrameSamples) and returns the output.
func runPreprocess(t *testing.T, x []float32, cfg PreprocessConfig) []float32 {
	t.Helper()
	p, err := newPreprocessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	out := make([]float32, 0, len(x))
	frame := make([]int16, FrameSamples)
	for i := 0; i+FrameSamples <= len(x); i += FrameSamples {
		for j := range frame {
			frame[j] = floatToSample(x[i+j])
		}
		if cfg.Any() {
			p.process(frame)
		}
		for _, v := range frame {
			out = append(out, float32(v)/32768)
		}
	}
	return out
}

// siSNR is the scale-invariant SNR of y against the reference s over the
// masked frames, and their correlation, at the lag (±40 ms) that fits best.
// The lag is searched on the first 100 masked frames (it is the
// preprocessor's fixed delay), then everything is measured at it.
func siSNR(s, y []float32, mask []bool) (snrDB, corr float64, lag int) {
	sums := func(l, maxFrames int) (ss, sy, yy float64) {
		n := 0
		for f, on := range mask {
			if !on {
				continue
			}
			if n++; maxFrames > 0 && n > maxFrames {
				break
			}
			for i := f * FrameSamples; i < (f+1)*FrameSamples; i++ {
				if j := i + l; j >= 0 && j < len(y) {
					ss += float64(s[i]) * float64(s[i])
					sy += float64(s[i]) * float64(y[j])
					yy += float64(y[j]) * float64(y[j])
				}
			}
		}
		return ss, sy, yy
	}
	best := math.Inf(-1)
	for l := -1920; l <= 1920; l += 16 {
		ss, sy, yy := sums(l, 100)
		if c := sy / math.Sqrt(ss*yy); c > best {
			best, lag = c, l
		}
	}
	ss, sy, yy := sums(lag, 0)
	g := sy / ss
	snrDB = 10 * math.Log10(g*g*ss/(yy-2*g*sy+g*g*ss))
	return snrDB, sy / math.Sqrt(ss*yy), lag
}

// TestPreprocessNoisySpeech mixes speech with fan noise at 5 dB SNR (the
// noise runs 2 s alone first, as with a warm microphone) and compares the
// raw mix with the denoised one, and with every stage on.
func TestPreprocessNoisySpeech(t *testing.T) {
	speech, noise := speechAndNoise(t)
	const lead = 2 * SampleRate
	n := (lead + len(speech) + SampleRate) / FrameSamples * FrameSamples
	if len(noise) < n {
		t.Fatalf("noise %d samples, want %d", len(noise), n)
	}
	clean := make([]float32, n)
	copy(clean[lead:], speech)
	speechRMS, mask := activeRMS(clean)
	noiseRMS := rmsOf(noise[:n])
	g := float32(speechRMS / noiseRMS / math.Pow(10, 5.0/20)) // noise 5 dB under the speech
	mix := make([]float32, n)
	for i := range mix {
		mix[i] = clean[i] + g*noise[i]
	}
	// Noise only: the last 0.8 s, after the speech (and the hangover).
	pause := func(y []float32) float64 {
		return rmsOf(y[n-SampleRate*8/10 : n])
	}
	rawSNR, rawCorr, _ := siSNR(clean, mix, mask)
	t.Logf("input: speech %.1f dBFS RMS, noise %.1f dBFS RMS", 20*math.Log10(speechRMS), 20*math.Log10(float64(g)*noiseRMS))
	t.Logf("%-18s  SI-SNR %6.1f dB  corr %.3f  noise in pause %6.1f dBFS", "raw", rawSNR, rawCorr, 20*math.Log10(pause(mix)))
	for _, tc := range []struct {
		name                 string
		cfg                  PreprocessConfig
		minGain, minPauseCut float64 // dB
	}{
		{"denoise", PreprocessConfig{Denoise: true}, 3, 10},
		{"denoise+agc+vad", DefaultPreprocess, 2, 10},
	} {
		out := runPreprocess(t, mix, tc.cfg)
		snr, corr, lag := siSNR(clean, out, mask)
		cut := 20 * math.Log10(pause(mix)/pause(out))
		t.Logf("%-18s  SI-SNR %6.1f dB  corr %.3f  noise in pause %6.1f dBFS (%.1f dB less), lag %d samples",
			tc.name, snr, corr, 20*math.Log10(pause(out)), cut, lag)
		if snr-rawSNR < tc.minGain {
			t.Errorf("%s: SI-SNR %.1f dB, want at least %.0f dB over the raw %.1f dB", tc.name, snr, tc.minGain, rawSNR)
		}
		if corr <= rawCorr {
			t.Errorf("%s: correlation with the clean speech %.3f, not above the raw %.3f", tc.name, corr, rawCorr)
		}
		if cut < tc.minPauseCut {
			t.Errorf("%s: noise between words only %.1f dB lower, want %.0f dB", tc.name, cut, tc.minPauseCut)
		}
	}
}

// TestPreprocessLevels: with AGC on, quiet speech (-30 dBFS RMS) and loud
// speech (-8 dBFS) both come out at a normal level; with every stage off
// the level is untouched.
func TestPreprocessLevels(t *testing.T) {
	speech, _ := speechAndNoise(t)
	// Twice the sentence: the AGC settles during the first; the second is measured.
	half := (len(speech) + FrameSamples - 1) / FrameSamples * FrameSamples
	n := 2 * half
	base := make([]float32, n)
	copy(base, speech)
	copy(base[half:], speech)
	_, mask := activeRMS(base[half:])
	level := func(y []float32) float64 {
		var s float64
		k := 0
		for f, on := range mask {
			if !on || half+(f+2)*FrameSamples > len(y) {
				continue
			}
			// one frame later: the preprocessor delays by a frame
			seg := y[half+(f+1)*FrameSamples : half+(f+2)*FrameSamples]
			for _, v := range seg {
				s += float64(v) * float64(v)
			}
			k += len(seg)
		}
		return 20 * math.Log10(math.Sqrt(s/float64(max(1, k))))
	}
	r, _ := activeRMS(base)
	for _, in := range []float64{-30, -12} {
		x := make([]float32, n)
		scale := float32(math.Pow(10, in/20) / r)
		for i := range x {
			x[i] = base[i] * scale
		}
		off := level(runPreprocess(t, x, PreprocessConfig{}))
		on := level(runPreprocess(t, x, DefaultPreprocess))
		t.Logf("speech at %.0f dBFS RMS: stages off %.1f dBFS, stages on %.1f dBFS (second sentence)", in, off, on)
		if math.Abs(off-in) > 1 {
			t.Errorf("%.0f dBFS: with every stage off the level moved to %.1f dBFS", in, off)
		}
		if on < -22 || on > -14 {
			t.Errorf("%.0f dBFS: with AGC the speech is at %.1f dBFS, want a normal level (-22..-14 dBFS)", in, on)
		}
	}
}

// TestRecorderPreprocess: a file recorder with the clean-up on sends the
// denoised signal (quieter noise before the tone) and the same number of
// packets as with it off.
func TestRecorderPreprocess(t *testing.T) {
	// 3 s of noise (the noise estimate settles), then 1 s of tone over it.
	pcm := make([]int16, 4*SampleRate)
	seed := uint32(1)
	for i := range pcm {
		seed = seed*1664525 + 1013904223
		pcm[i] = int16(int32(seed>>16)%4000 - 2000) // about -30 dBFS white noise
	}
	for i, v := range tone(440, 0.3, SampleRate) {
		pcm[3*SampleRate+i] += v
	}
	record := func(cfg PreprocessConfig) ([]int16, Recording) {
		rec, err := NewPCMRecorder(pcm, FileRecorderConfig{RecorderConfig: RecorderConfig{Preprocess: cfg}})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		ch, err := rec.Start()
		if err != nil {
			t.Fatal(err)
		}
		var pkts []Packet
		for p := range ch {
			pkts = append(pkts, p)
		}
		sum, err := rec.Stop()
		if err != nil {
			t.Fatal(err)
		}
		out, err := DecodeAll(t.Context(), NewSliceSource(pkts))
		if err != nil {
			t.Fatal(err)
		}
		return out, sum
	}
	noiseRMS := func(s []int16) float64 { return rmsOf(toFloat32s(s[2*SampleRate : SampleRate*29/10])) }
	raw, rawSum := record(PreprocessConfig{})
	clean, cleanSum := record(PreprocessConfig{Denoise: true})
	cut := 20 * math.Log10(noiseRMS(raw)/noiseRMS(clean))
	t.Logf("noise before the tone: raw %.1f dBFS, denoised %.1f dBFS (%.1f dB less); packets %d / %d",
		20*math.Log10(noiseRMS(raw)), 20*math.Log10(noiseRMS(clean)), cut, rawSum.Packets, cleanSum.Packets)
	if cut < 6 {
		t.Errorf("denoised recording only %.1f dB quieter between sounds, want 6 dB", cut)
	}
	if d := rawSum.Packets - cleanSum.Packets; d < 0 || d > 1 {
		t.Errorf("packets: %d raw, %d denoised; want the same (the clean-up holds back at most one frame)", rawSum.Packets, cleanSum.Packets)
	}
}

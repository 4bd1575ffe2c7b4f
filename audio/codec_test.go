package audio

import (
	"context"
	"math"
	"testing"
)

// TestOpusRoundTripTone: a 440 Hz tone at -12 dBFS keeps its frequency
// within 1 % and its level within 1.5 dB through 24 kb/s Opus.
func TestOpusRoundTripTone(t *testing.T) {
	for _, freq := range []float64{220, 440, 1000} {
		t.Run(itoa(int(freq))+"Hz", func(t *testing.T) {
			in := tone(freq, 0.25, SampleRate) // 1 s
			pkts, err := EncodePCM(in, EncoderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != SampleRate/FrameSamples {
				t.Fatalf("got %d packets, want %d", len(pkts), SampleRate/FrameSamples)
			}
			var bytes int
			for _, p := range pkts {
				bytes += len(p.Data)
			}
			if kbps := float64(bytes*8) / 1000; kbps < 12 || kbps > 36 {
				t.Errorf("bitrate %.1f kb/s, want about 24", kbps)
			}
			out, err := DecodeAll(context.Background(), NewSliceSource(pkts))
			if err != nil {
				t.Fatal(err)
			}
			steady := out[SampleRate/5 : 4*SampleRate/5]
			if got := dominantFreq(steady, freq*0.8, freq*1.2); math.Abs(got-freq)/freq > 0.01 {
				t.Errorf("dominant frequency %.1f Hz, want %.0f ±1%%", got, freq)
			}
			gotDB := 20 * math.Log10(rms(steady))
			wantDB := 20 * math.Log10(rms(in))
			if math.Abs(gotDB-wantDB) > 1.5 {
				t.Errorf("level %.2f dBFS, want %.2f ±1.5 dB", gotDB, wantDB)
			}
		})
	}
}

// TestFECRecovery loses single packets of a speech-like signal and checks
// that rebuilding them from the next packet's FEC data is much closer to
// the loss-free decode than plain concealment.
func TestFECRecovery(t *testing.T) {
	// A vowel-like signal: harmonics of a gliding 150 Hz pitch, amplitude
	// modulated at 4 Hz like syllables.
	n := 2 * SampleRate
	in := make([]int16, n)
	var phase float64
	for i := range in {
		f0 := 150 + 30*math.Sin(2*math.Pi*0.7*float64(i)/SampleRate)
		phase += 2 * math.Pi * f0 / SampleRate
		var v float64
		for h := 1; h <= 12; h++ {
			v += math.Sin(float64(h)*phase) / float64(h)
		}
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*float64(i)/SampleRate)
		in[i] = int16(6000 * env * v)
	}
	pkts, err := EncodePCM(in, EncoderConfig{ExpectedLossPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := DecodeAll(context.Background(), NewSliceSource(pkts))
	if err != nil {
		t.Fatal(err)
	}
	lost := map[int]bool{}
	for i := 10; i < len(pkts)-2; i += 7 {
		lost[i] = true
	}
	decodeWith := func(useFEC bool) []int16 {
		dec, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, len(pkts)*FrameSamples)
		for i, p := range pkts {
			frame := out[i*FrameSamples : (i+1)*FrameSamples]
			switch {
			case !lost[i]:
				_, err = dec.Decode(p.Data, frame)
			case useFEC:
				err = dec.DecodeFEC(pkts[i+1].Data, frame)
			default:
				err = dec.Conceal(frame)
			}
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
		}
		return out
	}
	errorOnLost := func(out []int16) float64 {
		var e, s float64
		for i := range lost {
			for j := i * FrameSamples; j < (i+1)*FrameSamples; j++ {
				d := float64(out[j]) - float64(ref[j])
				e += d * d
				s += float64(ref[j]) * float64(ref[j])
			}
		}
		return 10 * math.Log10(s/e) // SNR in dB of the rebuilt frames
	}
	fec, plc := errorOnLost(decodeWith(true)), errorOnLost(decodeWith(false))
	t.Logf("rebuilt frames: FEC SNR %.1f dB, concealment SNR %.1f dB", fec, plc)
	if fec < plc+3 {
		t.Errorf("FEC SNR %.1f dB not at least 3 dB better than concealment %.1f dB", fec, plc)
	}
	if fec < 3 {
		t.Errorf("FEC SNR %.1f dB, want >= 3 dB", fec)
	}
}

func BenchmarkEncode(b *testing.B) {
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	in := tone(440, 0.3, FrameSamples)
	dst := make([]byte, maxPacketBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.EncodeTo(in, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkDecode(b *testing.B) {
	pkts, err := EncodePCM(tone(440, 0.3, SampleRate), EncoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := make([]int16, FrameSamples)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(pkts[i%len(pkts)].Data, pcm); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

package audio

import (
	"math"
	"sync/atomic"
)

// Level is an instantaneous input level for a meter: RMS and peak of the
// last 20 ms, as fractions of full scale in [0, 1].
type Level struct {
	RMS  float32
	Peak float32
}

// DBFS returns the RMS level in dB relative to full scale (-96 for silence).
func (l Level) DBFS() float64 {
	if l.RMS <= 0 {
		return -96
	}
	return max(-96, 20*math.Log10(float64(l.RMS)))
}

// measureLevel computes the level of a block of samples.
func measureLevel(s []int16) Level {
	if len(s) == 0 {
		return Level{}
	}
	var sum float64
	var peak int32
	for _, v := range s {
		x := int32(v)
		sum += float64(x * x)
		if x < 0 {
			x = -x
		}
		peak = max(peak, x)
	}
	return Level{
		RMS:  float32(math.Sqrt(sum/float64(len(s))) / 32768),
		Peak: float32(peak) / 32768,
	}
}

// levelMeter publishes a Level from one goroutine to any number of readers.
type levelMeter struct{ v atomic.Uint64 }

func (m *levelMeter) store(l Level) {
	m.v.Store(uint64(math.Float32bits(l.RMS))<<32 | uint64(math.Float32bits(l.Peak)))
}

func (m *levelMeter) load() Level {
	v := m.v.Load()
	return Level{RMS: math.Float32frombits(uint32(v >> 32)), Peak: math.Float32frombits(uint32(v))}
}

// WaveformPoints is the number of points in a message waveform.
const WaveformPoints = 100

// waveform reduces per-frame peaks (fractions of full scale) to
// WaveformPoints bytes: a message's stored waveform.
func waveform(peaks []float32) []uint8 { return WaveformOf(peaks, WaveformPoints) }

// WaveformOf reduces per-frame peaks (fractions of full scale) to points
// bytes on a logarithmic scale: 0 is -60 dBFS or less, 255 is full scale.
// Each point is the loudest frame in its slice of the message, so short
// syllables stay visible. An empty message gives all zeros. With
// WaveformPoints it is the waveform a Recording carries, so a waveform
// drawn from a message's decoded packets while it arrives (WaveMeter) ends
// as the stored one.
func WaveformOf(peaks []float32, points int) []uint8 {
	out := make([]uint8, max(points, 0))
	if len(peaks) == 0 {
		return out
	}
	for i := range out {
		lo := i * len(peaks) / points
		hi := max((i+1)*len(peaks)/points, lo+1)
		var p float32
		for _, v := range peaks[lo:min(hi, len(peaks))] {
			p = max(p, v)
		}
		out[i] = levelByte(p)
	}
	return out
}

func levelByte(p float32) uint8 {
	if p <= 0 {
		return 0
	}
	db := 20 * math.Log10(float64(p))
	v := (db + 60) / 60 * 255
	return uint8(math.Round(max(0, min(255, v))))
}

func float32frombits(b uint32) float32 { return math.Float32frombits(b) }

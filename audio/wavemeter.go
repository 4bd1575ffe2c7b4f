package audio

import "fmt"

// LiveFramesPerPoint is how many 20 ms frames one point of a growing
// waveform covers while the message is shorter than WaveformPoints such
// points (6 s): the waveform grows from the left at a steady rate, and from
// then on it is reduced to WaveformPoints points exactly as the stored one.
const LiveFramesPerPoint = 3

// WaveMeter gives a voice message that is still arriving its waveform: it
// decodes the message's packets in order and keeps each frame's peak, the
// measure the Recorder's waveform is made of, so the growing waveform ends
// as the stored one. Not safe for concurrent use.
type WaveMeter struct {
	dec   *Decoder
	pcm   []int16
	peaks []float32
}

// NewWaveMeter returns a meter for one message, before its packet 0.
func NewWaveMeter() (*WaveMeter, error) {
	dec, err := NewDecoder()
	if err != nil {
		return nil, fmt.Errorf("wave meter: %w", err)
	}
	return &WaveMeter{dec: dec, pcm: make([]int16, FrameSamples)}, nil
}

// Add decodes the message's next packet and keeps its frame's peak. A
// packet that does not decode counts as a silent frame (the error says
// which); the meter goes on with the next.
func (m *WaveMeter) Add(packet []byte) error { return m.AddAt(len(m.peaks), packet) }

// AddAt decodes the packet of frame (at or after Frames, which grows to
// it, the frames skipped silent; or before, filling one that Skip left
// silent) and keeps its peak. The decoder's state follows the packets in
// the order given: a frame filled after a gap may read a little off.
func (m *WaveMeter) AddAt(frame int, packet []byte) error {
	if frame >= len(m.peaks) {
		m.Skip(frame + 1 - len(m.peaks))
	}
	n, err := m.dec.Decode(packet, m.pcm)
	if err != nil {
		m.peaks[frame] = 0
		return fmt.Errorf("wave meter frame %d: %w", frame, err)
	}
	m.peaks[frame] = measureLevel(m.pcm[:n]).Peak
	return nil
}

// Skip adds n frames not (yet) received, drawn as silent until AddAt
// fills them.
func (m *WaveMeter) Skip(n int) {
	for range max(n, 0) {
		m.peaks = append(m.peaks, 0)
	}
}

// Frames is the number of packets added.
func (m *WaveMeter) Frames() int { return len(m.peaks) }

// Points is the waveform of the frames so far: one point per
// LiveFramesPerPoint frames while that makes fewer than WaveformPoints,
// then WaveformPoints points over the whole message, as the Recorder's.
func (m *WaveMeter) Points() []uint8 { return m.PointsOf(len(m.peaks)) }

// PointsOf is Points of the first frames frames (at most Frames).
func (m *WaveMeter) PointsOf(frames int) []uint8 {
	peaks := m.peaks[:min(max(frames, 0), len(m.peaks))]
	n := min((len(peaks)+LiveFramesPerPoint-1)/LiveFramesPerPoint, WaveformPoints)
	return WaveformOf(peaks, n)
}

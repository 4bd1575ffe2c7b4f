package audio

import "math"

// Time-scale modification for 1.5x and 2x playback with the pitch kept.
//
// We use WSOLA (waveform-similarity overlap-add, Verhelst & Roelands 1993):
// the output is built from 20 ms Hann-windowed segments of the input laid
// down every 10 ms, and each segment is taken from near its ideal input
// position (output time x speed) at the offset, within ±7.5 ms, whose
// waveform best continues the previous segment. For a single voice this
// keeps the glottal pulses aligned, so it sounds natural at 1.5x–2x, runs in
// the time domain (a few microseconds per 10 ms hop with the coarse-to-fine
// search below), needs no FFT and has no "phasiness" — the artefact a phase
// vocoder adds to speech. Its weakness, smearing of polyphonic music and
// transients, does not matter for voice messages.
const (
	wsolaHop    = 480          // synthesis hop: 10 ms
	wsolaWin    = 2 * wsolaHop // segment length: 20 ms, Hann, 50 % overlap sums to 1
	wsolaTol    = 360          // search range each side: 7.5 ms (covers pitch periods down to 67 Hz)
	wsolaCoarse = 4            // step of the coarse search
	wsolaKeep   = wsolaWin + 2*wsolaTol + wsolaHop
)

var wsolaWindow = func() [wsolaWin]float32 {
	var w [wsolaWin]float32
	for i := range w {
		w[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/wsolaWin))
	}
	return w
}()

// stretcher is a streaming WSOLA time-scale modifier. Feed it input with
// write, collect output from process. Not safe for concurrent use.
type stretcher struct {
	speed float64
	in    []float32 // input not yet discarded; in[0] is input sample base
	base  int64
	// next segment's ideal start, absolute input position (fractional)
	ideal float64
	// natural continuation of the previous segment, absolute (-1 at start)
	natural int64
	acc     [wsolaWin]float32 // overlap-add accumulator
	out     []int16
}

func newStretcher(speed float64) *stretcher {
	s := &stretcher{speed: speed, natural: -1}
	return s
}

// setSpeed changes the rate for all output produced from now on.
func (s *stretcher) setSpeed(speed float64) { s.speed = speed }

// reset forgets all input and output, for a seek.
func (s *stretcher) reset() {
	s.in = s.in[:0]
	s.base, s.ideal, s.natural = 0, 0, -1
	s.acc = [wsolaWin]float32{}
}

// pending is the number of input samples written but not yet turned into
// output, for position reporting.
func (s *stretcher) pending() int {
	return max(0, int(s.base+int64(len(s.in))-int64(s.ideal)))
}

// write appends input and returns the output produced so far. The returned
// slice is valid until the next call.
func (s *stretcher) write(pcm []int16) []int16 {
	for _, v := range pcm {
		s.in = append(s.in, float32(v))
	}
	s.out = s.out[:0]
	for s.step(false) {
	}
	return s.out
}

// flush pads the input with silence so that everything written comes out,
// and returns the remaining output.
func (s *stretcher) flush() []int16 {
	s.out = s.out[:0]
	end := s.base + int64(len(s.in))
	for int64(s.ideal) < end {
		if !s.step(true) {
			break
		}
	}
	// the second half of the last window
	for _, v := range s.acc[:wsolaHop] {
		s.out = append(s.out, clampSample(v))
	}
	s.acc = [wsolaWin]float32{}
	return s.out
}

// step lays down one segment if enough input is buffered (or pad is set).
func (s *stretcher) step(pad bool) bool {
	ideal := int64(s.ideal)
	end := s.base + int64(len(s.in))
	need := ideal + wsolaTol + wsolaWin
	if s.natural >= 0 {
		need = max(need, s.natural+wsolaWin)
	}
	if need > end && !pad {
		return false
	}
	if pad && need > end {
		for range need - end {
			s.in = append(s.in, 0)
		}
	}
	pos := ideal
	if s.natural >= 0 && s.natural != ideal {
		pos = s.search(ideal, s.natural)
	}
	seg := s.in[pos-s.base : pos-s.base+wsolaWin]
	for i, v := range seg {
		s.acc[i] += v * wsolaWindow[i]
	}
	for _, v := range s.acc[:wsolaHop] {
		s.out = append(s.out, clampSample(v))
	}
	copy(s.acc[:], s.acc[wsolaHop:])
	clear(s.acc[wsolaHop:])
	s.natural = pos + wsolaHop
	s.ideal += wsolaHop * s.speed

	// Discard input no future segment can reach.
	keepFrom := min(int64(s.ideal)-wsolaTol, s.natural)
	if drop := keepFrom - s.base; drop > 4*wsolaKeep {
		n := copy(s.in, s.in[drop:])
		s.in = s.in[:n]
		s.base += drop
	}
	return true
}

// search finds the start in [ideal-tol, ideal+tol] whose segment best
// matches the natural continuation, coarse then fine, by normalised
// cross-correlation over the overlapping half.
func (s *stretcher) search(ideal, natural int64) int64 {
	lo := max(s.base, ideal-wsolaTol)
	hi := ideal + wsolaTol
	ref := s.in[natural-s.base : natural-s.base+wsolaHop]
	score := func(p int64, step int) float32 {
		cand := s.in[p-s.base : p-s.base+wsolaHop]
		var xy, yy float32
		for i := 0; i < wsolaHop; i += step {
			xy += ref[i] * cand[i]
			yy += cand[i] * cand[i]
		}
		if yy <= 0 {
			return 0
		}
		return xy / float32(math.Sqrt(float64(yy)))
	}
	best, bestScore := ideal, float32(math.Inf(-1))
	for p := lo; p <= hi; p += wsolaCoarse {
		if sc := score(p, 2); sc > bestScore {
			best, bestScore = p, sc
		}
	}
	center := best
	best, bestScore = center, score(center, 1)
	for p := max(lo, center-wsolaCoarse+1); p <= min(hi, center+wsolaCoarse-1); p++ {
		if sc := score(p, 1); p != center && sc > bestScore {
			best, bestScore = p, sc
		}
	}
	return best
}

func clampSample(v float32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

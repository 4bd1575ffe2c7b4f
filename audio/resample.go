package audio

import "math"

// resampleTaps is the half-width, in input samples at the lower of the two
// rates, of the windowed-sinc resampler's kernel: 16 keeps images and
// aliases of speech far below the Opus noise floor at little cost (about 33
// multiply-adds per output sample).
const resampleTaps = 16

// resampler converts a stream of mono float samples from one rate to
// another with a Hann-windowed sinc low-pass at the lower Nyquist
// frequency. Push input as it is decoded, Flush at the end. Not safe for
// concurrent use.
type resampler struct {
	from, to int
	ratio    float64 // input samples per output sample
	cutoff   float64 // low-pass cutoff as a fraction of the input rate (<= 0.5)
	half     int     // kernel half-width in input samples
	buf      []float32
	base     int64 // input index of buf[0]
	next     int64 // index of the next output sample
}

func newResampler(from, to int) *resampler {
	r := &resampler{from: from, to: to, ratio: float64(from) / float64(to), cutoff: 0.5}
	if to < from {
		r.cutoff = 0.5 * float64(to) / float64(from)
	}
	r.half = int(math.Ceil(resampleTaps * 0.5 / r.cutoff))
	return r
}

// push adds input samples and appends every output sample whose kernel is
// now covered to out.
func (r *resampler) push(in []float32, out []float32) []float32 {
	if r.from == r.to {
		return append(out, in...)
	}
	r.buf = append(r.buf, in...)
	return r.emit(out, false)
}

// flush emits the remaining output, treating the input after the end as
// silence.
func (r *resampler) flush(out []float32) []float32 {
	if r.from == r.to {
		return out
	}
	return r.emit(out, true)
}

func (r *resampler) emit(out []float32, final bool) []float32 {
	end := r.base + int64(len(r.buf)) // one past the last input sample
	total := int64(math.Floor(float64(end) / r.ratio))
	for {
		if final && r.next >= total {
			break
		}
		pos := float64(r.next) * r.ratio
		center := int64(math.Floor(pos))
		if !final && center+int64(r.half)+1 >= end {
			break
		}
		var acc, norm float64
		for k := center - int64(r.half) + 1; k <= center+int64(r.half); k++ {
			x := pos - float64(k)
			w := r.kernel(x)
			norm += w
			if i := k - r.base; i >= 0 && i < int64(len(r.buf)) {
				acc += w * float64(r.buf[i])
			}
		}
		if norm != 0 {
			acc /= norm
		}
		out = append(out, float32(acc))
		r.next++
	}
	// Drop input no later output can reach.
	keep := int64(math.Floor(float64(r.next)*r.ratio)) - int64(r.half) - 1
	if drop := keep - r.base; drop > 4096 {
		r.buf = append(r.buf[:0], r.buf[drop:]...)
		r.base += drop
	}
	return out
}

// kernel is the windowed sinc at distance x input samples from the output
// position.
func (r *resampler) kernel(x float64) float64 {
	h := float64(r.half)
	if x <= -h || x >= h {
		return 0
	}
	s := 2 * r.cutoff
	if x != 0 {
		a := math.Pi * 2 * r.cutoff * x
		s = 2 * r.cutoff * math.Sin(a) / a
	}
	return s * (0.5 + 0.5*math.Cos(math.Pi*x/h))
}

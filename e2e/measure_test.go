package e2e

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Mouth-to-ear analysis. The utterance is cut into windows; each window
// with speech in it is matched on the ear channel. espeak-ng's voice keeps
// an almost constant pitch, so a short window of a vowel matches other
// vowels nearly as well as itself: the lag is found on the envelope (5 ms
// RMS blocks) over a span around the window, within trackRange of the
// previous window's lag (the first searches 0..maxLag on the whole
// envelope), then refined on the waveform within refineRange. The live
// path may change its delay while it plays (a jitter buffer that grows
// after a stall and sheds it again), which the tracking follows; the lags
// give p50 and p95, and each window's waveform correlation at its lag the
// peak.

const (
	analysisWindow = 200 * time.Millisecond
	envelopeBlock  = 5 * time.Millisecond
	envelopeSpan   = 800 * time.Millisecond
	trackRange     = 600 * time.Millisecond
	refineRange    = 15 * time.Millisecond
)

// match is the comparison of what the mouth said with what the ear heard.
type match struct {
	windows  int              // windows with speech
	peak     float64          // energy-weighted mean of the windows' correlation peaks
	sixths   [6]float64       // the same per sixth of the utterance (0: no speech in it)
	lags     []time.Duration  // each speech window's lag, in order
	p50, p95 time.Duration    // of lags
	spread   [2]time.Duration // smallest and largest lag
}

func (m match) String() string {
	s := fmt.Sprintf("peak %.3f, mouth-to-ear p50 %v p95 %v (lags %v..%v, %d windows), sixths",
		m.peak, ms(m.p50), ms(m.p95), ms(m.spread[0]), ms(m.spread[1]), m.windows)
	for _, v := range m.sixths {
		s += fmt.Sprintf(" %.2f", v)
	}
	return s
}

// minSixth is the weakest sixth of the utterance.
func (m match) minSixth() float64 { return slices.Min(m.sixths[:]) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// compare matches every speech window of mouth on ear at lags 0..maxLag.
func compare(mouth, ear []int16, maxLag time.Duration) match {
	win, blk := samples(analysisWindow), samples(envelopeBlock)
	maxL := samples(maxLag)
	fm, fe := toFloat(mouth), toFloat(ear)
	em, ee := envelope(mouth, blk), envelope(ear, blk)

	// The first lag: the whole envelope.
	lag := bestEnvelopeLag(em, ee, 0, len(em), 0, maxL/blk) * blk

	type window struct {
		start  int
		energy float64
		corr   float64
		lag    int
	}
	var ws []window
	span := samples(envelopeSpan) / blk
	track := samples(trackRange) / blk
	for start := 0; start+win <= len(fm); start += win {
		seg := fm[start : start+win]
		energy := 0.0
		for _, v := range seg {
			energy += v * v
		}
		if math.Sqrt(energy/float64(win)) < speechLevel*32768 {
			continue // a pause between words
		}
		// Envelope around the window, near the previous lag.
		c := (start + win/2) / blk
		from, to := max(0, c-span/2), min(len(em), c+span/2)
		l := bestEnvelopeLag(em, ee, from, to, max(0, lag/blk-track), min(maxL/blk, lag/blk+track)) * blk
		// Waveform around the envelope's lag.
		best, bestLag := math.Inf(-1), l
		for k := max(0, l-samples(refineRange)); k <= l+samples(refineRange); k++ {
			if start+k+win > len(fe) {
				break
			}
			if c := ncc(seg, fe[start+k:start+k+win]); c > best {
				best, bestLag = c, k
			}
		}
		if math.IsInf(best, -1) {
			best = 0
		}
		if best < 0.5 {
			// Lost track (the path dropped or added more than trackRange
			// at once): search the whole range for this window.
			l := bestEnvelopeLag(em, ee, from, to, 0, maxL/blk) * blk
			for k := max(0, l-samples(refineRange)); k <= l+samples(refineRange) && start+k+win <= len(fe); k++ {
				if c := ncc(seg, fe[start+k:start+k+win]); c > best {
					best, bestLag = c, k
				}
			}
		}
		lag = bestLag
		ws = append(ws, window{start: start, energy: energy, corr: best, lag: bestLag})
	}
	var m match
	m.windows = len(ws)
	if len(ws) == 0 {
		return m
	}
	first, last := ws[0].start, ws[len(ws)-1].start+win
	var sum, weight float64
	var sixSum, sixWeight [6]float64
	for _, w := range ws {
		sum += w.corr * w.energy
		weight += w.energy
		k := min(5, (w.start-first)*6/max(1, last-first))
		sixSum[k] += w.corr * w.energy
		sixWeight[k] += w.energy
		m.lags = append(m.lags, duration(w.lag))
	}
	m.peak = sum / weight
	for k := range m.sixths {
		if sixWeight[k] > 0 {
			m.sixths[k] = sixSum[k] / sixWeight[k]
		}
	}
	sorted := slices.Clone(m.lags)
	slices.Sort(sorted)
	m.p50, m.p95 = percentile(sorted, 0.50), percentile(sorted, 0.95)
	m.spread = [2]time.Duration{sorted[0], sorted[len(sorted)-1]}
	return m
}

// percentile of sorted values (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// trimToSpeech drops what comes before the first speech frame of s, less
// lead.
func trimToSpeech(s []int16, lead time.Duration) []int16 {
	for i := 0; i+frameSamples <= len(s); i += frameSamples {
		if voiced(s, i) {
			return s[max(0, i-samples(lead)):]
		}
	}
	return nil
}

func samples(d time.Duration) int { return int(d * sampleRate / time.Second) }

func duration(n int) time.Duration { return time.Duration(n) * time.Second / sampleRate }

func toFloat(s []int16) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// envelope is the RMS of each block of s.
func envelope(s []int16, block int) []float64 {
	out := make([]float64, len(s)/block)
	for i := range out {
		out[i] = rms(s[i*block : (i+1)*block])
	}
	return out
}

// bestEnvelopeLag is the lag, in blocks lo..hi, at which b best matches
// a[from:to].
func bestEnvelopeLag(a, b []float64, from, to, lo, hi int) int {
	best, bestLag := math.Inf(-1), lo
	for l := lo; l <= hi; l++ {
		if to+l > len(b) {
			break
		}
		if c := pearson(a[from:to], b[from+l:to+l]); c > best {
			best, bestLag = c, l
		}
	}
	return bestLag
}

// ncc is the normalised cross-correlation of two equally long signals.
func ncc(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// pearson is the correlation of two equally long signals about their
// means (an envelope is never negative: plain ncc would favour any lag
// with sound).
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		x, y := a[i]-ma, b[i]-mb
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

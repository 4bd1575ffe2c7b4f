package e2e

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Mouth-to-ear analysis. The utterance is cut into windows; each window
// with speech in it is matched on the ear channel at the lag where its
// normalised cross-correlation peaks (coarse on 8x decimated signals, then
// sample-exact around the coarse peak). The live path may change its delay
// while it plays (a jitter buffer that grows after a stall and sheds it
// again), so every window finds its own lag; the lags give p50 and p95.

const (
	analysisWindow = 200 * time.Millisecond
	decimation     = 8
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
	win := samples(analysisWindow)
	maxL := samples(maxLag)
	fm, fe := toFloat(mouth), toFloat(ear)
	dm, de := decimate(fm, decimation), decimate(fe, decimation)

	type window struct {
		start  int
		energy float64
		corr   float64
		lag    int
	}
	var ws []window
	for start := 0; start+win <= len(fm); start += win {
		seg := fm[start : start+win]
		energy := 0.0
		for _, v := range seg {
			energy += v * v
		}
		if math.Sqrt(energy/float64(win)) < speechLevel*32768 {
			continue // a pause between words
		}
		// Coarse: every decimated lag.
		dseg := dm[start/decimation : (start+win)/decimation]
		best, bestLag := math.Inf(-1), 0
		for l := 0; l <= maxL/decimation; l++ {
			o := start/decimation + l
			if o+len(dseg) > len(de) {
				break
			}
			if c := ncc(dseg, de[o:o+len(dseg)]); c > best {
				best, bestLag = c, l*decimation
			}
		}
		// Fine: every sample around the coarse peak.
		fine, fineLag := math.Inf(-1), bestLag
		for l := max(0, bestLag-2*decimation); l <= bestLag+2*decimation; l++ {
			o := start + l
			if o+win > len(fe) {
				break
			}
			if c := ncc(seg, fe[o:o+win]); c > fine {
				fine, fineLag = c, l
			}
		}
		if math.IsInf(fine, -1) {
			fine = 0
		}
		ws = append(ws, window{start: start, energy: energy, corr: fine, lag: fineLag})
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

func decimate(s []float64, n int) []float64 {
	out := make([]float64, len(s)/n)
	for i := range out {
		var sum float64
		for _, v := range s[i*n : i*n+n] {
			sum += v
		}
		out[i] = sum / float64(n)
	}
	return out
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

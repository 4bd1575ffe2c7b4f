package main

import (
	"math"
	"slices"
	"time"
)

// dist is a sorted set of latency samples in nanoseconds.
type dist []int64

func newDist(samples ...[]int64) dist {
	n := 0
	for _, s := range samples {
		n += len(s)
	}
	d := make(dist, 0, n)
	for _, s := range samples {
		d = append(d, s...)
	}
	slices.Sort(d)
	return d
}

// q returns the q-quantile (0..1), nearest rank.
func (d dist) q(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d)))) - 1
	i = max(0, min(i, len(d)-1))
	return time.Duration(d[i])
}

func (d dist) max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return time.Duration(d[len(d)-1])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio returns a/b, or NaN when b is zero.
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

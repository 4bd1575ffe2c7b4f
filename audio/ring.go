package audio

import (
	"sync/atomic"
	"unsafe"
)

// sampleRing is a single-producer single-consumer ring of samples, the only
// structure the device callbacks touch. write is called by exactly one
// goroutine (or audio thread) and read by exactly one other; neither blocks,
// allocates or takes a lock. Indices grow without bound; the buffer length is
// a power of two.
type sampleRing struct {
	buf  []int16
	mask uint64
	_    [64]byte // keep the producer and consumer indices on separate cache lines
	w    atomic.Uint64
	_    [56]byte
	r    atomic.Uint64
}

func newSampleRing(minSamples int) *sampleRing {
	n := 1
	for n < minSamples {
		n <<= 1
	}
	return &sampleRing{buf: make([]int16, n), mask: uint64(n - 1)}
}

// size is the capacity in samples.
func (q *sampleRing) size() int { return len(q.buf) }

// buffered is the number of samples ready to read.
func (q *sampleRing) buffered() int { return int(q.w.Load() - q.r.Load()) }

// write copies as many samples of p as fit and returns how many it copied.
// Producer side only.
func (q *sampleRing) write(p []int16) int {
	w := q.w.Load()
	free := len(q.buf) - int(w-q.r.Load())
	n := min(len(p), free)
	if n == 0 {
		return 0
	}
	start := int(w & q.mask)
	c := copy(q.buf[start:], p[:n])
	copy(q.buf, p[c:n])
	q.w.Store(w + uint64(n))
	return n
}

// read copies up to len(p) samples into p and returns how many it copied.
// Consumer side only.
func (q *sampleRing) read(p []int16) int {
	r := q.r.Load()
	n := min(len(p), int(q.w.Load()-r))
	if n == 0 {
		return 0
	}
	start := int(r & q.mask)
	c := copy(p[:n], q.buf[start:])
	copy(p[c:n], q.buf)
	q.r.Store(r + uint64(n))
	return n
}

// bytesAsSamples views a device buffer of native-endian s16 as samples
// without copying. The result must not outlive the callback that owns b.
func bytesAsSamples(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// notify wakes a goroutine waiting on ch without ever blocking; ch must have
// a buffer of one. Safe on the audio thread: it neither allocates nor waits.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

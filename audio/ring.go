package audio

// #include <stdlib.h>
// #include <stdint.h>
// #include "devicetap.h"
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// sampleRing is a single-producer single-consumer ring of samples, the only
// structure the device callbacks touch. write is called by exactly one
// goroutine (or audio thread) and read by exactly one other; neither blocks,
// allocates or takes a lock. Indices grow without bound; the buffer length is
// a power of two.
//
// The samples and indices live in C memory (a parley_ring), so that the C
// data callbacks of devicetap.go can copy to and from the ring on the audio
// thread without entering Go; the Go side uses the same atomics.
type sampleRing struct {
	c    *C.parley_ring
	buf  []int16 // c's samples
	mask uint64
	w, r *uint64 // c's indices
}

func newSampleRing(minSamples int) *sampleRing {
	n := 1
	for n < minSamples {
		n <<= 1
	}
	c := C.parley_ring_new(C.uint64_t(n))
	if c == nil {
		panic("audio: out of memory for a sample ring")
	}
	q := &sampleRing{c: c, buf: unsafe.Slice((*int16)(unsafe.Pointer(c.buf)), n), mask: uint64(n - 1),
		w: (*uint64)(unsafe.Pointer(&c.w)), r: (*uint64)(unsafe.Pointer(&c.r))}
	// A device that was abandoned in teardown keeps its ring reachable
	// (abandoned), so only rings no audio thread can touch are freed.
	runtime.AddCleanup(q, func(c *C.parley_ring) { C.parley_ring_free(c) }, c)
	return q
}

// size is the capacity in samples.
func (q *sampleRing) size() int { return len(q.buf) }

// buffered is the number of samples ready to read.
func (q *sampleRing) buffered() int { return int(atomic.LoadUint64(q.w) - atomic.LoadUint64(q.r)) }

// write copies as many samples of p as fit and returns how many it copied.
// Producer side only.
func (q *sampleRing) write(p []int16) int {
	w := atomic.LoadUint64(q.w)
	free := len(q.buf) - int(w-atomic.LoadUint64(q.r))
	n := min(len(p), free)
	if n == 0 {
		return 0
	}
	start := int(w & q.mask)
	c := copy(q.buf[start:], p[:n])
	copy(q.buf, p[c:n])
	atomic.StoreUint64(q.w, w+uint64(n))
	return n
}

// read copies up to len(p) samples into p and returns how many it copied.
// Consumer side only.
func (q *sampleRing) read(p []int16) int {
	r := atomic.LoadUint64(q.r)
	n := min(len(p), int(atomic.LoadUint64(q.w)-r))
	if n == 0 {
		return 0
	}
	start := int(r & q.mask)
	c := copy(p[:n], q.buf[start:])
	copy(p[c:n], q.buf)
	atomic.StoreUint64(q.r, r+uint64(n))
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

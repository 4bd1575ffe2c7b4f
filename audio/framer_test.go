package audio

import (
	"sync/atomic"
	"testing"
)

// TestFramerOddCallbackSizes drives the real capture callback with device
// buffers of awkward sizes and checks that the framer goroutine's side
// yields exact 960-sample frames with every sample once, in order.
func TestFramerOddCallbackSizes(t *testing.T) {
	for _, size := range []int{1, 441, 960, 1023} {
		t.Run(itoa(size), func(t *testing.T) {
			d := &device{capture: true, ring: newSampleRing(8192), ready: make(chan struct{}, 1), flowing: make(chan struct{})}
			const total = 50*FrameSamples + 123
			var f framer
			var got []int16
			frames := 0
			emit := func(frame []int16) {
				if len(frame) != FrameSamples {
					t.Fatalf("frame of %d samples, want %d", len(frame), FrameSamples)
				}
				frames++
				got = append(got, frame...)
			}
			buf := make([]byte, 2*size)
			tmp := make([]int16, 333) // a reader buffer that is not a divisor either
			next := 0
			for next < total {
				n := min(size, total-next)
				for i := range n {
					v := int16(next + i)
					buf[2*i], buf[2*i+1] = byte(v), byte(uint16(v)>>8)
				}
				d.onCapture(nil, buf[:2*n], uint32(n))
				next += n
				for {
					k := d.ring.read(tmp)
					if k == 0 {
						break
					}
					f.push(tmp[:k], emit)
				}
			}
			if d.xruns.Load() != 0 {
				t.Fatalf("ring overran by %d samples", d.xruns.Load())
			}
			if want := total / FrameSamples; frames != want {
				t.Fatalf("got %d frames, want %d", frames, want)
			}
			f.flush(emit)
			if frames != total/FrameSamples+1 {
				t.Fatalf("flush: got %d frames, want %d", frames, total/FrameSamples+1)
			}
			for i := range total {
				if got[i] != int16(i) {
					t.Fatalf("sample %d = %d, want %d (lost or duplicated)", i, got[i], int16(i))
				}
			}
			for i := total; i < len(got); i++ {
				if got[i] != 0 {
					t.Fatalf("padding sample %d = %d, want 0", i, got[i])
				}
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestCallbacksDoNotAllocate shows the device callbacks allocate nothing.
func TestCallbacksDoNotAllocate(t *testing.T) {
	c := &device{capture: true, ring: newSampleRing(SampleRate), ready: make(chan struct{}, 1), flowing: make(chan struct{})}
	p := &device{ring: newSampleRing(SampleRate), ready: make(chan struct{}, 1), flowing: make(chan struct{})}
	buf := make([]byte, 2*480)
	if a := testing.AllocsPerRun(1000, func() {
		c.onCapture(nil, buf, 480)
		atomic.StoreUint64(c.ring.r, atomic.LoadUint64(c.ring.w)) // consume, so the ring never fills
	}); a != 0 {
		t.Errorf("capture callback: %v allocs per call, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		atomic.StoreUint64(p.ring.w, atomic.LoadUint64(p.ring.r)+240) // half a period queued: exercise the underrun path too
		p.onPlayback(buf, nil, 480)
	}); a != 0 {
		t.Errorf("playback callback: %v allocs per call, want 0", a)
	}
}

func BenchmarkCaptureCallback(b *testing.B) {
	d := &device{capture: true, ring: newSampleRing(SampleRate), ready: make(chan struct{}, 1), flowing: make(chan struct{})}
	buf := make([]byte, 2*480)
	out := make([]int16, 480)
	b.ReportAllocs()
	for b.Loop() {
		d.onCapture(nil, buf, 480)
		d.ring.read(out)
	}
}

func BenchmarkPlaybackCallback(b *testing.B) {
	d := &device{ring: newSampleRing(SampleRate), ready: make(chan struct{}, 1), flowing: make(chan struct{})}
	buf := make([]byte, 2*480)
	in := make([]int16, 480)
	b.ReportAllocs()
	for b.Loop() {
		d.ring.write(in)
		d.onPlayback(buf, nil, 480)
	}
}

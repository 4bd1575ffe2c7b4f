package audio

// #include <stdlib.h>
// #include "devicetap.h"
import "C"

import (
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// deviceTap keeps a device's data callback out of Go. With malgo's
// callback, every 10 ms period entered Go from miniaudio's thread, and
// each return to C left a Go P in a syscall state that the runtime's
// sysmon thread took back 10 ms later, which reset sysmon to polling every
// 20 µs: an idle app spent about 6.6 % of a core in sysmon alone (perf,
// /proc/PID/task: 2600 wake-ups a second) for its warm microphone, and a
// listener about 3.9 % for its speaker. The tap's callback is C
// (devicetap.c): it copies between the device buffer and the device's
// ring (C memory, see sampleRing) and tells Go through a pipe, which a
// goroutine reads through the runtime's poller and turns into the
// device's ready signal. A capture device tells Go only while a
// recording wants it (setWake); between recordings the Recorder reads the
// ring every idleReadEvery.
//
// Where the platform has no pipe for this (Windows), the C callback calls
// malgo's with no frames instead, which only signals ready.
type deviceTap struct {
	t      *C.parley_tap
	wakeR  *os.File // nil without a pipe
	wakeW  *os.File
	done   chan struct{} // closed when the pipe reader ends
	wakes  *atomic.Uint64
	closed bool
}

// newDeviceTap makes a tap for a device on ring; nil if out of memory.
// wakes counts the signals handed to ready.
func newDeviceTap(ring *sampleRing, capture bool, ready chan struct{}, wakes *atomic.Uint64) *deviceTap {
	r, w, fd := wakePipe()
	cap := C.int(0)
	if capture {
		cap = 1
	}
	t := C.parley_tap_new(ring.c, cap, C.int(fd))
	if t == nil {
		if r != nil {
			r.Close()
			w.Close()
		}
		return nil
	}
	d := &deviceTap{t: t, wakeR: r, wakeW: w, done: make(chan struct{}), wakes: wakes}
	// The C state goes with the last reference (the counters stay
	// readable after close; an abandoned device keeps its tap).
	runtime.AddCleanup(d, func(t *C.parley_tap) { C.parley_tap_free(t) }, t)
	if r == nil {
		close(d.done)
		return d
	}
	go d.readWakes(ready)
	return d
}

// readWakes turns the callback's bytes into ready signals until the
// pipe's write end is closed.
func (d *deviceTap) readWakes(ready chan struct{}) {
	defer close(d.done)
	buf := make([]byte, 64)
	for {
		n, err := d.wakeR.Read(buf)
		if n > 0 {
			d.wakes.Add(uint64(n))
			notify(ready)
		}
		if err != nil {
			return
		}
	}
}

// userData is the pointer to put in the device config's PUserData.
func (d *deviceTap) userData() *byte { return (*byte)(unsafe.Pointer(d.t)) }

// install makes dev (initialised with userData, not started) call the
// tap. It reports false when malgo's device layout is not as expected.
func (d *deviceTap) install(dev *malgo.Device) bool {
	return C.parley_tap_install(deviceHandle(dev), d.t, C.uint32_t(dev.SampleRate())) == 1
}

func (d *deviceTap) callbacks() uint64 {
	return uint64(atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.t.callbacks))))
}
func (d *deviceTap) frames() uint64 {
	return uint64(atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.t.frames))))
}
func (d *deviceTap) xruns() uint64 {
	return uint64(atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.t.xruns))))
}

// setWake turns a capture tap's signal to Go on or off.
func (d *deviceTap) setWake(on bool) {
	v := int32(0)
	if on {
		v = 1
	}
	atomic.StoreInt32((*int32)(unsafe.Pointer(&d.t.wake)), v)
}

func (d *deviceTap) wakeOn() bool { return atomic.LoadInt32((*int32)(unsafe.Pointer(&d.t.wake))) != 0 }

// close stops the pipe reader, once; no device may call the tap any more.
// With leaked set (a device was abandoned in teardown and its thread may
// still call back) the pipe stays open.
func (d *deviceTap) close(leaked bool) {
	if d.closed || leaked {
		return
	}
	d.closed = true
	if d.wakeW != nil {
		d.wakeW.Close()
		<-d.done
		d.wakeR.Close()
	}
}

// deviceHandle is the ma_device behind a malgo.Device: malgo keeps it as
// its only field, a pointer to the C pointer.
func deviceHandle(dev *malgo.Device) unsafe.Pointer {
	return **(**unsafe.Pointer)(unsafe.Pointer(dev))
}

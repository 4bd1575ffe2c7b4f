package audio

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*parley_data_proc)(void* dev, void* out, const void* in, uint32_t frames);

// parley_tap is the capture ring in C memory that the C callback below
// fills on the audio thread. Indices grow without bound; the buffer length
// is a power of two. w is written by the callback only, r by the reader.
typedef struct {
	int16_t* buf;
	uint64_t mask;
	uint64_t w __attribute__((aligned(64)));
	uint64_t r __attribute__((aligned(64)));
	uint64_t callbacks __attribute__((aligned(64)));
	uint64_t frames;
	uint64_t xruns;
	int32_t wake;          // nonzero: call orig after each callback (Go then wakes its reader)
	parley_data_proc orig; // malgo's data callback, which calls into Go
} parley_tap;

// The index of ma_device.pUserData among the device's first
// pointer-sized words, found by parley_tap_install (the same for every
// device of one build).
static int parley_tap_slot;

// parley_tap_callback is miniaudio's data callback for a tapped capture
// device. Audio thread: copies into the ring and counts; it enters Go
// (through malgo's callback, with no frames) only while wake is set.
static void parley_tap_callback(void* dev, void* out, const void* in, uint32_t frames) {
	parley_tap* t = ((parley_tap**)dev)[__atomic_load_n(&parley_tap_slot, __ATOMIC_RELAXED)];
	if (in != NULL && frames > 0) {
		uint64_t w = t->w;
		uint64_t r = __atomic_load_n(&t->r, __ATOMIC_ACQUIRE);
		uint64_t space = t->mask + 1 - (w - r);
		uint64_t n = frames < space ? frames : space;
		uint64_t start = w & t->mask;
		uint64_t first = t->mask + 1 - start;
		if (first > n) first = n;
		memcpy(t->buf + start, in, first * 2);
		memcpy(t->buf, (const int16_t*)in + first, (n - first) * 2);
		__atomic_store_n(&t->w, w + n, __ATOMIC_RELEASE);
		if (n < frames) __atomic_fetch_add(&t->xruns, frames - n, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->frames, frames, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&t->callbacks, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&t->wake, __ATOMIC_ACQUIRE)) t->orig(dev, out, in, 0);
}

static parley_tap* parley_tap_new(uint64_t samples) {
	parley_tap* t = calloc(1, sizeof(parley_tap));
	if (t == NULL) return NULL;
	t->buf = calloc(samples, 2);
	if (t->buf == NULL) { free(t); return NULL; }
	t->mask = samples - 1;
	return t;
}

static void parley_tap_free(parley_tap* t) { free(t->buf); free(t); }

// parley_tap_install replaces the data callback of an initialised, not yet
// started miniaudio device whose pUserData is t. ma_device begins with
// pContext, type, sampleRate, state, then the pointers onData,
// onNotification, onStop and pUserData: pUserData is found by its value
// and onData is three words before it. Returns 0 if the layout is not
// as expected (the device then keeps malgo's callback): type and
// sampleRate are checked too.
static int parley_tap_install(void* dev, parley_tap* t, uint32_t sampleRate) {
	void** words = (void**)dev;
	uint32_t* u32 = (uint32_t*)dev;
	if (u32[2] != 2 || u32[3] != sampleRate) return 0; // ma_device_type_capture
	for (int i = 3; i < 16; i++) {
		if (words[i] != (void*)t) continue;
		if (words[0] == NULL || words[i-3] == NULL) return 0;
		t->orig = (parley_data_proc)words[i-3];
		__atomic_store_n(&parley_tap_slot, i, __ATOMIC_RELAXED);
		words[i-3] = (void*)parley_tap_callback;
		return 1;
	}
	return 0;
}

static uint32_t parley_tap_read(parley_tap* t, int16_t* p, uint32_t n) {
	uint64_t r = t->r;
	uint64_t avail = __atomic_load_n(&t->w, __ATOMIC_ACQUIRE) - r;
	if (n > avail) n = (uint32_t)avail;
	uint64_t start = r & t->mask;
	uint64_t first = t->mask + 1 - start;
	if (first > n) first = n;
	memcpy(p, t->buf + start, first * 2);
	memcpy(p + first, t->buf, (n - first) * 2);
	__atomic_store_n(&t->r, r + n, __ATOMIC_RELEASE);
	return n;
}

static uint64_t parley_tap_callbacks(parley_tap* t) { return __atomic_load_n(&t->callbacks, __ATOMIC_ACQUIRE); }
static uint64_t parley_tap_xruns(parley_tap* t) { return __atomic_load_n(&t->xruns, __ATOMIC_RELAXED); }
static void parley_tap_set_wake(parley_tap* t, int on) { __atomic_store_n(&t->wake, on, __ATOMIC_RELEASE); }
static int parley_tap_wake_on(parley_tap* t) { return __atomic_load_n(&t->wake, __ATOMIC_ACQUIRE); }
*/
import "C"

import (
	"unsafe"

	"github.com/gen2brain/malgo"
)

// captureTap keeps a warm microphone out of Go between recordings. With
// malgo's callback, every capture period (100 a second) entered Go from
// miniaudio's thread, and each return to C left a Go P in a syscall state
// that the runtime's sysmon thread took back 10 ms later, which reset
// sysmon to polling every 20 µs: an idle app spent about 6.6 % of a core
// in sysmon alone (perf, /proc/PID/task: 2600 wake-ups a second), most of
// its idle CPU. The tap's callback is C: it copies into a ring in C memory
// and enters Go only while a recording wants to be woken per period
// (setWake). The Recorder reads the ring every idleReadEvery while idle.
type captureTap struct{ t *C.parley_tap }

// newCaptureTap allocates a ring of at least minSamples (rounded up to a
// power of two); nil if out of memory.
func newCaptureTap(minSamples int) *captureTap {
	n := 1
	for n < minSamples {
		n <<= 1
	}
	t := C.parley_tap_new(C.uint64_t(n))
	if t == nil {
		return nil
	}
	return &captureTap{t: t}
}

// userData is the pointer to put in the device config's PUserData.
func (c *captureTap) userData() *byte { return (*byte)(unsafe.Pointer(c.t)) }

// install makes dev (initialised with userData, not started) call the
// tap. It reports false when malgo's device layout is not as expected.
func (c *captureTap) install(dev *malgo.Device) bool {
	return C.parley_tap_install(deviceHandle(dev), c.t, C.uint32_t(dev.SampleRate())) == 1
}

// read copies up to len(p) captured samples into p. One reader only.
func (c *captureTap) read(p []int16) int {
	if len(p) == 0 {
		return 0
	}
	return int(C.parley_tap_read(c.t, (*C.int16_t)(unsafe.Pointer(&p[0])), C.uint32_t(len(p))))
}

func (c *captureTap) callbacks() uint64 { return uint64(C.parley_tap_callbacks(c.t)) }
func (c *captureTap) xruns() uint64     { return uint64(C.parley_tap_xruns(c.t)) }

// setWake turns the per-period call into Go (the device's ready signal)
// on or off.
func (c *captureTap) setWake(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.parley_tap_set_wake(c.t, v)
}

func (c *captureTap) wakeOn() bool { return C.parley_tap_wake_on(c.t) != 0 }

// free releases the ring; no device may use it any more.
func (c *captureTap) free() { C.parley_tap_free(c.t) }

// deviceHandle is the ma_device behind a malgo.Device: malgo keeps it as
// its only field, a pointer to the C pointer.
func deviceHandle(dev *malgo.Device) unsafe.Pointer {
	return **(**unsafe.Pointer)(unsafe.Pointer(dev))
}

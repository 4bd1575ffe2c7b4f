// devicetap.c: see devicetap.h and devicetap.go.
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif
#include "devicetap.h"

parley_ring* parley_ring_new(uint64_t samples) {
	parley_ring* r = calloc(1, sizeof(parley_ring));
	if (r == NULL) return NULL;
	r->buf = calloc(samples, 2);
	if (r->buf == NULL) { free(r); return NULL; }
	r->mask = samples - 1;
	return r;
}

void parley_ring_free(parley_ring* r) { free(r->buf); free(r); }

parley_tap* parley_tap_new(parley_ring* ring, int capture, int wakefd) {
	parley_tap* t = calloc(1, sizeof(parley_tap));
	if (t == NULL) return NULL;
	t->ring = ring;
	t->capture = capture;
	t->wakefd = wakefd;
	return t;
}

void parley_tap_free(parley_tap* t) { free(t); }

// The index of ma_device.pUserData among the device's first pointer-sized
// words, found by parley_tap_install (the same for every device).
static int parley_tap_slot;

// signal tells Go that the callback ran: one byte down the pipe (the
// audio thread never blocks: the pipe is non-blocking, and a full pipe
// already holds a wake-up), or malgo's callback with no frames.
static void signal_go(void* dev, void* out, const void* in, parley_tap* t) {
#ifndef _WIN32
	if (t->wakefd >= 0) {
		char b = 1;
		ssize_t n = write(t->wakefd, &b, 1);
		(void)n;
		return;
	}
#endif
	t->orig(dev, out, in, 0);
}

// parley_tap_callback is miniaudio's data callback for a tapped device.
// Audio thread: copies between the device buffer and the ring, counts,
// and signals Go (capture: only while wake is set). Mono s16 only.
static void parley_tap_callback(void* dev, void* out, const void* in, uint32_t frames) {
	parley_tap* t = ((parley_tap**)dev)[__atomic_load_n(&parley_tap_slot, __ATOMIC_RELAXED)];
	parley_ring* q = t->ring;
	uint64_t size = q->mask + 1;
	if (t->capture) {
		if (in != NULL && frames > 0) {
			uint64_t w = q->w;
			uint64_t space = size - (w - __atomic_load_n(&q->r, __ATOMIC_ACQUIRE));
			uint64_t n = frames < space ? frames : space;
			uint64_t start = w & q->mask, first = size - start;
			if (first > n) first = n;
			memcpy(q->buf + start, in, first * 2);
			memcpy(q->buf, (const int16_t*)in + first, (n - first) * 2);
			__atomic_store_n(&q->w, w + n, __ATOMIC_RELEASE);
			if (n < frames) __atomic_fetch_add(&t->xruns, frames - n, __ATOMIC_RELAXED);
			__atomic_fetch_add(&t->frames, frames, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&t->callbacks, 1, __ATOMIC_RELEASE);
		if (__atomic_load_n(&t->wake, __ATOMIC_ACQUIRE)) signal_go(dev, out, in, t);
		return;
	}
	if (out != NULL && frames > 0) {
		uint64_t r = q->r;
		uint64_t avail = __atomic_load_n(&q->w, __ATOMIC_ACQUIRE) - r;
		uint64_t n = frames < avail ? frames : avail;
		uint64_t start = r & q->mask, first = size - start;
		if (first > n) first = n;
		memcpy(out, q->buf + start, first * 2);
		memcpy((int16_t*)out + first, q->buf, (n - first) * 2);
		__atomic_store_n(&q->r, r + n, __ATOMIC_RELEASE);
		if (n < frames) {
			memset((int16_t*)out + n, 0, (frames - n) * 2);
			__atomic_fetch_add(&t->xruns, frames - n, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&t->frames, frames, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&t->callbacks, 1, __ATOMIC_RELEASE);
	signal_go(dev, out, in, t);
}

// parley_tap_install replaces the data callback of an initialised, not yet
// started miniaudio device whose pUserData is t. ma_device begins with
// pContext, type, sampleRate, state, then the pointers onData,
// onNotification, onStop and pUserData: pUserData is found by its value
// and onData is three words before it; type and sampleRate are checked.
// Returns 0 if the layout is not as expected (the device then keeps
// malgo's callback).
int parley_tap_install(void* dev, parley_tap* t, uint32_t sampleRate) {
	void** words = (void**)dev;
	uint32_t* u32 = (uint32_t*)dev;
	uint32_t type = t->capture ? 2 : 1; // ma_device_type_capture, _playback
	if (sizeof(void*) != 8 || u32[2] != type || u32[3] != sampleRate) return 0;
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

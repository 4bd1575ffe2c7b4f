// devicetap.h: the C side of the audio devices' rings and data callbacks
// (devicetap.c, used by ring.go and devicetap.go).
#ifndef PARLEY_DEVICETAP_H
#define PARLEY_DEVICETAP_H

#include <stdint.h>

// parley_ring is sampleRing's storage: samples and indices in C memory.
// Indices grow without bound; the length is a power of two. w is written
// by the producer only, r by the consumer only.
typedef struct {
	int16_t* buf;
	uint64_t mask;
	char pad0[48]; // w and r on their own cache lines
	uint64_t w;
	char pad1[56];
	uint64_t r;
} parley_ring;

typedef void (*parley_data_proc)(void* dev, void* out, const void* in, uint32_t frames);

// parley_tap is one device's C data callback state.
typedef struct {
	parley_ring* ring;
	int32_t capture;       // 1: capture (fills ring), 0: playback (drains it)
	int32_t wake;          // capture: signal Go after each callback (playback always does)
	int32_t wakefd;        // a pipe's write end, or -1: call orig with no frames instead
	parley_data_proc orig; // malgo's data callback, which calls into Go
	char pad[40];
	uint64_t callbacks;
	uint64_t frames;
	uint64_t xruns;
} parley_tap;

parley_ring* parley_ring_new(uint64_t samples);
void parley_ring_free(parley_ring* r);
parley_tap* parley_tap_new(parley_ring* ring, int capture, int wakefd);
void parley_tap_free(parley_tap* t);
int parley_tap_install(void* dev, parley_tap* t, uint32_t sampleRate);

#endif

// Package audio captures and plays Parley's voice: miniaudio devices through
// malgo, a capture framer that cuts exact 20 ms frames, the Opus encoder and
// decoder, a jitter buffer per incoming stream, a streaming player with
// speed control, a mixer for simultaneous talkers, and short cue sounds.
//
// Format inside the package is 48 kHz, mono, signed 16-bit PCM; one Opus
// packet holds 20 ms (960 samples). The malgo data callbacks only copy
// between the device buffer and preallocated rings; all framing, coding and
// mixing runs on goroutines owned by the type that starts them.
//
// The package imports no GUI and no network code.
package audio

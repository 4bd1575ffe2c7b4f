// Package audio captures and plays Parley's voice: miniaudio devices through
// malgo, a capture framer that cuts exact 20 ms frames, the Opus encoder and
// decoder, a jitter buffer per incoming stream, a streaming player with
// pitch-preserving speed control, a mixer for simultaneous talkers, cue
// sounds, and WAV / Ogg Opus files.
//
// Format inside the package is 48 kHz, mono, signed 16-bit PCM; one Opus
// packet (Packet) holds 20 ms (960 samples). The malgo data callbacks only
// copy between the device buffer and preallocated single-producer rings
// (no allocation, no lock, no logging: see BenchmarkCaptureCallback); all
// framing, coding and mixing runs on goroutines owned by the Engine,
// Recorder or Player that starts them, and each is stopped by its Close.
//
// Pieces:
//
//   - Engine (New, Close) owns the miniaudio context, the playback device
//     and the mixer, and lends the capture device to one Recorder. A
//     watchdog reopens a device that stops calling back; on PulseAudio a
//     chosen device is opened movable, so unplugging it moves the stream to
//     the default device (DeviceEvents reports reroutes elsewhere).
//   - Recorder (Engine.NewRecorder, NewFileRecorder, NewPCMRecorder) keeps
//     the microphone warm while open. Measured on PulseAudio: a cold capture
//     device took 1.7 s to deliver its first samples on a fresh null source
//     (2–22 ms once the server is awake), while a warm Recorder's Start is a
//     0.4 ms channel round trip and the first packet follows 13 ms later. So
//     the microphone is kept warm; PreRoll can add up to 500 ms from before
//     Start, default 0.
//   - Player (Engine.Play) plays a PacketSource: live through a
//     JitterBuffer, or a stored/growing message with seek, pause, speed
//     (WSOLA, see tsm.go) and skip-silence; it reports PlayerEvents.
//   - Cues (Engine.PlayCue, CuePCM) mix on top of speech.
//   - Files: ReadWAV/WriteWAV, ExportOpus (Ogg Opus, RFC 7845), DecodeAll;
//     ImportFile turns a WAV, MP3 (go-mp3), FLAC (mewkiz/flac) or Ogg Opus
//     file into a message's packets, waveform and duration through a
//     windowed-sinc resampler (resample.go), with typed errors for empty,
//     unsupported, damaged and too-long files.
//
// The package imports no GUI and no network code.
package audio

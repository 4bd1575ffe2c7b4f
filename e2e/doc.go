// Package e2e holds Parley's end-to-end scenarios (`make e2e`, part of
// `make test`): two real app processes (bin/parley) under an Xvfb of their
// own, each with its own profile (-data), a real parleyd on 127.0.0.1
// (-mdns off), and a private PulseAudio daemon in which the talker's
// microphone and the listener's speaker are the two channels of one stereo
// null sink. espeak-ng speaks into the microphone while xdotool holds the
// talk key; the sink's monitor is recorded, so mouth and ear share one
// clock and the mouth-to-ear delay is exact. Every scenario prints the
// correlation and the mouth-to-ear p50/p95 beside the device floor (the
// same devices through the audio package directly: capture, Opus, live
// player), measured in the same run.
//
// The package has no code outside its tests. The tests start everything
// they need and stop it by PID (processes) or by name (PulseAudio modules,
// network namespaces, nftables tables), also when they fail. With
// PARLEY_TEST_E2E=1 a missing tool fails the tests; otherwise they skip.
// The lossy-network scenario needs root (network namespaces, nftables).
package e2e

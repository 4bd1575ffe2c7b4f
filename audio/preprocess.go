package audio

// PreprocessConfig switches the stages of the microphone clean-up
// (speexdsp's preprocessor) on 20 ms capture frames. The zero value turns
// every stage off; DefaultPreprocess turns them all on.
type PreprocessConfig struct {
	// Denoise suppresses stationary noise (fans, hum, hiss) by spectral
	// subtraction, by up to noiseSuppressDB.
	Denoise bool
	// AGC brings quiet or loud speakers to a common level (agcLevel), with
	// at most agcMaxGainDB of gain.
	AGC bool
	// VAD gates frames without speech down by vadGateDB after a hangover,
	// so the room between sentences is quiet too. The decision is the
	// denoiser's speech probability (speexdsp's own VAD switch is a
	// placeholder that prints a warning), so it needs the noise estimate
	// that runs whatever Denoise says.
	VAD bool
}

// DefaultPreprocess is the Settings default: every stage on.
var DefaultPreprocess = PreprocessConfig{Denoise: true, AGC: true, VAD: true}

// Any reports whether a stage is on.
func (c PreprocessConfig) Any() bool { return c.Denoise || c.AGC || c.VAD }

const (
	noiseSuppressDB = -30 // speexdsp's default is -15; -30 is what a fan needs
	// agcLevel is speexdsp's loudness target. Its unit depends on the frame
	// size; measured with 960-sample frames (TestPreprocessLevels): 6000
	// gives -35 dBFS RMS speech, 32000 -20.6; each doubling adds 6 dB. 40000
	// puts speech at about -18.5 dBFS RMS, a close microphone's level.
	agcLevel     = 40000
	agcMaxGainDB = 30 // lifts -45 dBFS speech to the target
	// vadGateDB is how far a frame without speech is turned down, after
	// vadHangover frames of silence (so word endings are not clipped).
	vadGateDB   = -20
	vadHangover = 15 // 300 ms
	// vadStart and vadContinue are speech probabilities (percent) that
	// start and keep a speech run (hysteresis).
	vadStart    = 35
	vadContinue = 20
)

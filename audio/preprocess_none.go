//go:build windows && !speexdsp

package audio

// The Windows cross-build links speexdsp only with -tags speexdsp (a static
// mingw libspeexdsp, see .ci/package-windows.sh); without it the clean-up
// stages are accepted and do nothing, and the signal is sent as captured.

// preprocessor without speexdsp passes frames through.
type preprocessor struct{}

func newPreprocessor(PreprocessConfig) (*preprocessor, error) { return &preprocessor{}, nil }

func (p *preprocessor) set(PreprocessConfig) {}

func (p *preprocessor) process([]int16) bool { return true }

func (p *preprocessor) close() {}

//go:build !windows || speexdsp

package audio

/*
#cgo pkg-config: speexdsp
#include <speex/speex_preprocess.h>

static int pp_ctl_int(SpeexPreprocessState *st, int req, int v) { return speex_preprocess_ctl(st, req, &v); }
static int pp_ctl_float(SpeexPreprocessState *st, int req, float v) { return speex_preprocess_ctl(st, req, &v); }
static int pp_prob(SpeexPreprocessState *st) { int v = 0; speex_preprocess_ctl(st, SPEEX_PREPROCESS_GET_PROB, &v); return v; }
*/
import "C"

import (
	"errors"
	"unsafe"
)

// preprocessor runs speexdsp's preprocessor on 20 ms frames in place. It is
// used by one goroutine (the recorder's).
type preprocessor struct {
	st      *C.SpeexPreprocessState
	cfg     PreprocessConfig
	silent  int     // consecutive frames without speech
	gate    float32 // current gate gain, eased toward its target
	lastVAD bool
}

func newPreprocessor(cfg PreprocessConfig) (*preprocessor, error) {
	st := C.speex_preprocess_state_init(C.int(FrameSamples), C.int(SampleRate))
	if st == nil {
		return nil, errors.New("speexdsp: preprocessor init failed")
	}
	p := &preprocessor{st: st, gate: 1}
	C.pp_ctl_int(st, C.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, noiseSuppressDB)
	C.pp_ctl_float(st, C.SPEEX_PREPROCESS_SET_AGC_LEVEL, agcLevel)
	C.pp_ctl_int(st, C.SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, agcMaxGainDB)
	p.set(cfg)
	return p, nil
}

// set switches stages; the noise estimate and AGC gain carry on.
func (p *preprocessor) set(cfg PreprocessConfig) {
	p.cfg = cfg
	C.pp_ctl_int(p.st, C.SPEEX_PREPROCESS_SET_DENOISE, boolInt(cfg.Denoise))
	C.pp_ctl_int(p.st, C.SPEEX_PREPROCESS_SET_AGC, boolInt(cfg.AGC))
}

// process cleans one frame (FrameSamples) in place and reports whether it
// holds speech (always true with VAD off).
func (p *preprocessor) process(frame []int16) bool {
	frame = frame[:FrameSamples:FrameSamples]
	C.speex_preprocess_run(p.st, (*C.spx_int16_t)(unsafe.Pointer(&frame[0])))
	prob := int(C.pp_prob(p.st)) // percent
	voice := prob >= vadStart || (p.lastVAD && prob >= vadContinue)
	if !p.cfg.VAD {
		voice = true
	}
	p.lastVAD = voice
	target := float32(1)
	if voice {
		p.silent = 0
	} else {
		p.silent++
		if p.silent > vadHangover {
			target = gateGain
		}
	}
	if target == 1 && p.gate == 1 {
		return voice
	}
	// Ease the gate over the frame so it does not click.
	step := (target - p.gate) / FrameSamples
	g := p.gate
	for i, v := range frame {
		g += step
		frame[i] = int16(float32(v) * g)
	}
	p.gate = target
	return voice
}

// gateGain is vadGateDB as a factor.
const gateGain = 0.1 // -20 dB

func (p *preprocessor) close() {
	if p.st != nil {
		C.speex_preprocess_state_destroy(p.st)
		p.st = nil
	}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

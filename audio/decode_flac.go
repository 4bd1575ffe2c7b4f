package audio

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mewkiz/flac"
)

// flacDecoder streams a FLAC file through mewkiz/flac (pure Go).
type flacDecoder struct {
	s     *flac.Stream
	scale float32
}

func newFLACDecoder(r io.Reader) (*flacDecoder, error) {
	s, err := flac.New(r)
	if err != nil {
		return nil, fmt.Errorf("flac: %w", err)
	}
	if s.Info == nil || s.Info.SampleRate == 0 || s.Info.NChannels == 0 || s.Info.BitsPerSample == 0 || s.Info.BitsPerSample > 32 {
		return nil, errors.New("flac: stream info without rate, channels or sample size")
	}
	return &flacDecoder{s: s, scale: 1 / float32(int64(1)<<(s.Info.BitsPerSample-1))}, nil
}

func (d *flacDecoder) rate() int { return int(d.s.Info.SampleRate) }

func (d *flacDecoder) length() (time.Duration, bool) {
	if d.s.Info.NSamples == 0 { // unknown
		return 0, false
	}
	return time.Duration(d.s.Info.NSamples) * time.Second / time.Duration(d.s.Info.SampleRate), true
}

func (d *flacDecoder) read(dst []float32) ([]float32, error) {
	f, err := d.s.ParseNext()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return dst, io.EOF
		}
		return dst, fmt.Errorf("flac frame: %w", err)
	}
	if len(f.Subframes) == 0 {
		return dst, errors.New("flac frame without channels")
	}
	n := len(f.Subframes[0].Samples)
	ch := float32(len(f.Subframes))
	for i := 0; i < n; i++ {
		var sum float32
		for _, sf := range f.Subframes {
			if i < len(sf.Samples) {
				sum += float32(sf.Samples[i])
			}
		}
		dst = append(dst, sum*d.scale/ch)
	}
	return dst, nil
}

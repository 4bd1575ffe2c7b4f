package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Decoder streams an MP3 file through go-mp3 (pure Go), which always
// gives 16-bit little-endian stereo at the stream's rate.
type mp3Decoder struct {
	d   *mp3.Decoder
	buf []byte
}

func newMP3Decoder(r io.Reader) (*mp3Decoder, error) {
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return nil, fmt.Errorf("mp3: %w", err)
	}
	if d.SampleRate() <= 0 {
		return nil, errors.New("mp3: no sample rate")
	}
	return &mp3Decoder{d: d, buf: make([]byte, 4*4096)}, nil
}

func (d *mp3Decoder) rate() int { return d.d.SampleRate() }

func (d *mp3Decoder) length() (time.Duration, bool) {
	n := d.d.Length() // bytes of decoded stereo 16-bit; -1 without a Seeker
	if n < 0 {
		return 0, false
	}
	return time.Duration(n/4) * time.Second / time.Duration(d.d.SampleRate()), true
}

func (d *mp3Decoder) read(dst []float32) ([]float32, error) {
	n, err := io.ReadFull(d.d, d.buf)
	n -= n % 4
	for i := 0; i < n; i += 4 {
		l := int16(binary.LittleEndian.Uint16(d.buf[i:]))
		r := int16(binary.LittleEndian.Uint16(d.buf[i+2:]))
		dst = append(dst, (float32(l)+float32(r))/65536)
	}
	switch {
	case err == nil:
		return dst, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if n == 0 {
			return dst, io.EOF
		}
		return dst, nil
	default:
		return dst, fmt.Errorf("mp3: %w", err)
	}
}

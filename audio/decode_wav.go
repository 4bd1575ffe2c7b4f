package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// wavDecoder streams a PCM WAV file (8/16-bit integer, 32-bit float, any
// rate and channel count) as mono float samples.
type wavDecoder struct {
	r                      io.Reader
	format, channels, bits uint16
	sampleRate             int
	left                   int64 // data bytes not yet read
	frameBytes             int
	buf                    []byte
}

func newWAVDecoder(r io.Reader) (*wavDecoder, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("wav header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, errors.New("wav header: not a RIFF/WAVE file")
	}
	d := &wavDecoder{r: r}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("wav chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return nil, fmt.Errorf("wav fmt chunk: %d bytes", size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("wav fmt chunk: %w", err)
			}
			d.format = binary.LittleEndian.Uint16(b[0:])
			d.channels = binary.LittleEndian.Uint16(b[2:])
			d.sampleRate = int(binary.LittleEndian.Uint32(b[4:]))
			d.bits = binary.LittleEndian.Uint16(b[14:])
			if d.format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: subformat GUID starts at 24
				d.format = binary.LittleEndian.Uint16(b[24:])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errors.New("wav: data before fmt chunk")
			}
			if d.channels == 0 || d.sampleRate == 0 {
				return nil, errors.New("wav: zero channels or rate")
			}
			var bps int
			switch {
			case d.format == 1 && d.bits == 16:
				bps = 2
			case d.format == 1 && d.bits == 8:
				bps = 1
			case d.format == 3 && d.bits == 32:
				bps = 4
			default:
				return nil, fmt.Errorf("wav: %w: format %d with %d bits", errUnsupportedEncoding, d.format, d.bits)
			}
			d.frameBytes = bps * int(d.channels)
			d.left = int64(size)
			if size == 0xFFFFFFFF { // streamed WAV of unknown length
				d.left = 1 << 62
			}
			return d, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size&1)); err != nil {
				return nil, fmt.Errorf("wav chunk %q: %w", ch[0:4], err)
			}
		}
	}
}

func (d *wavDecoder) rate() int { return d.sampleRate }

func (d *wavDecoder) length() (time.Duration, bool) {
	if d.left >= 1<<62 {
		return 0, false
	}
	frames := d.left / int64(d.frameBytes)
	return time.Duration(frames) * time.Second / time.Duration(d.sampleRate), true
}

func (d *wavDecoder) read(dst []float32) ([]float32, error) {
	if d.left < int64(d.frameBytes) {
		return dst, io.EOF
	}
	n := min(int64(d.frameBytes*4096), d.left/int64(d.frameBytes)*int64(d.frameBytes))
	if cap(d.buf) < int(n) {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	got, err := io.ReadFull(d.r, b)
	got -= got % d.frameBytes
	d.left -= int64(got)
	mono, cerr := wavToMono(b[:got], d.format, int(d.channels), int(d.bits))
	if cerr != nil {
		return dst, cerr
	}
	dst = append(dst, mono...)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		d.left = 0 // a data chunk shorter than its header says: keep what is there
		if len(dst) == 0 {
			return dst, io.EOF
		}
		return dst, nil
	case err != nil:
		return dst, fmt.Errorf("wav data: %w", err)
	}
	return dst, nil
}

package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadWAVFile reads a PCM WAV file (8/16-bit integer or 32-bit float, any
// rate, any channel count) and returns it as 48 kHz mono samples: channels
// are averaged and other rates are resampled linearly, which is plenty for
// test speech and cue sounds.
func ReadWAVFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read wav %q: %w", path, err)
	}
	defer f.Close()
	pcm, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("read wav %q: %w", path, err)
	}
	return pcm, nil
}

// ReadWAV is ReadWAVFile on a reader.
func ReadWAV(r io.Reader) ([]int16, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("wav header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, errors.New("wav header: not a RIFF/WAVE file")
	}
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("wav chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[0:4]) {
		case "fmt ":
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil || size < 16 {
				return nil, fmt.Errorf("wav fmt chunk: %v", err)
			}
			format = binary.LittleEndian.Uint16(b[0:])
			channels = binary.LittleEndian.Uint16(b[2:])
			rate = binary.LittleEndian.Uint32(b[4:])
			bits = binary.LittleEndian.Uint16(b[14:])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: subformat GUID starts at 24
				format = binary.LittleEndian.Uint16(b[24:])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errors.New("wav: data before fmt chunk")
			}
			if channels == 0 || rate == 0 {
				return nil, errors.New("wav: zero channels or rate")
			}
			data, err := io.ReadAll(io.LimitReader(r, int64(size)))
			if err != nil {
				return nil, fmt.Errorf("wav data: %w", err)
			}
			mono, err := wavToMono(data, format, int(channels), int(bits))
			if err != nil {
				return nil, err
			}
			return resampleLinear(mono, int(rate), SampleRate), nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size&1)); err != nil {
				return nil, fmt.Errorf("wav chunk %q: %w", ch[0:4], err)
			}
		}
	}
}

func wavToMono(data []byte, format uint16, channels, bits int) ([]float32, error) {
	var bps int
	switch {
	case format == 1 && bits == 16:
		bps = 2
	case format == 1 && bits == 8:
		bps = 1
	case format == 3 && bits == 32:
		bps = 4
	default:
		return nil, fmt.Errorf("wav: unsupported format %d with %d bits", format, bits)
	}
	n := len(data) / (bps * channels)
	out := make([]float32, n)
	for i := range out {
		var sum float32
		for c := range channels {
			o := (i*channels + c) * bps
			switch bps {
			case 2:
				sum += float32(int16(binary.LittleEndian.Uint16(data[o:]))) / 32768
			case 1:
				sum += (float32(data[o]) - 128) / 128
			case 4:
				sum += float32frombits(binary.LittleEndian.Uint32(data[o:]))
			}
		}
		out[i] = sum / float32(channels)
	}
	return out, nil
}

// resampleLinear converts float samples at rate from to int16 at rate to.
func resampleLinear(in []float32, from, to int) []int16 {
	if len(in) == 0 {
		return nil
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]int16, n)
	for i := range out {
		pos := float64(i) * float64(from) / float64(to)
		j := int(pos)
		frac := float32(pos - float64(j))
		a := in[j]
		b := a
		if j+1 < len(in) {
			b = in[j+1]
		}
		out[i] = floatToSample(a + (b-a)*frac)
	}
	return out
}

func floatToSample(v float32) int16 {
	v *= 32768
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

// WriteWAV writes mono 48 kHz s16 samples as a WAV file.
func WriteWAV(w io.Writer, pcm []int16) error {
	hdr := wavHeader(len(pcm))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write wav header: %w", err)
	}
	buf := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write wav data: %w", err)
	}
	return nil
}

// WriteWAVFile writes mono 48 kHz s16 samples to a WAV file at path.
func WriteWAVFile(path string, pcm []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write wav %q: %w", path, err)
	}
	if err := WriteWAV(f, pcm); err != nil {
		f.Close()
		return fmt.Errorf("write wav %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write wav %q: %w", path, err)
	}
	return nil
}

func wavHeader(samples int) []byte {
	dataBytes := uint32(2 * samples)
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataBytes)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataBytes)
	return h
}

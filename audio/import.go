package audio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Errors of Import, each a sentence a user can act on. An *ImportError
// wraps one of them together with the decoder's own error.
var (
	ErrFileEmpty       = errors.New("the file holds no sound")
	ErrFileUnsupported = errors.New("this kind of file cannot be sent: use WAV, MP3, FLAC or Ogg Opus")
	ErrFileCorrupt     = errors.New("the file is damaged and cannot be read")
	ErrFileTooLong     = errors.New("the file is longer than the longest voice message")
)

// errUnsupportedEncoding marks a known container holding an encoding the
// decoders do not read (24-bit WAV, Ogg Vorbis, surround Opus).
var errUnsupportedEncoding = errors.New("unsupported encoding")

// ImportError is why a file could not be turned into a voice message.
type ImportError struct {
	File string
	Kind error // ErrFileEmpty, ErrFileUnsupported, ErrFileCorrupt or ErrFileTooLong
	Err  error // the decoder's detail, if any
}

func (e *ImportError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("import %q: %v", e.File, e.Kind)
	}
	return fmt.Sprintf("import %q: %v: %v", e.File, e.Kind, e.Err)
}

// Unwrap lets errors.Is match both the kind and the detail.
func (e *ImportError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// DefaultMaxImport is the longest file Import accepts when ImportConfig
// says nothing: the protocol's longest message.
const DefaultMaxImport = 10 * time.Minute

// ImportConfig tunes Import.
type ImportConfig struct {
	// MaxDuration is the longest accepted file; zero means DefaultMaxImport.
	MaxDuration time.Duration
	// Encoder configures the Opus encoder (defaults as for recording).
	Encoder EncoderConfig
	// Progress, if set, is called on the importing goroutine with the
	// fraction of the file read so far (0..1), at most every 1 %.
	Progress func(fraction float64)
}

// Imported is a file turned into a voice message: 20 ms Opus packets
// numbered from 0, its duration and its waveform (WaveformPoints bytes).
type Imported struct {
	Format   string // "WAV", "MP3", "FLAC" or "Ogg Opus"
	Packets  []Packet
	Duration time.Duration
	Waveform []uint8
}

// ImportFile reads a WAV, MP3, FLAC or Ogg Opus file, resamples it to
// 48 kHz mono and encodes it to 20 ms Opus packets. It holds the packets in
// memory (about 3 KB a second) and returns only a complete, valid message,
// so a bad file sends nothing. Errors are *ImportError (or ctx's error).
func ImportFile(ctx context.Context, path string, cfg ImportConfig) (Imported, error) {
	f, err := os.Open(path)
	if err != nil {
		return Imported{}, fmt.Errorf("import %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Imported{}, fmt.Errorf("import %q: %w", path, err)
	}
	im, err := Import(ctx, f, st.Size(), cfg)
	var ie *ImportError
	if errors.As(err, &ie) {
		ie.File = path
	}
	return im, err
}

// Import is ImportFile on an open file of size bytes.
func Import(ctx context.Context, r io.ReadSeeker, size int64, cfg ImportConfig) (Imported, error) {
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = DefaultMaxImport
	}
	fail := func(kind, err error) (Imported, error) { return Imported{}, &ImportError{Kind: kind, Err: err} }
	if size == 0 {
		return fail(ErrFileEmpty, nil)
	}
	var magic [12]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fail(ErrFileCorrupt, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fail(ErrFileCorrupt, err)
	}
	format := sniff(magic[:n])
	if format == "" {
		return fail(ErrFileUnsupported, nil)
	}
	// quiet: opening a decoder may seek through the file (MP3 measures its
	// length); that is not progress.
	cr := &countingReader{r: r, size: size, progress: cfg.Progress, quiet: true}
	var dec pcmDecoder
	switch format {
	case "WAV":
		dec, err = newWAVDecoder(cr)
	case "MP3":
		dec, err = newMP3Decoder(cr)
	case "FLAC":
		dec, err = newFLACDecoder(cr)
	case "Ogg Opus":
		dec, err = newOggOpusDecoder(cr)
	}
	if err != nil {
		return fail(decodeKind(err), err)
	}
	if d, ok := dec.length(); ok && d > cfg.MaxDuration {
		return fail(ErrFileTooLong, fmt.Errorf("%v, at most %v", d.Round(time.Second), cfg.MaxDuration))
	}
	cr.quiet = false
	im, err := encodeImport(ctx, dec, cfg)
	if err != nil {
		return Imported{}, err
	}
	im.Format = format
	cr.report(1)
	return im, nil
}

// sniff names the format from the file's first bytes, whatever its name.
func sniff(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return "WAV"
	case bytes.HasPrefix(b, []byte("fLaC")) || (bytes.HasPrefix(b, []byte("ID3")) && bytes.Contains(b, []byte("fLaC"))):
		return "FLAC"
	case bytes.HasPrefix(b, []byte("OggS")):
		return "Ogg Opus" // Vorbis and others are refused by the Ogg decoder
	case bytes.HasPrefix(b, []byte("ID3")), len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return "MP3"
	}
	return ""
}

func decodeKind(err error) error {
	if errors.Is(err, errUnsupportedEncoding) {
		return ErrFileUnsupported
	}
	return ErrFileCorrupt
}

// pcmDecoder yields a file's sound as mono float samples at rate().
type pcmDecoder interface {
	rate() int
	// length is the duration the file's header states, if it states one.
	length() (time.Duration, bool)
	// read appends the next block of samples to dst; io.EOF ends the file.
	read(dst []float32) ([]float32, error)
}

// silentPeak is the loudest frame peak of a file that "holds no sound"
// (about -84 dBFS, below 16-bit dither).
const silentPeak = 2.0 / 32768

// encodeImport resamples dec's sound to 48 kHz, cuts 20 ms frames and
// encodes them, collecting per-frame peaks for the waveform.
func encodeImport(ctx context.Context, dec pcmDecoder, cfg ImportConfig) (Imported, error) {
	fail := func(kind, err error) (Imported, error) { return Imported{}, &ImportError{Kind: kind, Err: err} }
	enc, err := NewEncoder(cfg.Encoder)
	if err != nil {
		return Imported{}, fmt.Errorf("import: %w", err)
	}
	maxFrames := int(cfg.MaxDuration / FrameDuration)
	rs := newResampler(dec.rate(), SampleRate)
	var (
		fr      framer
		packets []Packet
		peaks   []float32
		encErr  error
		in      []float32
		out     []float32
		samples []int16
	)
	emit := func(frame []int16) {
		if encErr != nil {
			return
		}
		var peak int32
		for _, s := range frame {
			peak = max(peak, abs32(int32(s)))
		}
		b, err := enc.Encode(frame)
		if err != nil {
			encErr = err
			return
		}
		packets = append(packets, Packet{Seq: uint32(len(packets)), Data: b})
		peaks = append(peaks, float32(peak)/32768)
	}
	feed := func(f []float32) {
		samples = samples[:0]
		for _, v := range f {
			samples = append(samples, floatToSample(v))
		}
		fr.push(samples, emit)
	}
	for {
		if err := ctx.Err(); err != nil {
			return Imported{}, err
		}
		in, err = dec.read(in[:0])
		out = rs.push(in, out[:0])
		feed(out)
		if encErr != nil {
			return Imported{}, fmt.Errorf("import: %w", encErr)
		}
		if len(packets) > maxFrames {
			return fail(ErrFileTooLong, fmt.Errorf("more than %v", cfg.MaxDuration))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(decodeKind(err), err)
		}
	}
	feed(rs.flush(out[:0]))
	fr.flush(emit)
	if encErr != nil {
		return Imported{}, fmt.Errorf("import: %w", encErr)
	}
	if len(packets) > maxFrames {
		return fail(ErrFileTooLong, fmt.Errorf("more than %v", cfg.MaxDuration))
	}
	loud := false
	for _, p := range peaks {
		loud = loud || p > silentPeak
	}
	if len(peaks) == 0 {
		return fail(ErrFileEmpty, nil)
	}
	if !loud {
		return fail(ErrFileEmpty, fmt.Errorf("%v of silence", time.Duration(len(peaks))*FrameDuration))
	}
	return Imported{Packets: packets, Duration: time.Duration(len(packets)) * FrameDuration, Waveform: waveform(peaks)}, nil
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// countingReader reports reading progress; it passes Seek through so the
// MP3 decoder can measure the stream.
type countingReader struct {
	r        io.ReadSeeker
	size     int64
	pos      int64
	last     float64
	progress func(float64)
	quiet    bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	if c.size > 0 {
		c.report(min(1, float64(c.pos)/float64(c.size)))
	}
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) {
	p, err := c.r.Seek(off, whence)
	if err == nil {
		c.pos = p
	}
	return p, err
}

func (c *countingReader) report(f float64) {
	if c.progress == nil || c.quiet || (f-c.last < 0.01 && f < 1) || f <= c.last {
		return
	}
	c.last = f
	c.progress(f)
}

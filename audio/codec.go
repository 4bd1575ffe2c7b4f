package audio

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// EncoderConfig tunes the Opus encoder. Zero values select the defaults.
type EncoderConfig struct {
	// Bitrate in bits per second; default 24000.
	Bitrate int
	// Complexity 0..10; default 9. Lower saves CPU on slow machines.
	Complexity int
	// ExpectedLossPercent tells Opus how much loss to protect against with
	// in-band FEC; default 10. FEC only works when this is above zero.
	ExpectedLossPercent int
	// DisableFEC turns in-band forward error correction off.
	DisableFEC bool
}

func (c EncoderConfig) withDefaults() EncoderConfig {
	if c.Bitrate == 0 {
		c.Bitrate = 24000
	}
	if c.Complexity == 0 {
		c.Complexity = 9
	}
	if c.ExpectedLossPercent == 0 {
		c.ExpectedLossPercent = 10
	}
	return c
}

// Encoder turns 20 ms frames of 48 kHz mono PCM into Opus VOIP packets. It
// is not safe for concurrent use; one goroutine owns it.
type Encoder struct {
	enc *opus.Encoder
	buf [maxPacketBytes]byte
}

// NewEncoder returns an Opus VOIP encoder with the given settings.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	cfg = cfg.withDefaults()
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("new opus encoder: %w", err)
	}
	steps := []struct {
		name string
		err  error
	}{
		{"bitrate", enc.SetBitrate(cfg.Bitrate)},
		{"complexity", enc.SetComplexity(cfg.Complexity)},
		{"fec", enc.SetInBandFEC(!cfg.DisableFEC)},
		{"loss", enc.SetPacketLossPerc(cfg.ExpectedLossPercent)},
	}
	for _, s := range steps {
		if s.err != nil {
			return nil, fmt.Errorf("new opus encoder: set %s: %w", s.name, s.err)
		}
	}
	return &Encoder{enc: enc}, nil
}

// EncodeTo encodes one frame of FrameSamples samples into dst, which should
// hold at least 1500 bytes, and returns the packet length. It does not
// allocate.
func (e *Encoder) EncodeTo(frame []int16, dst []byte) (int, error) {
	if len(frame) != FrameSamples {
		return 0, fmt.Errorf("opus encode: frame has %d samples, want %d", len(frame), FrameSamples)
	}
	n, err := e.enc.Encode(frame, dst)
	if err != nil {
		return 0, fmt.Errorf("opus encode: %w", err)
	}
	return n, nil
}

// Encode encodes one frame into a newly allocated packet payload.
func (e *Encoder) Encode(frame []int16) ([]byte, error) {
	n, err := e.EncodeTo(frame, e.buf[:])
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), e.buf[:n]...), nil
}

// Decoder turns Opus packets back into 20 ms frames, and covers lost
// packets with FEC data from the following packet or with packet-loss
// concealment. It is not safe for concurrent use.
type Decoder struct {
	dec *opus.Decoder
}

// NewDecoder returns a 48 kHz mono Opus decoder.
func NewDecoder() (*Decoder, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("new opus decoder: %w", err)
	}
	return &Decoder{dec: dec}, nil
}

// Reset forgets the decoder state, for a seek.
func (d *Decoder) Reset() error {
	if err := d.dec.Init(SampleRate, 1); err != nil {
		return fmt.Errorf("opus decoder reset: %w", err)
	}
	return nil
}

// Decode decodes one packet into pcm (FrameSamples long) and returns the
// number of samples written. It does not allocate.
func (d *Decoder) Decode(data []byte, pcm []int16) (int, error) {
	pcm = pcm[:FrameSamples:FrameSamples]
	if len(data) == 0 {
		return FrameSamples, d.Conceal(pcm)
	}
	n, err := d.dec.Decode(data, pcm)
	if err != nil {
		return 0, fmt.Errorf("opus decode: %w", err)
	}
	return n, nil
}

// DecodeFEC reconstructs the frame before next (which was lost) from the
// redundancy carried in next. When next carries no FEC data, libopus falls
// back to concealment.
func (d *Decoder) DecodeFEC(next []byte, pcm []int16) error {
	if len(next) == 0 {
		return d.Conceal(pcm)
	}
	if err := d.dec.DecodeFEC(next, pcm[:FrameSamples:FrameSamples]); err != nil {
		return fmt.Errorf("opus decode fec: %w", err)
	}
	return nil
}

// Conceal synthesises one frame to cover a lost packet.
func (d *Decoder) Conceal(pcm []int16) error {
	if err := d.dec.DecodePLC(pcm[:FrameSamples:FrameSamples]); err != nil {
		return fmt.Errorf("opus conceal: %w", err)
	}
	return nil
}

// EncodePCM encodes whole PCM (padded to a frame multiple) into numbered
// packets. For tests, cues and tools.
func EncodePCM(pcm []int16, cfg EncoderConfig) ([]Packet, error) {
	enc, err := NewEncoder(cfg)
	if err != nil {
		return nil, err
	}
	var out []Packet
	var f framer
	var encErr error
	emit := func(frame []int16) {
		if encErr != nil {
			return
		}
		b, err := enc.Encode(frame)
		if err != nil {
			encErr = err
			return
		}
		out = append(out, Packet{Seq: uint32(len(out)), Data: b})
	}
	f.push(pcm, emit)
	f.flush(emit)
	return out, encErr
}

// RecordPCM runs pcm (48 kHz mono) through a Recorder with cfg as if it
// were the microphone, as fast as it encodes, and returns the packets and
// the summary (duration, waveform) a talker's app sends. For tests and
// tools.
func RecordPCM(pcm []int16, cfg RecorderConfig) ([]Packet, Recording, error) {
	rec, err := NewPCMRecorder(pcm, FileRecorderConfig{RecorderConfig: cfg})
	if err != nil {
		return nil, Recording{}, err
	}
	defer rec.Close()
	ch, err := rec.Start()
	if err != nil {
		return nil, Recording{}, fmt.Errorf("record pcm: %w", err)
	}
	var ps []Packet
	for p := range ch {
		ps = append(ps, p)
	}
	sum, err := rec.Stop()
	if err != nil {
		return nil, Recording{}, fmt.Errorf("record pcm: %w", err)
	}
	return ps, sum, nil
}

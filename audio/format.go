package audio

import (
	"context"
	"io"
	"time"
)

// Audio format used everywhere inside the package and on the wire.
const (
	// SampleRate is the PCM and Opus sample rate in Hz.
	SampleRate = 48000
	// FrameSamples is the number of mono samples in one 20 ms frame.
	FrameSamples = 960
	// FrameDuration is the duration of one frame and of one Opus packet.
	FrameDuration = 20 * time.Millisecond
	// maxPacketBytes bounds one encoded 20 ms Opus packet (RFC 6716 allows 1275).
	maxPacketBytes = 1500
)

// Packet is one 20 ms Opus packet of a message. Seq numbers the packets of a
// message from 0 without gaps at the sender; a receiver may see gaps (loss)
// or reordering. Data is owned by whoever holds the Packet; the package never
// modifies a Packet's Data after handing it out.
type Packet struct {
	Seq  uint32
	Data []byte
	// Arrived is when a live packet was read off the network (zero if
	// unknown). A live player measures jitter from it.
	Arrived time.Time
}

// PacketSource yields the packets of one message in sequence order (gaps
// allowed). Next blocks until a packet is available, the context is done, or
// the message ends, which it reports with io.EOF. A source for a message that
// is still being recorded blocks at the live tail. Implementations need not be
// safe for concurrent calls: a Player calls Next from one goroutine.
type PacketSource interface {
	Next(ctx context.Context) (Packet, error)
}

// SliceSource is a PacketSource over packets held in memory, for stored
// messages, tests and export. It is not safe for concurrent use.
type SliceSource struct {
	packets []Packet
	i       int
}

// NewSliceSource returns a source that yields packets in the given order and
// then io.EOF.
func NewSliceSource(packets []Packet) *SliceSource {
	return &SliceSource{packets: packets}
}

// Next implements PacketSource.
func (s *SliceSource) Next(ctx context.Context) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	if s.i >= len(s.packets) {
		return Packet{}, io.EOF
	}
	p := s.packets[s.i]
	s.i++
	return p, nil
}

// ChanSource adapts a channel of packets, such as the one a Recorder
// returns, to a PacketSource; a closed channel is the end of the message.
type ChanSource <-chan Packet

// Next implements PacketSource.
func (c ChanSource) Next(ctx context.Context) (Packet, error) {
	select {
	case p, ok := <-c:
		if !ok {
			return Packet{}, io.EOF
		}
		return p, nil
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

// samplesToDuration converts a number of 48 kHz samples to a duration.
func samplesToDuration(n int64) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// durationToSamples converts a duration to a number of 48 kHz samples.
func durationToSamples(d time.Duration) int64 {
	return int64(d) * SampleRate / int64(time.Second)
}

package wire

import (
	"encoding/binary"
)

// FrameKind is the first byte of a binary frame.
type FrameKind byte

// Binary frame kinds.
const (
	FramePacket FrameKind = 1 // one packet
	FrameBatch  FrameKind = 2 // consecutive packets, for history transfer
)

// HeaderBytes is the size of every binary frame's fixed header.
const HeaderBytes = 9

// batchCountBytes and batchLenBytes size a batch's count and per-packet
// length fields.
const (
	batchCountBytes = 2
	batchLenBytes   = 2
)

// Frame is a decoded binary frame: Packets[i] is packet number First+i of
// Stream. The packet slices alias the decoded buffer.
type Frame struct {
	Kind    FrameKind
	Stream  uint32
	First   uint32
	Packets [][]byte
}

func appendHeader(dst []byte, kind FrameKind, stream, number uint32) []byte {
	dst = append(dst, byte(kind))
	dst = binary.BigEndian.AppendUint32(dst, stream)
	return binary.BigEndian.AppendUint32(dst, number)
}

func checkPacket(number uint32, p []byte) error {
	if len(p) == 0 {
		return Errorf(CodeBadRequest, "packet %d is empty", number)
	}
	if len(p) > MaxPacketBytes {
		return Errorf(CodeTooLarge, "packet %d of %d bytes exceeds %d", number, len(p), MaxPacketBytes)
	}
	return nil
}

// AppendPacket appends a FramePacket carrying packet number of stream to
// dst.
func AppendPacket(dst []byte, stream, number uint32, packet []byte) ([]byte, error) {
	if err := checkPacket(number, packet); err != nil {
		return dst, err
	}
	dst = appendHeader(dst, FramePacket, stream, number)
	return append(dst, packet...), nil
}

// AppendBatch appends a FrameBatch carrying packets numbered first,
// first+1, … of stream to dst. It fails if the batch would exceed
// MaxBatchPackets or MaxFrameBytes; BatchFits tells in advance.
func AppendBatch(dst []byte, stream, first uint32, packets [][]byte) ([]byte, error) {
	if len(packets) == 0 || len(packets) > MaxBatchPackets {
		return dst, Errorf(CodeBadRequest, "batch of %d packets (want 1..%d)", len(packets), MaxBatchPackets)
	}
	size := HeaderBytes + batchCountBytes
	for i, p := range packets {
		if err := checkPacket(first+uint32(i), p); err != nil {
			return dst, err
		}
		size += batchLenBytes + len(p)
	}
	if size > MaxFrameBytes {
		return dst, Errorf(CodeTooLarge, "batch of %d bytes exceeds %d", size, MaxFrameBytes)
	}
	dst = appendHeader(dst, FrameBatch, stream, first)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(packets)))
	for _, p := range packets {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(p)))
		dst = append(dst, p...)
	}
	return dst, nil
}

// BatchFits reports whether a batch of count packets totalling bytes
// payload bytes fits in one frame.
func BatchFits(count, bytes int) bool {
	return count <= MaxBatchPackets && HeaderBytes+batchCountBytes+count*batchLenBytes+bytes <= MaxFrameBytes
}

// DecodeFrame parses a binary frame with strict length checks: every byte
// must be accounted for, counts and lengths must be in range, and packet
// numbers must not wrap.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) > MaxFrameBytes {
		return Frame{}, Errorf(CodeTooLarge, "frame of %d bytes exceeds %d", len(b), MaxFrameBytes)
	}
	if len(b) < HeaderBytes {
		return Frame{}, Errorf(CodeBadRequest, "frame of %d bytes is shorter than its header", len(b))
	}
	f := Frame{
		Kind:   FrameKind(b[0]),
		Stream: binary.BigEndian.Uint32(b[1:5]),
		First:  binary.BigEndian.Uint32(b[5:9]),
	}
	body := b[HeaderBytes:]
	switch f.Kind {
	case FramePacket:
		if err := checkPacket(f.First, body); err != nil {
			return Frame{}, err
		}
		f.Packets = [][]byte{body}
	case FrameBatch:
		if len(body) < batchCountBytes {
			return Frame{}, Errorf(CodeBadRequest, "batch without count")
		}
		n := int(binary.BigEndian.Uint16(body))
		body = body[batchCountBytes:]
		if n == 0 || n > MaxBatchPackets {
			return Frame{}, Errorf(CodeBadRequest, "batch of %d packets (want 1..%d)", n, MaxBatchPackets)
		}
		if uint64(f.First)+uint64(n) > 1<<32 {
			return Frame{}, Errorf(CodeBadRequest, "batch packet numbers wrap")
		}
		f.Packets = make([][]byte, 0, n)
		for i := 0; i < n; i++ {
			if len(body) < batchLenBytes {
				return Frame{}, Errorf(CodeBadRequest, "batch truncated at packet %d", i)
			}
			l := int(binary.BigEndian.Uint16(body))
			body = body[batchLenBytes:]
			if l > len(body) {
				return Frame{}, Errorf(CodeBadRequest, "batch packet %d claims %d bytes, %d left", i, l, len(body))
			}
			if err := checkPacket(f.First+uint32(i), body[:l]); err != nil {
				return Frame{}, err
			}
			f.Packets = append(f.Packets, body[:l:l])
			body = body[l:]
		}
		if len(body) != 0 {
			return Frame{}, Errorf(CodeBadRequest, "batch has %d trailing bytes", len(body))
		}
	default:
		return Frame{}, Errorf(CodeBadRequest, "unknown frame kind %d", b[0])
	}
	return f, nil
}

package wire

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xAB}, MaxPacketBytes)
	tests := []struct {
		name    string
		kind    FrameKind
		stream  uint32
		first   uint32
		packets [][]byte
	}{
		{"single small", FramePacket, 1, 0, [][]byte{{1}}},
		{"single max", FramePacket, 1<<32 - 1, 1<<32 - 1, [][]byte{big}},
		{"batch one", FrameBatch, 7, 100, [][]byte{{1, 2, 3}}},
		{"batch many", FrameBatch, 7, 0, func() [][]byte {
			p := make([][]byte, MaxBatchPackets)
			for i := range p {
				p[i] = bytes.Repeat([]byte{byte(i)}, 1+i*7)
			}
			return p
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			var err error
			if tc.kind == FramePacket {
				b, err = AppendPacket(nil, tc.stream, tc.first, tc.packets[0])
			} else {
				b, err = AppendBatch(nil, tc.stream, tc.first, tc.packets)
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			want := Frame{Kind: tc.kind, Stream: tc.stream, First: tc.first, Packets: tc.packets}
			if !reflect.DeepEqual(f, want) {
				t.Errorf("got %+v, want %+v", f, want)
			}
		})
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	hdr := func(kind byte) []byte { return appendHeader(nil, FrameKind(kind), 1, 0) }
	batch := func(count uint16, rest ...byte) []byte {
		b := binary.BigEndian.AppendUint16(hdr(2), count)
		return append(b, rest...)
	}
	tests := []struct {
		name string
		in   []byte
		want Code
	}{
		{"empty", nil, CodeBadRequest},
		{"short header", []byte{1, 0, 0}, CodeBadRequest},
		{"unknown kind", append(hdr(9), 1), CodeBadRequest},
		{"empty packet", hdr(1), CodeBadRequest},
		{"oversized packet", append(hdr(1), make([]byte, MaxPacketBytes+1)...), CodeTooLarge},
		{"oversized frame", append(hdr(1), make([]byte, MaxFrameBytes)...), CodeTooLarge},
		{"batch no count", hdr(2), CodeBadRequest},
		{"batch zero", batch(0), CodeBadRequest},
		{"batch too many", batch(MaxBatchPackets + 1), CodeBadRequest},
		{"batch truncated length", batch(2, 0, 1, 5), CodeBadRequest},
		{"batch length overruns", batch(1, 0, 9, 1, 2), CodeBadRequest},
		{"batch trailing bytes", batch(1, 0, 1, 5, 6), CodeBadRequest},
		{"batch empty packet", batch(1, 0, 0), CodeBadRequest},
		{"batch numbers wrap", func() []byte {
			b := appendHeader(nil, FrameBatch, 1, 1<<32-1)
			b = binary.BigEndian.AppendUint16(b, 2)
			return append(b, 0, 1, 1, 0, 1, 2)
		}(), CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame(tc.in)
			if got := CodeOf(err); err == nil || got != tc.want {
				t.Errorf("DecodeFrame: err = %v, want code %s", err, tc.want)
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	if _, err := AppendPacket(nil, 1, 0, nil); CodeOf(err) != CodeBadRequest {
		t.Errorf("empty packet: err = %v", err)
	}
	if _, err := AppendBatch(nil, 1, 0, make([][]byte, MaxBatchPackets+1)); CodeOf(err) != CodeBadRequest {
		t.Errorf("batch too many: err = %v", err)
	}
	p := make([][]byte, MaxBatchPackets)
	for i := range p {
		p[i] = make([]byte, MaxPacketBytes)
	}
	// The largest batch (every packet at its maximum) fits in one frame.
	if !BatchFits(len(p), len(p)*MaxPacketBytes) {
		t.Errorf("BatchFits says %d max packets do not fit in %d bytes", len(p), MaxFrameBytes)
	}
	if _, err := AppendBatch(nil, 1, 0, p); err != nil {
		t.Errorf("largest batch: err = %v", err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	p, _ := AppendPacket(nil, 3, 9, []byte{1, 2, 3})
	b, _ := AppendBatch(nil, 3, 9, [][]byte{{1}, {2, 3}, {4, 5, 6}})
	for _, s := range [][]byte{p, b, {}, {1}, {2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 7}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := DecodeFrame(in)
		if err != nil {
			return
		}
		// A decoded frame re-encodes to the same bytes.
		var out []byte
		if fr.Kind == FramePacket {
			out, err = AppendPacket(nil, fr.Stream, fr.First, fr.Packets[0])
		} else {
			out, err = AppendBatch(nil, fr.Stream, fr.First, fr.Packets)
		}
		if err != nil {
			t.Fatalf("re-encode of accepted frame: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encode differs:\n in %x\nout %x", in, out)
		}
	})
}

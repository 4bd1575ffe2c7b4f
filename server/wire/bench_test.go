package wire

import (
	"testing"
)

var benchPacket = func() []byte {
	b := make([]byte, 60)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

// BenchmarkAppendPacket encodes one 60-byte live packet frame into a
// reused buffer.
func BenchmarkAppendPacket(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = AppendPacket(buf[:0], 7, uint32(i), benchPacket); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFrame decodes one live packet frame.
func BenchmarkDecodeFrame(b *testing.B) {
	frame, _ := AppendPacket(nil, 7, 42, benchPacket)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatch encodes and decodes a full history batch.
func BenchmarkBatch(b *testing.B) {
	packets := make([][]byte, MaxBatchPackets)
	for i := range packets {
		packets[i] = benchPacket
	}
	buf := make([]byte, 0, 8<<10)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = AppendBatch(buf[:0], 7, 0, packets); err != nil {
				b.Fatal(err)
			}
		}
	})
	frame, _ := AppendBatch(nil, 7, 0, packets)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := DecodeFrame(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMarshalAck encodes the envelope the server sends after each
// commit.
func BenchmarkMarshalAck(b *testing.B) {
	ack := VoiceAck{Message: "01JAAAAAAAAAAAAAAAAAAAAAAA", Upto: 1234}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Marshal(TypeVoiceAck, "", ack); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEnvelope decodes a voice.start request and its payload.
func BenchmarkDecodeEnvelope(b *testing.B) {
	data, _ := Marshal(TypeVoiceStart, "r12", VoiceStart{Conversation: "01JBBBBBBBBBBBBBBBBBBBBBBB", Message: "01JAAAAAAAAAAAAAAAAAAAAAAA", Codec: CodecOpus})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		env, err := DecodeEnvelope(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode[VoiceStart](env); err != nil {
			b.Fatal(err)
		}
	}
}

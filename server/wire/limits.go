package wire

import "time"

// Protocol limits. A peer that exceeds one gets a typed error or, for a
// frame too large to read, a close with CloseTooLarge.
const (
	// ProtocolVersion is the version this package speaks; hello carries it.
	ProtocolVersion = 1

	// MaxFrameBytes bounds any WebSocket frame, text or binary.
	MaxFrameBytes = 96 << 10
	// MaxPacketBytes bounds one Opus packet (Opus' own maximum is 1275).
	MaxPacketBytes = 1275
	// MaxBatchPackets bounds the packets in one FrameBatch.
	MaxBatchPackets = 64
	// MaxTextBytes bounds a text message's UTF-8 body.
	MaxTextBytes = 4000
	// MaxWaveformPoints bounds a voice message's waveform summary.
	MaxWaveformPoints = 256
	// MaxMessageDuration bounds one voice message.
	MaxMessageDuration = 10 * time.Minute
	// FrameDuration is the audio carried by one packet.
	FrameDuration = 20 * time.Millisecond
	// MaxMessagePackets is MaxMessageDuration in packets.
	MaxMessagePackets = uint32(MaxMessageDuration / FrameDuration)
	// SlowConsumerAfter is how far behind a reader may fall before the
	// server closes it with CloseSlowConsumer: a write that blocks that
	// long, or a ping the server sent after its frames that gets no pong
	// in that time (the pong shows the client has read everything before
	// it). Clients answer pings from their reader, as WebSocket libraries
	// do by default. Well under the keepalive (two missed 30 s pings). A
	// client that keeps sending meanwhile (its pong may wait behind its
	// own frames) is given up to the keepalive instead.
	SlowConsumerAfter = 5 * time.Second
	// MaxPacketsAhead is how far past the first missing packet of a voice
	// message a packet may be (5 s of audio); one further is dropped with
	// CodePacketGap.
	MaxPacketsAhead = 250
	// MaxPendingBytes bounds the packet bytes one user can make the
	// server hold behind gaps (received out of order, not yet storable)
	// across all of its connections and messages; a packet past it is
	// dropped with CodePacketGap. Packets that arrive in order are held
	// only until they are committed.
	MaxPendingBytes = 512 << 10
	// MaxNameBytes bounds usernames, device names and conversation titles
	// (UTF-8, after NFC normalisation; see CheckName).
	MaxNameBytes = 64
	// MinPasswordRunes and MaxPasswordBytes bound a password (see
	// CheckPassword).
	MinPasswordRunes = 8
	MaxPasswordBytes = 256
	// MaxGroupMembers bounds the members named in one conversation.create.
	MaxGroupMembers = 256
	// MaxSyncPage bounds the events in one sync page.
	MaxSyncPage = 500
	// MaxIDBytes bounds request ids and entity ids.
	MaxIDBytes = 64
)

// Package wire is Parley's protocol between a client device and a server:
// the JSON control envelope, every control message type, the typed error
// codes, the WebSocket close codes and the binary audio frames. It uses
// only the standard library so that any client or server can share it.
//
// # Transport
//
// One WebSocket per device at /v1/ws. Text frames carry one Envelope each:
//
//	{"type": "voice.start", "id": "r12", "timestamp": 1700000000000, "payload": {...}}
//
// A request that expects an answer carries an id; the answer (or an Error)
// carries the same id. Server pushes (events, voice.live, presence) carry
// no id.
//
// Binary frames carry audio. Every binary frame starts with a 9-byte header:
//
//	byte 0     kind: FramePacket (1) or FrameBatch (2)
//	bytes 1-4  stream id, uint32 big endian
//	bytes 5-8  packet number, uint32 big endian (first packet of a batch)
//
// A FramePacket is followed by one Opus packet (1..MaxPacketBytes bytes).
// A FrameBatch is followed by a uint16 count and then count packets, each a
// uint16 length and its bytes; the packets are numbered consecutively from
// the header's number. Stream ids are chosen by the receiver of voice.start
// (client to server) or by the server (voice.live and audio.fetch streams)
// and are valid on one connection only.
//
// # Conversation of a voice message
//
//	client                               server
//	voice.start {conversation, message} ->
//	                                     <- voice.started {stream, upto}
//	binary packets from upto            ->
//	                                     <- voice.ack {message, upto}   (after commit)
//	voice.end {packets, duration, ...}  ->
//	                                     <- voice.ack {complete: true}
//
// upto counts the packets durably stored from packet 0 without a gap: after
// voice.ack{upto: 7} packets 0..6 are committed and will never be lost. A
// sender that reconnects sends voice.start again with the same message id
// and resumes from the upto it is told; resending a stored packet is
// harmless.
//
// Members' online devices receive voice.live, then the packets on the
// stream it names, then voice.done. audio.fetch streams stored packets as
// batches and, while the message is still recording, continues with the live
// tail on the same stream, ending with voice.done.
//
// # History
//
// Every change a member may see (a message created or finished, a receipt,
// a membership change) is an Event with a server-wide, increasing cursor.
// sync {since} returns a user's events after a cursor in pages. After the
// welcome the server pushes new events on the connection in cursor order,
// so once a client's first sync has reached the end (more == false) it may
// store the cursor of every event it applies.
//
// The cursor rule, on every storage engine and however many server nodes
// share it: cursors are dense (each one follows the last without a gap)
// and assigned in commit order — the next cursor is taken under a lock
// held until the change commits (SQLite's single writer; in PostgreSQL a
// counter row updated in the same transaction, not a sequence, whose
// values commit out of order). So once an event with cursor c can be
// read, every event below c can be read too, and sync {since: c} never
// skips one that commits later. Each node delivers events to its
// connections in cursor order: one that arrives ahead of a missing one
// waits until the missing one arrives or is read from the store.
//
// # Sizes
//
// Every frame the server sends fits in MaxFrameBytes by construction:
// lists that grow with the server are paged by size (see Page), a
// conversation's members travel in full only where they are bounded
// (conversation.create) and otherwise as Added/Removed deltas, sync pages
// are cut by size, and a large presence snapshot is split.
//
// # Names and passwords
//
// CheckName states what a username, device name or group title may
// contain and CheckPassword what a new password must be; clients apply
// them before sending, the server applies them again (after normalising
// names to NFC) and refuses usernames that look like one in use. Text
// messages may carry any printable text, bidi controls included: a client
// must show them so that they cannot reorder what is around the message
// (isolate each message's direction, show control and format characters
// visibly).
//
// # Slow readers
//
// The server measures how far behind a reader is with pings (any
// WebSocket library answers them from its reader): one more than
// SlowConsumerAfter behind, or whose queue overflows, is closed with
// CloseSlowConsumer and reconnects, then catches up with sync and
// audio.fetch.
//
// # Errors that ask for a change of input (final)
//
//	invalid_name   a name breaks CheckName
//	weak_password  a new password breaks CheckPassword
//	username_taken the name, or one that looks the same, is in use
//	out_of_range   a listened position past the end of the message
//	mismatch       voice.end disagrees with the stored packets
//
// and that ask to wait or resend (retry): packet_gap (resend from the
// last upto, in order), rate_limited (also for too many sign-in attempts
// per account or per address; the message says how long to wait, and the
// connection closes with CloseRateLimited).
package wire

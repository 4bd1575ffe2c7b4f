package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// badFixture is a server where alice has a private group with a text and
// a finished voice message, and mallory is a user outside it.
type badFixture struct {
	ts          *testServer
	alice       *client
	secret      wire.Conversation
	secretText  string
	secretVoice string
	mallory     wire.Welcome
	revoked     string
}

func newBadFixture(t *testing.T) *badFixture {
	ts := startServer(t, func(c *Config) { c.ControlRate, c.ControlBurst, c.MaxViolations = 20, 30, 10 })
	fx := &badFixture{ts: ts, secretText: newID(), secretVoice: newID()}
	fx.alice = register(t, ts, "alice")
	bob := register(t, ts, "bob")
	fx.secret = call[wire.ConversationInfo](fx.alice, wire.TypeConversationCreate, wire.ConversationCreate{
		Kind: wire.ConversationGroup, Title: "secret", Members: []string{bob.welcome.User.ID}}).Conversation
	call[wire.TextSent](fx.alice, wire.TypeTextSend, wire.TextSend{Conversation: fx.secret.ID, Message: fx.secretText, Text: "the code is 1234"})
	st := fx.alice.startVoice(fx.secret.ID, fx.secretVoice)
	fx.alice.sendPacket(st.Stream, 0, packetData(fx.secretVoice, 0))
	fx.alice.waitAck(fx.secretVoice, 1)
	fx.alice.endVoice(fx.secretVoice, 1)
	m := register(t, ts, "mallory")
	fx.mallory = m.welcome
	m.close()
	old := dial(t, ts.url())
	old.hello(wire.Auth{Mode: wire.AuthLogin, Username: "mallory", Password: "password-mallory", Device: "old"})
	fx.revoked = old.welcome.Token
	call[wire.OK](old, wire.TypeDeviceRevoke, wire.DeviceRevoke{Device: old.welcome.Device.ID})
	return fx
}

// mallory connects a fresh device session for one case.
func (fx *badFixture) mallorySession(t *testing.T) *client {
	return reconnect(t, fx.ts, fx.mallory)
}

func envelope(typ string, payload string) []byte {
	return []byte(`{"type":"` + typ + `","id":"bad","timestamp":1,"payload":` + payload + `}`)
}

// TestBadInput sends each kind of bad input and checks its documented
// typed error or close code; the server stays up and reveals nothing of
// alice's group.
func TestBadInput(t *testing.T) {
	fx := newBadFixture(t)
	longText := strings.Repeat("x", wire.MaxTextBytes+1)
	hugeFrame := bytes.Repeat([]byte("x"), wire.MaxFrameBytes+10)
	text := func(b []byte) func(*client) { return func(c *client) { c.sendRaw(websocket.TextMessage, b) } }
	bin := func(b []byte) func(*client) { return func(c *client) { c.sendRaw(websocket.BinaryMessage, b) } }
	hdr := func(kind byte, stream, n uint32) []byte {
		b := []byte{kind}
		b = binary.BigEndian.AppendUint32(b, stream)
		return binary.BigEndian.AppendUint32(b, n)
	}
	req := func(typ string, payload any) func(*client) {
		return func(c *client) {
			b, _ := json.Marshal(payload)
			c.sendRaw(websocket.TextMessage, envelope(typ, string(b)))
		}
	}
	register := func(name string) func(*client) {
		return req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthRegister, Username: name, Password: "long enough"}})
	}
	ownStream := func(c *client) uint32 {
		return c.startVoice(c.lobby().ID, newID()).Stream
	}

	tests := []struct {
		name      string
		unauthed  bool // the case starts before the hello
		do        func(c *client)
		wantCode  wire.Code
		wantClose int
	}{
		{name: "malformed json", do: text([]byte(`{"type":"sync",`)), wantCode: wire.CodeBadRequest},
		{name: "json array", do: text([]byte(`[1,2,3]`)), wantCode: wire.CodeBadRequest},
		{name: "missing type", do: text([]byte(`{"id":"x"}`)), wantCode: wire.CodeBadRequest},
		{name: "unknown type", do: text(envelope("voice.explode", `{}`)), wantCode: wire.CodeUnknownType},
		{name: "payload of wrong shape", do: text(envelope(wire.TypeTextSend, `"hello"`)), wantCode: wire.CodeBadRequest},
		{name: "oversized text frame", do: text(hugeFrame), wantClose: wire.CloseTooLarge},
		{name: "oversized binary frame", do: bin(hugeFrame), wantClose: wire.CloseTooLarge},
		{name: "binary shorter than header", do: bin([]byte{1, 2}), wantCode: wire.CodeBadRequest},
		{name: "binary unknown kind", do: bin(append(hdr(7, 1, 0), 1)), wantCode: wire.CodeBadRequest},
		{name: "oversized packet", do: bin(append(hdr(1, 1, 0), make([]byte, wire.MaxPacketBytes+1)...)), wantCode: wire.CodeTooLarge},
		{name: "packet for a stream never opened", do: bin(append(hdr(1, 99, 0), 1)), wantCode: wire.CodeStreamUnknown},
		{name: "packet on alice's stream id", do: func(c *client) {
			// Stream ids belong to a connection: alice's first stream id
			// means nothing on mallory's.
			c.sendPacket(1, 0, []byte{1})
		}, wantCode: wire.CodeStreamUnknown},
		{name: "packet for an ended stream", do: func(c *client) {
			msg := newID()
			st := c.startVoice(c.lobby().ID, msg)
			c.sendPacket(st.Stream, 0, []byte{1})
			c.waitAck(msg, 1)
			c.endVoice(msg, 1)
			c.sendPacket(st.Stream, 1, []byte{2})
		}, wantCode: wire.CodeStreamUnknown},
		{name: "batch from a client", do: func(c *client) {
			b, _ := wire.AppendBatch(nil, ownStream(c), 0, [][]byte{{1}})
			c.sendRaw(websocket.BinaryMessage, b)
		}, wantCode: wire.CodeBadRequest},
		{name: "packet number beyond the longest message", do: func(c *client) { c.sendPacket(ownStream(c), wire.MaxMessagePackets, []byte{1}) }, wantCode: wire.CodeTooLarge},
		{name: "text to a conversation not joined", do: req(wire.TypeTextSend, wire.TextSend{Conversation: fx.secret.ID, Message: newID(), Text: "hi"}), wantCode: wire.CodeNotMember},
		{name: "text to a conversation that does not exist", do: req(wire.TypeTextSend, wire.TextSend{Conversation: "nope", Message: newID(), Text: "hi"}), wantCode: wire.CodeNotMember},
		{name: "voice into a conversation not joined", do: req(wire.TypeVoiceStart, wire.VoiceStart{Conversation: fx.secret.ID, Message: newID(), Codec: "opus"}), wantCode: wire.CodeNotMember},
		{name: "reuse of alice's message id", do: func(c *client) {
			req(wire.TypeVoiceStart, wire.VoiceStart{Conversation: c.lobby().ID, Message: fx.secretVoice, Codec: "opus"})(c)
		}, wantCode: wire.CodeConflict},
		{name: "duplicate id with other text", do: func(c *client) {
			id, lobby := newID(), c.lobby().ID
			call[wire.TextSent](c, wire.TypeTextSend, wire.TextSend{Conversation: lobby, Message: id, Text: "one"})
			req(wire.TypeTextSend, wire.TextSend{Conversation: lobby, Message: id, Text: "two"})(c)
		}, wantCode: wire.CodeConflict},
		{name: "message id not a ULID", do: req(wire.TypeTextSend, wire.TextSend{Conversation: "x", Message: "123", Text: "hi"}), wantCode: wire.CodeBadRequest},
		{name: "text too long", do: req(wire.TypeTextSend, wire.TextSend{Conversation: "x", Message: newID(), Text: longText}), wantCode: wire.CodeTooLarge},
		{name: "absurd waveform", do: req(wire.TypeVoiceEnd, wire.VoiceEnd{Message: newID(), Packets: 1, Waveform: make([]uint8, 5000)}), wantCode: wire.CodeTooLarge},
		{name: "end before the packets arrived", do: func(c *client) {
			msg := newID()
			c.startVoice(c.lobby().ID, msg)
			req(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: 10, DurationMs: 200})(c)
		}, wantCode: wire.CodeIncomplete},
		{name: "end with fewer packets than stored", do: func(c *client) {
			msg := newID()
			st := c.startVoice(c.lobby().ID, msg)
			for n := uint32(0); n < 10; n++ {
				c.sendPacket(st.Stream, n, []byte{byte(n)})
			}
			c.waitAck(msg, 10)
			req(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: 5, DurationMs: 100})(c)
		}, wantCode: wire.CodeMismatch},
		{name: "end whose duration disagrees with its packets", do: req(wire.TypeVoiceEnd, wire.VoiceEnd{Message: newID(), Packets: 10, DurationMs: 5000}), wantCode: wire.CodeMismatch},
		{name: "packet far ahead of upto", do: func(c *client) {
			st := c.startVoice(c.lobby().ID, newID())
			c.sendPacket(st.Stream, 0, []byte{1})
			c.sendPacket(st.Stream, 1+wire.MaxPacketsAhead+1, []byte{2})
		}, wantCode: wire.CodePacketGap},
		{name: "packets behind gaps past the user's budget", do: func(c *client) {
			// Every packet is within the window, but two messages' worth
			// of them pass MaxPendingBytes.
			big := make([]byte, wire.MaxPacketBytes)
			for range 2 {
				st := c.startVoice(c.lobby().ID, newID())
				for n := uint32(1); n <= wire.MaxPacketsAhead; n++ {
					c.sendPacket(st.Stream, n, big)
				}
			}
		}, wantCode: wire.CodePacketGap},
		{name: "listened past the end of a voice message", do: func(c *client) {
			msg := newID()
			st := c.startVoice(c.lobby().ID, msg)
			c.sendPacket(st.Stream, 0, []byte{1})
			c.waitAck(msg, 1)
			c.endVoice(msg, 1)
			req(wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptListened, PositionMs: 600000})(c)
		}, wantCode: wire.CodeOutOfRange},
		{name: "listened past what arrived of a recording", do: func(c *client) {
			msg := newID()
			st := c.startVoice(c.lobby().ID, msg)
			c.sendPacket(st.Stream, 0, []byte{1})
			c.waitAck(msg, 1)
			req(wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptListened, PositionMs: 5000})(c)
		}, wantCode: wire.CodeOutOfRange},
		{name: "listened position on a text", do: func(c *client) {
			msg := newID()
			call[wire.TextSent](c, wire.TypeTextSend, wire.TextSend{Conversation: c.lobby().ID, Message: msg, Text: "hi"})
			req(wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptListened, PositionMs: 1000})(c)
		}, wantCode: wire.CodeOutOfRange},
		{name: "negative seek", do: text(envelope(wire.TypeAudioFetch, `{"message":"`+newID()+`","from":-5}`)), wantCode: wire.CodeBadRequest},
		{name: "huge seek", do: req(wire.TypeAudioFetch, wire.AudioFetch{Message: newID(), From: 1 << 31}), wantCode: wire.CodeBadRequest},
		{name: "fetch of alice's voice", do: req(wire.TypeAudioFetch, wire.AudioFetch{Message: fx.secretVoice}), wantCode: wire.CodeNotFound},
		{name: "receipt on alice's text", do: req(wire.TypeReceipt, wire.ReceiptSend{Message: fx.secretText, Kind: wire.ReceiptListened}), wantCode: wire.CodeNotFound},
		{name: "sync of alice's group", do: req(wire.TypeSync, wire.Sync{Conversation: fx.secret.ID}), wantCode: wire.CodeNotMember},
		{name: "members of alice's group", do: req(wire.TypeConversationMembers, wire.ConversationRef{Conversation: fx.secret.ID}), wantCode: wire.CodeNotMember},
		{name: "revoke alice's device", do: req(wire.TypeDeviceRevoke, wire.DeviceRevoke{Device: fx.alice.welcome.Device.ID}), wantCode: wire.CodeNotFound},
		{name: "group with an unknown user", do: req(wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationGroup, Title: "t", Members: []string{"ghost"}}), wantCode: wire.CodeNotFound},
		{name: "second hello", do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthToken, Token: "x"}}), wantCode: wire.CodeBadRequest},
		{name: "flooding past the rate limit", do: func(c *client) {
			for i := 0; i < 60; i++ {
				req(wire.TypeUserList, nil)(c)
			}
		}, wantCode: wire.CodeRateLimited},
		{name: "flooding on after rate_limited", do: func(c *client) {
			for i := 0; i < 200; i++ {
				b, _ := json.Marshal(nil)
				if err := c.conn.WriteMessage(websocket.TextMessage, envelope(wire.TypeUserList, string(b))); err != nil {
					return // closed under us, as expected
				}
			}
		}, wantClose: wire.CloseRateLimited},
		{name: "request before hello", unauthed: true, do: req(wire.TypeSync, wire.Sync{}), wantClose: wire.CloseProtocolError},
		{name: "binary before hello", unauthed: true, do: bin(append(hdr(1, 1, 0), 1)), wantClose: wire.CloseProtocolError},
		{name: "bad token", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthToken, Token: "forged"}}), wantClose: wire.CloseAuthFailed},
		{name: "revoked token", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthToken, Token: fx.revoked}}), wantClose: wire.CloseAuthFailed},
		{name: "wrong password", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthLogin, Username: "alice", Password: "guess123"}}), wantClose: wire.CloseAuthFailed},
		{name: "protocol mismatch", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 99, Auth: wire.Auth{Mode: wire.AuthToken, Token: "x"}}), wantClose: wire.CloseAuthFailed},
		{name: "username taken", unauthed: true, do: register("ALICE"), wantCode: wire.CodeUsernameTaken, wantClose: wire.CloseAuthFailed},
		{name: "username with a Cyrillic look-alike", unauthed: true, do: register("\u0430lice"), wantCode: wire.CodeUsernameTaken, wantClose: wire.CloseAuthFailed},
		{name: "username with Greek and digit look-alikes", unauthed: true, do: register("m\u03b1ll0ry"), wantCode: wire.CodeUsernameTaken, wantClose: wire.CloseAuthFailed},
		{name: "username with a fullwidth letter and an accent", unauthed: true, do: register("\uff41lic\u00e9"), wantCode: wire.CodeUsernameTaken, wantClose: wire.CloseAuthFailed},
		{name: "username with a bidi override", unauthed: true, do: register("alice\u202e"), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "username with a C1 control", unauthed: true, do: register("bob\u009b2J"), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "username with a zero-width space", unauthed: true, do: register("al\u200bice"), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "username of a Hangul filler", unauthed: true, do: register("\u3164"), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "username invalid UTF-8", unauthed: true, do: text(envelope(wire.TypeHello, `{"protocol":1,"auth":{"mode":"register","username":"a`+"\xff"+`b","password":"long enough"}}`)), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "device name with a bidi isolate", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthRegister, Username: "dora", Password: "long enough", Device: "\u2067laptop"}}), wantCode: wire.CodeInvalidName, wantClose: wire.CloseAuthFailed},
		{name: "guessing bob's password past the account's limit", unauthed: true, do: func(c *client) {
			for i := range fx.ts.cfg.SigninAccountBurst {
				g := dial(t, fx.ts.url())
				g.request(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthLogin, Username: "bob", Password: fmt.Sprintf("guess%04d", i)}})
				g.close()
			}
			req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthLogin, Username: "bob", Password: "password-bob"}})(c)
		}, wantCode: wire.CodeRateLimited, wantClose: wire.CloseRateLimited},
		{name: "short password", unauthed: true, do: req(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthRegister, Username: "erin", Password: "1234567"}}), wantCode: wire.CodeWeakPassword, wantClose: wire.CloseAuthFailed},
		{name: "group title with a zero-width joiner", do: req(wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationGroup, Title: "sec\u200dret"}), wantCode: wire.CodeInvalidName},
		{name: "group title with a bidi override", do: req(wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationGroup, Title: "\u202eterces"}), wantCode: wire.CodeInvalidName},
		{name: "text with a NUL", do: req(wire.TypeTextSend, wire.TextSend{Conversation: "x", Message: newID(), Text: "a\x00b"}), wantCode: wire.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *client
			if tc.unauthed {
				c = dial(t, fx.ts.url())
			} else {
				c = fx.mallorySession(t)
			}
			c.pending = nil
			tc.do(c)
			if tc.wantCode != "" {
				f := c.waitFor("error", isType(wire.TypeError))
				if e := decodeAs[wire.Error](f.env); e.Code != tc.wantCode {
					t.Errorf("error = %s (%s), want %s", e.Code, e.Message, tc.wantCode)
				}
			}
			if tc.wantClose != 0 {
				if code := c.closeCode(); code != tc.wantClose {
					t.Errorf("close code = %d, want %d (frames: %v)", code, tc.wantClose, c.pending)
				}
			}
			for _, f := range c.pending {
				if f.env != nil && strings.Contains(string(f.env.Payload), "1234") || f.env != nil && strings.Contains(string(f.env.Payload), fx.secret.ID) {
					t.Errorf("mallory saw alice's group: %s", f)
				}
			}
			healthy(t, fx.ts)
		})
	}

	// Alice is unaffected: her group still has both messages.
	page := call[wire.SyncPage](fx.alice, wire.TypeSync, wire.Sync{Conversation: fx.secret.ID})
	var texts, voices int
	for _, ev := range page.Events {
		if ev.Kind == wire.EventMessage && ev.Message.ID == fx.secretText {
			texts++
		}
		if ev.Kind == wire.EventMessage && ev.Message.ID == fx.secretVoice && ev.Message.State == wire.StateComplete {
			voices++
		}
	}
	if texts != 1 || voices != 1 {
		t.Errorf("alice's group after the attack: %d text events, %d complete voice events", texts, voices)
	}
}

// TestRegistrationClosed: a server with registration closed refuses new
// accounts with a typed error.
func TestRegistrationClosed(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RegistrationClosed = true })
	c := dial(t, ts.url())
	e := c.callErr(wire.TypeHello, wire.Hello{Protocol: 1, Auth: wire.Auth{Mode: wire.AuthRegister, Username: "new", Password: "password1"}})
	if e.Code != wire.CodeRegistrationClosed {
		t.Errorf("code = %s, want %s", e.Code, wire.CodeRegistrationClosed)
	}
	if code := c.closeCode(); code != wire.CloseAuthFailed {
		t.Errorf("close = %d, want %d", code, wire.CloseAuthFailed)
	}
}

// TestIdempotentText: resending a text with the same id stores it once.
func TestIdempotentText(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	lobby := a.lobby()
	id := newID()
	first := call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: lobby.ID, Message: id, Text: "hi"})
	again := call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: lobby.ID, Message: id, Text: "hi"})
	if first.Message.Seq != again.Message.Seq {
		t.Errorf("resend got seq %d, first %d", again.Message.Seq, first.Message.Seq)
	}
	page := call[wire.SyncPage](a, wire.TypeSync, wire.Sync{Conversation: lobby.ID})
	n := 0
	for _, ev := range page.Events {
		if ev.Message != nil && ev.Message.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d events for the message, want 1", n)
	}
}

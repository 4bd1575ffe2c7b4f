package server

import (
	"testing"

	"parley/server/wire"
)

// TestPendingBounded: a user sending out-of-order packets on two
// connections can make the server hold at most wire.MaxPendingBytes behind
// gaps; the rest is refused with packet_gap. Once the gaps are filled the
// budget is free again and both messages are whole.
func TestPendingBounded(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	a2 := reconnect(t, ts, a.welcome)
	lobby := a.lobby()
	big := make([]byte, wire.MaxPacketBytes)
	conns := []*client{a, a2}
	msgs := []string{newID(), newID()}
	streams := make([]uint32, 2)
	for i, c := range conns {
		streams[i] = c.startVoice(lobby.ID, msgs[i]).Stream
	}
	// Packets 1..MaxPacketsAhead of both messages: all within the window,
	// twice the budget in total.
	for i, c := range conns {
		for n := uint32(1); n <= wire.MaxPacketsAhead; n++ {
			big[0] = byte(n)
			c.sendPacket(streams[i], n, big)
		}
	}
	// A request after the packets: its answer means they were all read.
	call[wire.Users](a, wire.TypeUserList, nil)
	call[wire.Users](a2, wire.TypeUserList, nil)
	held := ts.pending.held(a.welcome.User.ID)
	if held > wire.MaxPendingBytes {
		t.Errorf("server holds %d bytes behind gaps for one user, limit %d", held, wire.MaxPendingBytes)
	}
	if held < wire.MaxPendingBytes-wire.MaxPacketBytes {
		t.Errorf("server holds only %d bytes; the budget (%d) should have been used", held, wire.MaxPendingBytes)
	}
	gaps := 0
	for _, c := range conns {
		for _, f := range c.pending {
			if f.env != nil && f.env.Type == wire.TypeError && decodeAs[wire.Error](f.env).Code == wire.CodePacketGap {
				gaps++
			}
		}
	}
	if want := 2*wire.MaxPacketsAhead - wire.MaxPendingBytes/wire.MaxPacketBytes; gaps != want {
		t.Errorf("%d packet_gap errors, want %d", gaps, want)
	}

	// Filling the gaps in order completes both and frees the budget.
	for i, c := range conns {
		for n := uint32(0); n <= wire.MaxPacketsAhead; n++ {
			big[0] = byte(n)
			c.sendPacket(streams[i], n, big)
		}
		c.waitAck(msgs[i], wire.MaxPacketsAhead+1)
		c.endVoice(msgs[i], wire.MaxPacketsAhead+1)
	}
	if held := ts.pending.held(a.welcome.User.ID); held != 0 {
		t.Errorf("after both messages ended the server still counts %d pending bytes", held)
	}
}

// TestListenedPosition: a listened position is accepted up to the end of
// the message (plus one frame of rounding) and refused past it.
func TestListenedPosition(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	for n := uint32(0); n < 50; n++ { // one second
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 50)
	a.endVoice(msg, 50)
	tests := []struct {
		name     string
		position int64
		want     wire.Code // "" for accepted
	}{
		{"start", 0, ""},
		{"middle", 500, ""},
		{"end", 1000, ""},
		{"a frame past the end", 1020, ""},
		{"past the end", 1021, wire.CodeOutOfRange},
		{"far past", 500000, wire.CodeOutOfRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := a.request(wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptListened, PositionMs: tc.position})
			got := wire.Code("")
			if env.Type == wire.TypeError {
				got = decodeAs[wire.Error](&env).Code
			}
			if got != tc.want {
				t.Errorf("position %d: answer %s %s, want code %q", tc.position, env.Type, env.Payload, tc.want)
			}
		})
	}
}

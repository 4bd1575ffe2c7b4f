package server

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// TestKeepalive: a device that stops answering pings is closed after two
// missed pongs; one that answers stays; one that never says hello is
// closed too.
func TestKeepalive(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.PingInterval = 50 * time.Millisecond; c.HelloTimeout = 200 * time.Millisecond })
	mute := dialWith(t, ts.url(), func(c *websocket.Conn) {
		c.SetPingHandler(func(string) error { return nil }) // never pong
	})
	mute.hello(wire.Auth{Mode: wire.AuthRegister, Username: "mute", Password: "password-mute"})
	alive := register(t, ts, "alive")
	silent := dial(t, ts.url())

	if code := mute.closeCode(); code != wire.ClosePongTimeout {
		t.Errorf("device without pongs closed with %d, want %d", code, wire.ClosePongTimeout)
	}
	if code := silent.closeCode(); code != wire.CloseHelloTimeout {
		t.Errorf("device without hello closed with %d, want %d", code, wire.CloseHelloTimeout)
	}
	// Well after the mute one was cut, the answering one still works.
	call[wire.Users](alive, wire.TypeUserList, nil)
}

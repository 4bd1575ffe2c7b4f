package sync

import (
	"context"
	"testing"
	"time"
)

// TestClientClock: what the client creates is stamped by Config.Now, not
// by the machine's clock.
func TestClientClock(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	a := e.client("ann", func(c *Config) { c.Now = func() time.Time { return at } })
	lobby := a.lobby()
	a.waitOnline()
	id, err := a.SendText(lobby, "stamped")
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.store.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Created.Equal(at) {
		t.Errorf("text created %v, want the client's clock %v", m.Created, at)
	}
}

package sync

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"parley/server/wire"
)

// talkLive starts a voice message at c and pushes n test packets of msg at
// the pace of speech, one per 20 ms; it returns the message's stream and a
// channel that gets the push result.
func talkLive(t *testing.T, c *testClient, conv string, msg, n int) (*VoiceSend, <-chan error) {
	t.Helper()
	v, err := c.StartVoice(conv)
	if err != nil {
		t.Fatal(err)
	}
	pushed := make(chan error, 1)
	go func() {
		tick := time.NewTicker(wire.FrameDuration)
		defer tick.Stop()
		for i := range n {
			if i > 0 {
				<-tick.C
			}
			if err := v.Push(packetData(msg, i)); err != nil {
				pushed <- err
				return
			}
		}
		pushed <- nil
	}()
	return v, pushed
}

func incoming(t *testing.T, c *testClient) Incoming {
	t.Helper()
	select {
	case in := <-c.Incoming():
		return in
	case <-time.After(waitTimeout):
		t.Fatal("no incoming voice")
		return Incoming{}
	}
}

// cachedPackets reads packets 0..n-1 of message from a store, without
// fetching, and reports how many of them it has.
func cachedPackets(t *testing.T, st *Store, message string, msg, n int) int {
	t.Helper()
	have := 0
	for i := range n {
		data, ok, err := st.packet(context.Background(), message, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			have++
			if string(data) != string(packetData(msg, i)) {
				t.Fatalf("cached packet %d differs", i)
			}
		}
	}
	return have
}

// hearLive signs ann and bob in, has ann talk n packets of test message
// msg live, and reads them all from bob's Incoming source.
func hearLive(t *testing.T, msg, n int) (b *testClient, v *VoiceSend, in Incoming) {
	t.Helper()
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	b.waitOnline()
	a.waitOnline()
	v, pushed := talkLive(t, a, lobby, msg, n)
	in = incoming(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for i := range n {
		if _, err := in.Source.Next(ctx); err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
	}
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	return b, v, in
}

// TestLivePacketsCachedInBatches: a live message's packets reach the
// listener's cache in few transactions (not one per packet), and all of
// them are in the store once the message has ended for the listener.
func TestLivePacketsCachedInBatches(t *testing.T) {
	const n = 50
	b, v, in := hearLive(t, 7, n)
	defer in.Source.Close()
	if err := v.End(n*wire.FrameDuration, []byte{1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := in.Source.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v, want EOF", err)
	}
	if got := cachedPackets(t, b.store, v.ID(), 7, n); got != n {
		t.Errorf("after the end the cache holds %d of %d packets", got, n)
	}
	// At 20 ms a packet, batches of up to cacheBatchWait hold about 12;
	// allow for scheduling, but not one transaction per few packets.
	txs := b.store.packetTxs.Load()
	t.Logf("%d live packets cached in %d transactions", n, txs)
	if want := int64(n / 6); txs > want {
		t.Errorf("%d live packets took %d cache transactions, want <= %d", n, txs, want)
	}
}

// TestLivePacketsCachedAtClose: packets read off the connection but not
// yet written when the listener shuts down mid-message are written
// before Close returns.
func TestLivePacketsCachedAtClose(t *testing.T) {
	const n = 30
	b, v, in := hearLive(t, 8, n)
	// The last packet was just handed out from memory; its batch waits
	// for the timer. Closing now must still write it.
	in.Source.Close()
	b.close()
	st, err := OpenStore(b.cfg.StorePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := cachedPackets(t, st, v.ID(), 8, n); got != n {
		t.Errorf("after Close the cache holds %d of the %d packets received", got, n)
	}
	if err := v.End(n*wire.FrameDuration, []byte{1}); err != nil {
		t.Fatal(err)
	}
}

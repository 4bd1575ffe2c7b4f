package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/sync"
)

// TestServerKilled: parleyd is SIGKILLed while alice talks and started
// again on the same data folder. Her app keeps recording into its outbox
// and completes the message from it; the stored message is the whole
// utterance once, and bob's replay of it sounds like the utterance.
func TestServerKilled(t *testing.T) {
	requireEnv(t)
	s := makeSpeech(t)
	b := newBus(t, "kill")
	srv := startServer(t)
	w := watch(t, srv.addr, "watcher")
	talker := startApp(t, appOptions{user: "alice", server: srv.addr, signUp: true,
		env: []string{"PULSE_SOURCE=" + b.mic}, cueMuted: true})
	listener := startApp(t, appOptions{user: "bob", listener: true, server: srv.addr, signUp: true,
		env: []string{"PULSE_SINK=" + b.ear}, cueMuted: true})

	floor := measureFloor(t, b, s)
	var killedAt time.Duration
	tk := talk(t, b, s, talker, w, talkOptions{
		during: func(tp *tape, from int) {
			// A third of the way into the utterance, as heard by the mic.
			tp.waitFor(t, from, 20*time.Second, "a third of the utterance spoken", func(mouth, ear []int16) bool {
				return voicedFor(mouth) >= s.voiced()/3
			})
			killedAt = duration(tp.position() - from)
			srv.p.kill()
			srv.restart(t)
			t.Logf("parleyd SIGKILLed %v into the transmission and restarted", killedAt)
		},
		completeWithin: 90 * time.Second,
	})
	pk := checkMessage(t, w, "alice", 0, tk, s)
	checkStored(t, "server killed", floor, pk, tk.mouth)
	live := compare(tk.mouth[:min(len(tk.mouth), samples(killedAt))], tk.ear, 1500*time.Millisecond)
	t.Logf("live until the kill: %s", live)

	got, ear := bestReplay(t, b, listener, s, tk.mouth)
	report(t, "server killed (replay)", floor, got, targets{peak: 0.9})
	checkReplay(t, "server killed", floor, got, tk.mouth, ear)
}

// TestLossyNetwork: bob's app reaches parleyd through a network namespace
// that drops 5 % of its packets and a relay that delays every chunk by
// 20 ± 10 ms. He hears alice live, intelligibly, with a jitter buffer that
// comes back down after each stall; his stored copy of the message is
// bit-exact, and so his later replay sounds like the utterance.
func TestLossyNetwork(t *testing.T) {
	requireEnv(t)
	s := makeSpeech(t)
	b := newBus(t, "lossy")
	srv := startServer(t)
	link := newLossyLink(t, "lossy", srv.addr)
	w := watch(t, srv.addr, "watcher")
	talker := startApp(t, appOptions{user: "alice", server: srv.addr, signUp: true,
		env: []string{"PULSE_SOURCE=" + b.mic}, cueMuted: true})
	listener := startApp(t, appOptions{user: "bob", listener: true, server: link.addr, signUp: true, netns: link.ns,
		env: []string{"PULSE_SINK=" + b.ear}, cueMuted: true})
	t.Logf("bob reaches parleyd at %s through namespace %s:\n%s", link.addr, link.ns, link.ruleset())

	floor := measureFloor(t, b, s)
	tk := talk(t, b, s, talker, w, talkOptions{live: true})
	pk := checkMessage(t, w, "alice", 0, tk, s)
	got := compare(tk.mouth, tk.ear, 2*time.Second)
	report(t, "lossy live", floor, got, targets{overFloor: 80 * time.Millisecond, sixth: 0.4})
	t.Logf("lossy: the relay forwarded %d chunks; lags over the utterance %v", link.relay.relayed(), got.lags)
	if got.peak < mustLivePeak {
		t.Errorf("lossy live: the listener's speaker does not carry the utterance: %s, want peak >= %.2f", got, mustLivePeak)
	}
	audioCheck(t, floor, got.minSixth() >= 0.2, "lossy live: part of the utterance is lost: %s, want every sixth >= 0.2", got)
	// The jitter buffer comes back down: the end of the message is not
	// played with the worst delay of a stall.
	rec := recovery(got)
	audioCheck(t, floor, rec <= 150*time.Millisecond,
		"lossy live: the last sixth plays %v later than the message's median lag: the delay of the stalls was kept", rec)

	// bob's copy is the server's, byte for byte.
	st := openStore(t, listener, link.addr)
	ctx := context.Background()
	poll(t, 30*time.Second, "bob's app has every packet", func() bool {
		n, err := st.CachedPackets(ctx, tk.msg.ID)
		return err == nil && int(n) >= len(pk)
	})
	mine, err := st.Packets(ctx, tk.msg.ID, 0, len(pk)+10)
	if err != nil {
		t.Fatalf("bob's packets: %v", err)
	}
	if err := samePackets(mine, pk); err != nil {
		t.Fatalf("bob's copy of %s is not the server's: %v", describe(tk.msg), err)
	}
	t.Logf("bob's copy of %s is bit-exact (%d packets)", describe(tk.msg), len(pk))
	checkStored(t, "lossy", floor, mine, tk.mouth)

	rep, ear := bestReplay(t, b, listener, s, tk.mouth)
	report(t, "lossy (replay)", floor, rep, targets{peak: 0.9})
	checkReplay(t, "lossy", floor, rep, tk.mouth, ear)
}

// recovery is how much later than the message's median lag its last
// sixth plays (the median lag of the windows in it). A jitter buffer that
// keeps the delay of every stall plays the end at the largest lag.
func recovery(m match) time.Duration {
	if len(m.lags) == 0 {
		return 0
	}
	tail := m.lags[len(m.lags)*5/6:]
	return percentile(slices.Sorted(slices.Values(tail)), 0.5) - m.p50
}

// samePackets reports the first difference between two packet lists.
func samePackets(got, want []sync.Packet) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d packets, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Seq != w.Seq || !bytes.Equal(g.Data, w.Data) {
			return fmt.Errorf("packet %d differs (number %d vs %d, %d vs %d bytes)", i, g.Seq, w.Seq, len(g.Data), len(w.Data))
		}
	}
	return nil
}

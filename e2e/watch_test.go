package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"parley/server/wire"
	"parley/sync"
)

// watcher is a sync client of its own in the Lobby, in this test
// process: what the server fans out reaches it, so the test waits on its
// hints (a message went live, completed, got a receipt) instead of
// sleeping.
type watcher struct {
	c *sync.Client
}

// watch signs up user at addr and runs the client until the test ends.
func watch(t *testing.T, addr, user string) *watcher {
	t.Helper()
	c, err := sync.New(sync.Config{URL: addr, StorePath: filepath.Join(t.TempDir(), user+".db"),
		Username: user, Password: "password of " + user, Register: true, Prefetch: -1})
	if err != nil {
		t.Fatalf("watcher %s: %v", user, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
	return &watcher{c: c}
}

// waitFor re-checks cond at every hint until it holds or timeout passes.
func (w *watcher) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case _, ok := <-w.c.Hints():
			if !ok {
				t.Fatalf("%s: watcher closed", what)
			}
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// voiceFrom lists sender's voice messages in the Lobby, oldest first.
func (w *watcher) voiceFrom(sender string) []sync.Message {
	ctx := context.Background()
	convs, err := w.c.Store().Conversations(ctx)
	if err != nil {
		return nil
	}
	var out []sync.Message
	for _, conv := range convs {
		if !conv.Lobby {
			continue
		}
		ms, _ := w.c.Store().Messages(ctx, conv.ID, 0, 200)
		for _, m := range ms {
			if m.Kind == wire.KindVoice && m.SenderName == sender {
				out = append(out, m)
			}
		}
	}
	return out
}

// waitRecording waits until sender has a voice message being recorded
// that is not in before, and returns it.
func (w *watcher) waitRecording(t *testing.T, sender string, before int, timeout time.Duration) sync.Message {
	t.Helper()
	var found sync.Message
	w.waitFor(t, timeout, sender+"'s live message", func() bool {
		ms := w.voiceFrom(sender)
		if len(ms) > before {
			found = ms[len(ms)-1]
			return true
		}
		return false
	})
	return found
}

// waitComplete waits until message id is complete, and returns it.
func (w *watcher) waitComplete(t *testing.T, id string, timeout time.Duration) sync.Message {
	t.Helper()
	var found sync.Message
	w.waitFor(t, timeout, "message "+id+" complete", func() bool {
		m, err := w.c.Store().Message(context.Background(), id)
		found = m
		return err == nil && m.State == wire.StateComplete
	})
	return found
}

// packets fetches every stored packet of a complete message from the
// server, in order.
func (w *watcher) packets(t *testing.T, m sync.Message) []sync.Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, err := w.c.OpenMessage(ctx, m.ID, 0)
	if err != nil {
		t.Fatalf("open message %s: %v", m.ID, err)
	}
	var out []sync.Packet
	for {
		p, err := src.Next(ctx)
		if err != nil {
			break
		}
		out = append(out, p)
	}
	if uint32(len(out)) != m.Packets {
		t.Fatalf("message %s: fetched %d packets, the message says %d", m.ID, len(out), m.Packets)
	}
	for i, p := range out {
		if p.Seq != uint32(i) {
			t.Fatalf("message %s: packet %d has number %d: a packet is missing or repeated", m.ID, i, p.Seq)
		}
	}
	return out
}

func describe(m sync.Message) string {
	return fmt.Sprintf("message %s (%s, %v, %d packets)", m.ID, m.State, m.Duration, m.Packets)
}

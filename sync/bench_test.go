package sync

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/server"
	"parley/server/wire"
)

// BenchmarkStartupRead10k measures what the UI does at start-up with the
// server unreachable: open the store, list conversations, read the full
// cached history of 10 000 messages (paged by 500) through the store API.
// Target: under 100 ms per op.
func BenchmarkStartupRead10k(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "big.db")
	s, err := OpenStore(path)
	if err != nil {
		b.Fatal(err)
	}
	signIn(b, s, "e1")
	conv := wire.Conversation{ID: "lobby", Kind: wire.ConversationGroup, Title: "Lobby", Lobby: true,
		Members: []wire.User{{ID: "u-me", Name: "me"}, {ID: "u-b", Name: "bob"}}}
	const total = 10000
	evs := []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &conv}}
	for i := range total {
		m := wire.Message{ID: newMessageID(), Conversation: "lobby", Seq: int64(i + 1), Sender: wire.User{ID: "u-b", Name: "bob"},
			Created: int64(i), State: wire.StateComplete}
		if i%2 == 0 {
			m.Kind, m.Packets, m.DurationMs, m.Waveform, m.Codec = wire.KindVoice, 250, 5000, make([]byte, 64), wire.CodecOpus
		} else {
			m.Kind, m.Text = wire.KindText, "a cached text message of ordinary length"
		}
		evs = append(evs, wire.Event{Cursor: int64(i + 2), Kind: wire.EventMessage, Message: &m})
	}
	if _, err := s.applyEvents(ctx, evs, true, total+1, ""); err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ResetTimer()
	for b.Loop() {
		s, err := OpenStore(path)
		if err != nil {
			b.Fatal(err)
		}
		cs, err := s.Conversations(ctx)
		if err != nil || len(cs) != 1 || cs[0].Unplayed != total/2 {
			b.Fatalf("conversations = %+v, %v", cs, err)
		}
		n := 0
		for before := int64(0); ; {
			ms, err := s.Messages(ctx, "lobby", before, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			n += len(ms)
			before = ms[0].Seq
			if before == 1 {
				break
			}
		}
		if n != total {
			b.Fatalf("read %d messages, want %d", n, total)
		}
		s.Close()
	}
}

// BenchmarkMessagesPage100k measures the timeline's reads of a
// conversation of 100 000 cached messages: the newest page (what opening
// it reads) and a page further back (what scrolling up reads), 60
// messages each as ui asks. A third of the messages are this account's,
// each delivered to and heard or seen by bob (a receipt each, the worst
// case: one "seen up to" receipt covers many texts), so the receipts the
// page carries are part of the read. Targets: with the UI's own work,
// first screen under 200 ms, a page under 50 ms.
func BenchmarkMessagesPage100k(b *testing.B) {
	ctx := context.Background()
	s, err := OpenStore(filepath.Join(b.TempDir(), "big.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	signIn(b, s, "e1")
	conv := wire.Conversation{ID: "lobby", Kind: wire.ConversationGroup, Title: "Lobby", Lobby: true,
		Members: []wire.User{{ID: "u-me", Name: "me"}, {ID: "u-b", Name: "bob"}}}
	const total, page = 100000, 60
	if _, err := s.applyEvents(ctx, []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &conv}}, true, 1, ""); err != nil {
		b.Fatal(err)
	}
	cursor := int64(2)
	for start := 0; start < total; start += 10000 {
		var evs []wire.Event
		for i := start; i < start+10000; i++ {
			m := wire.Message{ID: newMessageID(), Conversation: "lobby", Seq: int64(i + 1), Sender: wire.User{ID: "u-b", Name: "bob"},
				Created: int64(i), State: wire.StateComplete}
			if i%2 == 0 {
				m.Kind, m.Packets, m.DurationMs, m.Waveform, m.Codec = wire.KindVoice, 250, 5000, make([]byte, 64), wire.CodecOpus
			} else {
				m.Kind, m.Text = wire.KindText, "a cached text message of ordinary length"
			}
			evs = append(evs, wire.Event{Kind: wire.EventMessage, Message: &m})
			if i%3 == 0 {
				m.Sender = wire.User{ID: "u-me", Name: "me"}
				for _, k := range []wire.ReceiptKind{wire.ReceiptDelivered, wire.ReceiptListened} {
					evs = append(evs, wire.Event{Kind: wire.EventReceipt, Receipt: &wire.Receipt{Message: m.ID, Conversation: "lobby",
						User: "u-b", Kind: k, PositionMs: m.DurationMs, At: int64(i)}})
				}
			}
		}
		for j := range evs {
			evs[j].Cursor = cursor
			cursor++
		}
		if _, err := s.applyEvents(ctx, evs, true, cursor-1, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("newest", func(b *testing.B) {
		for b.Loop() {
			ms, err := s.Messages(ctx, "lobby", 0, page)
			if err != nil || len(ms) != page || ms[page-1].Seq != total {
				b.Fatalf("newest page: %d messages, %v", len(ms), err)
			}
		}
	})
	b.Run("older", func(b *testing.B) {
		before := int64(total)
		for b.Loop() {
			ms, err := s.Messages(ctx, "lobby", before, page)
			if err != nil || len(ms) == 0 {
				b.Fatalf("page before %d: %d messages, %v", before, len(ms), err)
			}
			if before = ms[0].Seq; before <= 1 {
				before = total
			}
		}
	})
}

// BenchmarkCatchUp1000 measures a client that missed 1 000 voice messages
// signing in and syncing their metadata (no audio: prefetch off).
func BenchmarkCatchUp1000(b *testing.B) {
	// The 1 000 messages are written straight into the server's store
	// (sending them through a client would hit the server's rate limit).
	ctx := context.Background()
	e := newEnv(b)
	st, err := server.OpenSQLite(ctx, filepath.Join(e.dir, "a.db"))
	if err != nil {
		b.Fatal(err)
	}
	e.start("a.db", func(c *server.Config) { c.Store = st })
	const total = 1000
	a := e.client("ann")
	lobby := a.lobby()
	a.waitOnline()
	sender := wire.User{ID: a.me(), Name: "ann"}
	for i := range total {
		m, _, err := st.CreateMessage(ctx, wire.Message{ID: newMessageID(), Conversation: lobby, Sender: sender,
			Kind: wire.KindVoice, Created: time.Now().UnixMilli(), State: wire.StateRecording, Codec: wire.CodecOpus})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CommitPackets(ctx, []server.PacketRecord{{Message: m.ID, Number: 0, Data: packetData(i, 0)}}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.FinishMessage(ctx, m.ID, wire.StateComplete, 1, 20, []byte{1, 2}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		c := e.client("bob", func(c *Config) { c.Prefetch = -1 })
		c.waitFor("catch-up", func() bool {
			s, _ := c.State()
			return s == StateOnline
		})
		took := time.Since(start)
		if n := len(c.messages(lobby)); n != total {
			b.Fatalf("caught up %d messages, want %d", n, total)
		}
		b.Logf("catch-up of %d voice messages: %v (sign-in, sync pages, store)", total, took)
		c.close()
	}
}

func TestSyncImportsNoGUIOrAudio(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "parley/sync").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "fyne.io/") || dep == "parley/audio" || strings.HasPrefix(dep, "parley/ui") ||
			strings.Contains(dep, "malgo") || strings.Contains(dep, "opus") {
			t.Errorf("sync depends on %s", dep)
		}
	}
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/internal/sqlitedb"
	"parley/server/wire"
)

func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "client.db"))
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// signIn gives a test store an account, as a welcome would.
func signIn(t testing.TB, s *Store, epoch string) {
	t.Helper()
	_, err := s.applyWelcome(context.Background(), wire.Welcome{
		User: wire.User{ID: "u-me", Name: "me"}, Device: wire.Device{ID: "d1"}, Token: "tok", ServerID: "srv", Epoch: epoch,
	})
	if err != nil {
		t.Fatalf("applyWelcome: %v", err)
	}
}

func TestStoreMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	ms, _ := sqlitedb.Migrations(migrationFS, "migrations")
	want := ms[len(ms)-1].Version
	if got, _ := s.SchemaVersion(context.Background()); got != want {
		t.Errorf("schema version = %d, want %d", got, want)
	}
	if err := s.SetToken(context.Background(), "secret"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopening applies nothing and keeps the data.
	s, err = OpenStore(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, _ := s.Token(context.Background()); got != "secret" {
		t.Errorf("token after reopen = %q, want secret", got)
	}
	var mode string
	s.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Errorf("foreign_keys = %d, want 1", fk)
	}
}

func TestStorePath(t *testing.T) {
	tests := []struct {
		name, server, user, want string
	}{
		{"plain", "host:8080", "ann", "host_8080__ann.db"},
		{"slashes", "ws://a/b", "x/y", "ws_a_b__x_y.db"},
		{"unicode", "srv", "zoë", "srv__zo_.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := filepath.Base(StorePath("/d", tc.server, tc.user)); got != tc.want {
				t.Errorf("StorePath = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOutboxOrderAndPending(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	now := time.Now()
	text1, err := s.createText(ctx, "c1", "first", now)
	if err != nil {
		t.Fatal(err)
	}
	voice, err := s.createVoice(ctx, "c1", now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(3) {
		if err := s.pushPacket(ctx, voice, i, []byte{byte(i), 1}); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := s.pushPacket(ctx, voice, 5, []byte{5}); err == nil {
		t.Errorf("push out of order: want error")
	}
	if err := s.endVoice(ctx, voice, 60, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.pushPacket(ctx, voice, 3, []byte{3}); err == nil {
		t.Errorf("push after end: want error")
	}
	if err := s.endVoice(ctx, voice, 60, nil); !errors.Is(err, ErrVoiceEnded) {
		t.Errorf("second end = %v, want ErrVoiceEnded", err)
	}
	text2, _ := s.createText(ctx, "c1", "second", now)

	// A message the server already numbered comes first.
	tx := wire.Message{ID: newMessageID(), Conversation: "c1", Seq: 1, Sender: wire.User{ID: "u-b", Name: "bob"}, Kind: wire.KindText, State: wire.StateComplete, Text: "hi", Created: 1}
	if _, err := s.applyEvents(ctx, []wire.Event{{Cursor: 1, Kind: wire.EventMessage, Conversation: "c1", Message: &tx}}, true, 1, ""); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Messages(ctx, "c1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, fmt.Sprintf("%s/%v", m.Text, m.Pending))
	}
	want := []string{"hi/false", "first/true", "/true", "second/true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages = %v, want %v", got, want)
	}
	// Outbox drains in creation order.
	var order []string
	for {
		it, ok, err := s.nextOutbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		order = append(order, it.Message)
		if it.Message == voice && (it.Pushed != 3 || !it.Ended || it.DurationMs != 60) {
			t.Errorf("voice outbox = %+v", it)
		}
		if err := s.completeOutbox(ctx, it.Message, nil); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(order) != fmt.Sprint([]string{text1, voice, text2}) {
		t.Errorf("outbox order = %v", order)
	}
	ps, _ := s.Packets(ctx, voice, 0, 0)
	if len(ps) != 3 {
		t.Errorf("cached packets after outbox drained = %d, want 3 (kept in the cache)", len(ps))
	}
}

func TestVoiceAckNeverShrinks(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	id, _ := s.createVoice(ctx, "c", time.Now())
	tests := []struct {
		name string
		ack  uint32
		want uint32
	}{
		{"first", 10, 10},
		{"older ack", 4, 10},
		{"newer", 12, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ackVoice(ctx, id, tc.ack); err != nil {
				t.Fatal(err)
			}
			it, _, _ := s.outboxMessage(ctx, id)
			if it.Acked != tc.want {
				t.Errorf("acked = %d, want %d", it.Acked, tc.want)
			}
		})
	}
}

func TestMessageStateMonotonic(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	base := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 3, Sender: wire.User{ID: "u-b", Name: "bob"}, Kind: wire.KindVoice, Created: 5}
	tests := []struct {
		name        string
		state       wire.MessageState
		packets     uint32
		wantState   wire.MessageState
		wantPackets uint32
	}{
		{"recording", wire.StateRecording, 0, wire.StateRecording, 0},
		{"complete", wire.StateComplete, 50, wire.StateComplete, 50},
		{"stale recording event", wire.StateRecording, 10, wire.StateComplete, 50},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.State, m.Packets = tc.state, tc.packets
			if _, err := s.applyEvents(ctx, []wire.Event{{Cursor: int64(i + 1), Kind: wire.EventMessage, Message: &m}}, true, int64(i+1), ""); err != nil {
				t.Fatal(err)
			}
			got, err := s.Message(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.wantState || got.Packets != tc.wantPackets {
				t.Errorf("state, packets = %s, %d; want %s, %d", got.State, got.Packets, tc.wantState, tc.wantPackets)
			}
		})
	}
	if c, _ := s.Cursor(ctx); c != 3 {
		t.Errorf("cursor = %d, want 3", c)
	}
}

func TestUnplayedAndListened(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	conv := wire.Conversation{ID: "c", Kind: wire.ConversationGroup, Title: "g", Members: []wire.User{{ID: "u-me", Name: "me"}, {ID: "u-b", Name: "bob"}}}
	evs := []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &conv}}
	var ids []string
	for i := range 3 {
		m := wire.Message{ID: newMessageID(), Conversation: "c", Seq: int64(i + 1), Sender: wire.User{ID: "u-b", Name: "bob"}, Kind: wire.KindVoice, State: wire.StateComplete, Packets: 2, Created: int64(i)}
		ids = append(ids, m.ID)
		evs = append(evs, wire.Event{Cursor: int64(i + 2), Kind: wire.EventMessage, Message: &m})
	}
	mine := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 4, Sender: wire.User{ID: "u-me", Name: "me"}, Kind: wire.KindVoice, State: wire.StateComplete}
	evs = append(evs, wire.Event{Cursor: 5, Kind: wire.EventMessage, Message: &mine})
	if _, err := s.applyEvents(ctx, evs, true, 5, ""); err != nil {
		t.Fatal(err)
	}
	unplayed := func() int {
		cs, err := s.Conversations(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("conversations = %v, %v", cs, err)
		}
		return cs[0].Unplayed
	}
	if got := unplayed(); got != 3 {
		t.Errorf("unplayed = %d, want 3", got)
	}
	// Listened on this device.
	if err := s.queueReceipt(ctx, ids[0], wire.ReceiptListened, 700, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Listened on another device of the account (an event).
	r := wire.Receipt{Message: ids[1], Conversation: "c", User: "u-me", Kind: wire.ReceiptListened, PositionMs: 1200, At: 9}
	if _, err := s.applyEvents(ctx, []wire.Event{{Cursor: 6, Kind: wire.EventReceipt, Receipt: &r}}, true, 6, ""); err != nil {
		t.Fatal(err)
	}
	// Another user's receipt does not count for us.
	rb := wire.Receipt{Message: ids[2], Conversation: "c", User: "u-b", Kind: wire.ReceiptListened, At: 9}
	s.applyEvents(ctx, []wire.Event{{Cursor: 7, Kind: wire.EventReceipt, Receipt: &rb}}, true, 7, "")
	if got := unplayed(); got != 1 {
		t.Errorf("unplayed = %d, want 1", got)
	}
	tests := []struct {
		name string
		id   string
		want Playback
	}{
		{"this device", ids[0], Playback{Listened: true, Position: 700 * time.Millisecond}},
		{"other device", ids[1], Playback{Listened: true, Position: 1200 * time.Millisecond}},
		{"other user", ids[2], Playback{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Playback(ctx, tc.id)
			if err != nil || got != tc.want {
				t.Errorf("Playback = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	// A remote receipt does not overwrite a newer local one still queued.
	old := wire.Receipt{Message: ids[0], Conversation: "c", User: "u-me", Kind: wire.ReceiptListened, PositionMs: 100, At: 1}
	s.applyEvents(ctx, []wire.Event{{Cursor: 8, Kind: wire.EventReceipt, Receipt: &old}}, true, 8, "")
	if got, _ := s.Playback(ctx, ids[0]); got.Position != 700*time.Millisecond {
		t.Errorf("position after stale echo = %v, want 700ms", got.Position)
	}
}

func TestEpochResetKeepsOutbox(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	lobby := wire.Conversation{ID: "lobby1", Kind: wire.ConversationGroup, Title: "Lobby", Lobby: true, Members: []wire.User{{ID: "u-me", Name: "me"}}}
	other := wire.Message{ID: newMessageID(), Conversation: "lobby1", Seq: 1, Sender: wire.User{ID: "u-b", Name: "bob"}, Kind: wire.KindText, State: wire.StateComplete, Text: "old"}
	s.applyEvents(ctx, []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &lobby}, {Cursor: 2, Kind: wire.EventMessage, Message: &other}}, true, 2, "")
	id, _ := s.createText(ctx, "lobby1", "keep me", time.Now())
	s.setSeq(ctx, id, 2)

	changed, err := s.applyWelcome(ctx, wire.Welcome{User: wire.User{ID: "u-new", Name: "me"}, Device: wire.Device{ID: "d9"}, Token: "t2", Epoch: "e2"})
	if err != nil || !changed {
		t.Fatalf("applyWelcome = %v, %v; want epoch change", changed, err)
	}
	if c, _ := s.Cursor(ctx); c != 0 {
		t.Errorf("cursor = %d, want 0", c)
	}
	if _, err := s.Message(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("old server's message still cached: %v", err)
	}
	m, err := s.Message(ctx, id)
	if err != nil || !m.Pending || m.Seq != 0 || m.SenderID != "u-new" {
		t.Errorf("outbox message = %+v, %v; want pending, unnumbered, sent by the new user id", m, err)
	}
	info, ok, _ := s.remapInfo(ctx, "lobby1")
	if !ok || !info.Lobby {
		t.Errorf("remap = %+v, %v; want the lobby remembered", info, ok)
	}
	if tok, _ := s.Token(ctx); tok != "t2" {
		t.Errorf("token = %q, want t2", tok)
	}
}

func TestHintQueueCoalesces(t *testing.T) {
	q := newHintQueue()
	for i := range 100 {
		q.post(ConversationChanged{Conversation: "a"})
		q.post(SyncProgress{Cursor: int64(i)})
	}
	q.post(ConversationChanged{Conversation: "b"})
	var got []Hint
	for {
		h, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, h)
	}
	want := []Hint{ConversationChanged{"a"}, SyncProgress{Cursor: 99}, ConversationChanged{"b"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hints = %v, want %v", got, want)
	}
	// Past the bound, per-conversation hints collapse into one.
	for i := range maxPendingHints + 10 {
		q.post(ConversationChanged{Conversation: fmt.Sprint(i)})
	}
	q.mu.Lock()
	n := len(q.order)
	q.mu.Unlock()
	if n > maxPendingHints {
		t.Errorf("pending hints = %d, want at most %d", n, maxPendingHints)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		attempt  int
		min, max time.Duration
	}{
		{"first", 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third", 2, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped", 20, 15 * time.Second, 30 * time.Second},
		{"huge attempt", 100, 15 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				d := backoff(100*time.Millisecond, 30*time.Second, tc.attempt)
				if d < tc.min || d > tc.max {
					t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tc.attempt, d, tc.min, tc.max)
				}
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"auth failed", authError(&wire.Error{Code: wire.CodeAuthFailed}), false},
		{"protocol", authError(&wire.Error{Code: wire.CodeProtocol}), false},
		{"registration closed", authError(&wire.Error{Code: wire.CodeRegistrationClosed}), false},
		{"unreachable", fmt.Errorf("%w: dial", ErrServerUnreachable), true},
		{"revoked close", closeError(wire.CloseRevoked, ""), false},
		{"going away", readError("read", websocketCloseError(wire.CloseGoingAway)), true},
		{"server internal", &RequestError{Op: "x", Err: &wire.Error{Code: wire.CodeInternal}}, true},
		{"not member", &RequestError{Op: "x", Err: &wire.Error{Code: wire.CodeNotMember}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if !errors.Is(authError(&wire.Error{Code: wire.CodeAuthFailed}), ErrAuthFailed) {
		t.Errorf("auth_failed does not match ErrAuthFailed")
	}
}

// websocketCloseError builds the close error gorilla returns.
func websocketCloseError(code int) error { return &websocket.CloseError{Code: code} }

func TestStopsRun(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"bad password", ErrAuthFailed, true},
		{"revoked, wrapped", fmt.Errorf("hello: %w", ErrRevoked), true},
		{"signed out", ErrSignedOut, true},
		{"server down", ErrServerUnreachable, false},
		{"local disk trouble", errors.New("database is locked"), false},
		{"refused request", &RequestError{Op: "send", Err: &wire.Error{Code: wire.CodeNotMember}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stopsRun(tc.err); got != tc.want {
				t.Errorf("stopsRun(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

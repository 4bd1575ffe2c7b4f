package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"parley/internal/sqlitedb"
	"parley/server/wire"
)

// TestEventOrderDelivers: events offered in any order, repeated or not,
// are delivered once each in cursor order; one that waits behind a gap is
// delivered when the gap fills.
func TestEventOrderDelivers(t *testing.T) {
	tests := []struct {
		name    string
		offered []int64
		want    []int64
	}{
		{"in order", []int64{1, 2, 3}, []int64{1, 2, 3}},
		{"reversed", []int64{3, 2, 1}, []int64{1, 2, 3}},
		{"duplicates", []int64{1, 1, 2, 1, 3, 2}, []int64{1, 2, 3}},
		{"interleaved", []int64{2, 4, 1, 3, 6, 5}, []int64{1, 2, 3, 4, 5, 6}},
		{"gap left open", []int64{1, 3, 4}, []int64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newEventOrder(nil, 0)
			var got []int64
			o.deliver = func(ev Event) { got = append(got, ev.Cursor) }
			for _, c := range tc.offered {
				o.offer(Event{Cursor: c})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("delivered %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEventGapFilledFromStore: an event that never comes through the
// broker (its publisher failed after the commit) is read from the store,
// and the ones waiting behind it follow in order.
func TestEventGapFilledFromStore(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	ctx := context.Background()
	base, err := ts.store.LastCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Three events stored without being published, as by a node that
	// died between its commit and its publish.
	var msgs []string
	for i := range 3 {
		m := wire.Message{ID: newID(), Conversation: ts.lobbyID, Sender: a.welcome.User, Kind: wire.KindText,
			Created: ts.now().UnixMilli(), State: wire.StateComplete, Text: fmt.Sprint("lost ", i)}
		if _, _, err := ts.store.CreateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m.ID)
	}
	// The next one is published: the node holds it until the three come
	// from the store.
	sent := call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: ts.lobbyID, Message: newID(), Text: "published"})
	msgs = append(msgs, sent.Message.ID)
	for i, want := range msgs {
		f := a.waitFor("event", isType(wire.TypeEvent))
		ev := decodeAs[wire.Event](f.env)
		if ev.Cursor != base+int64(i)+1 || ev.Message == nil || ev.Message.ID != want {
			t.Fatalf("event %d: cursor %d message %+v, want cursor %d message %s", i, ev.Cursor, ev.Message, base+int64(i)+1, want)
		}
	}
}

// TestClaimRecording: the lease rules of MetaStore.ClaimRecording on the
// embedded store, in order on one message.
func TestClaimRecording(t *testing.T) {
	ctx := context.Background()
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.UnixMilli(1_700_000_000_000)
	lobby, err := st.EnsureLobby(ctx, newID(), t0)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := st.CreateUser(ctx, "ana", "ana", "x", []string{lobby}, t0)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := st.CreateMessage(ctx, wire.Message{ID: newID(), Conversation: lobby, Sender: u, Kind: wire.KindVoice,
		Created: t0.UnixMilli(), State: wire.StateRecording, Codec: wire.CodecOpus})
	if err != nil {
		t.Fatal(err)
	}
	const lease = 10 * time.Second
	steps := []struct {
		name  string
		node  string
		at    time.Duration // after t0
		force bool
		held  bool
	}{
		{"no lease yet", "a", 0, false, true},
		{"renewal by the holder", "a", 5 * time.Second, false, true},
		{"another node while it runs", "b", 14 * time.Second, false, false},
		{"another node once it ran out", "b", 16 * time.Second, false, true},
		{"the old holder back", "a", 17 * time.Second, false, false},
		{"forced: the sender moved", "a", 18 * time.Second, true, true},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		held, err := st.ClaimRecording(ctx, m.ID, s.node, now, now.Add(lease), s.force)
		if err != nil || held != s.held {
			t.Errorf("%s: held %v, err %v; want held %v", s.name, held, err, s.held)
		}
	}
	if _, _, err := st.FinishMessage(ctx, m.ID, wire.StateComplete, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimRecording(ctx, m.ID, "b", t0, t0.Add(lease), true); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim of a finished message: %v, want ErrNotFound", err)
	}
	if _, err := st.ClaimRecording(ctx, "nonexistent", "b", t0, t0.Add(lease), true); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim of no message: %v, want ErrNotFound", err)
	}
}

// TestLobbyIsTheServers: the store makes no Lobby of its own; the server
// makes one, once, and keeps it across restarts.
func TestLobbyIsTheServers(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "parley.db")
	st, err := OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.(*sqliteStore).db.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a new store holds %d conversations (%v), want none", n, err)
	}
	st.Close()
	ts := startServerAt(t, db)
	first := ts.lobbyID
	ts.stop()
	ts2 := startServerAt(t, db)
	if ts2.lobbyID != first || first == "" {
		t.Fatalf("Lobby %q after a restart, was %q", ts2.lobbyID, first)
	}
	a := register(t, ts2, "ana")
	if got := a.lobby().ID; got != first {
		t.Errorf("ana's Lobby is %s, want %s", got, first)
	}
}

// TestLegacySchemaVersion: a store made when the server counted its
// migrations in a schema_version table opens with its data, and only the
// migrations it lacks run.
func TestLegacySchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlitedb.Open(path, "journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	// What the old migrate left: 001 and 002 applied, counted in the table.
	for _, name := range []string{"001_init.sql", "002_name_key.sql"} {
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1), (2);
		INSERT INTO users (id, name, name_key, pass_hash, created) VALUES ('u1', 'ana', 'ana', 'x', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open a legacy store: %v", err)
	}
	defer st.Close()
	if u, err := st.User(ctx, "u1"); err != nil || u.Name != "ana" {
		t.Errorf("user after migration: %+v %v", u, err)
	}
	ms, _ := sqlitedb.Migrations(migrations, "migrations")
	if v, _ := sqlitedb.Version(ctx, st.(*sqliteStore).db); v != ms[len(ms)-1].Version {
		t.Errorf("version %d, want %d", v, ms[len(ms)-1].Version)
	}
}

// gapStore is a MetaStore that has only the history EventsAfter reads.
type gapStore struct {
	MetaStore
	events []LoggedEvent
}

func (g gapStore) EventsAfter(_ context.Context, since int64, limit int) ([]LoggedEvent, error) {
	var out []LoggedEvent
	for _, ev := range g.events {
		if ev.Cursor > since && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (gapStore) MemberIDs(context.Context, string) ([]string, error) { return nil, nil }

// TestEventGapNotPutOff: events that keep arriving behind a gap do not
// put off the store read: the gap is filled eventGapWait after the first
// one waited.
func TestEventGapNotPutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := gapStore{events: []LoggedEvent{{Event: wire.Event{Cursor: 2, Kind: wire.EventMessage}}}}
		srv := &Server{store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		o := newEventOrder(srv, 0)
		var mu gosync.Mutex
		var got []int64
		o.deliver = func(ev Event) {
			mu.Lock()
			got = append(got, ev.Cursor)
			mu.Unlock()
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			o.run(ctx)
		}()
		o.offer(Event{Cursor: 1})
		o.offer(Event{Cursor: 3}) // 2 is missing
		time.Sleep(eventGapWait * 6 / 10)
		o.offer(Event{Cursor: 4}) // still behind the gap
		time.Sleep(eventGapWait * 6 / 10)
		synctest.Wait()
		mu.Lock()
		delivered := slices.Clone(got)
		mu.Unlock()
		if !slices.Equal(delivered, []int64{1, 2, 3, 4}) {
			t.Errorf("%v after the gap was %v old: delivered %v, want [1 2 3 4]", eventGapWait*12/10, eventGapWait, delivered)
		}
		cancel()
		<-done
	})
}

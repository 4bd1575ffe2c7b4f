package pgstore_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/server"
	"parley/server/pgstore"
	"parley/server/storetest"
	"parley/server/wire"
)

// testDSN is the database the tests use: PARLEY_TEST_POSTGRES, set by
// .ci/cluster.sh (make test-cluster, run by make test) to its private
// PostgreSQL. Without it the tests skip, unless PARLEY_TEST_CLUSTER=1
// says they must run.
func testDSN(t *testing.T) string {
	dsn := os.Getenv("PARLEY_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("PARLEY_TEST_CLUSTER") == "1" {
			t.Fatal("PARLEY_TEST_CLUSTER=1 but PARLEY_TEST_POSTGRES is not set")
		}
		t.Skip("PARLEY_TEST_POSTGRES not set: make test-cluster runs these against a private PostgreSQL")
	}
	return dsn
}

var schemas atomic.Int64

// freshSchema makes an empty schema for one test and returns a DSN whose
// search_path is it; the schema is dropped at the end.
func freshSchema(t *testing.T) string {
	dsn := testDSN(t)
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", time.Now().UnixNano(), schemas.Add(1))
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return withParam(t, dsn, "search_path", name)
}

func withParam(t *testing.T, dsn, key, value string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

func open(t *testing.T, dsn string) *pgstore.Store {
	st, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConformance runs the store conformance suite (the SQLite store runs
// it too) against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store { return open(t, freshSchema(t)) })
}

// TestNodesStartTogether opens the same database from several nodes at
// once: migrations run once, and they share one Lobby, epoch and server id.
func TestNodesStartTogether(t *testing.T) {
	dsn := freshSchema(t)
	const nodes = 3
	stores := make([]*pgstore.Store, nodes)
	errs := make(chan error, nodes)
	for i := range stores {
		go func() {
			st, err := pgstore.Open(context.Background(), dsn)
			stores[i] = st
			errs <- err
		}()
	}
	for range stores {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var lobbies []string
	for i, st := range stores {
		defer st.Close()
		if st.Epoch() != stores[0].Epoch() || st.ServerID() != stores[0].ServerID() {
			t.Errorf("node %d: epoch %s server %s, node 0: %s %s", i, st.Epoch(), st.ServerID(), stores[0].Epoch(), stores[0].ServerID())
		}
		lobby, err := st.EnsureLobby(ctx, fmt.Sprintf("lobby-of-node-%d", i), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := st.CreateUser(ctx, fmt.Sprintf("user%d", i), fmt.Sprintf("user%d", i), "h", []string{lobby}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		convs, err := st.Conversations(ctx, u.ID)
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations: %+v %v", convs, err)
		}
		lobbies = append(lobbies, convs[0].ID)
	}
	for _, l := range lobbies {
		if l != lobbies[0] {
			t.Fatalf("nodes made different Lobbies: %v", lobbies)
		}
	}
}

// TestBadDSN: a DSN that does not parse, or names no server, fails Open
// with the operation in the message.
func TestBadDSN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{"postgres://%zz", "postgres://127.0.0.1:1/none?connect_timeout=2"} {
		st, err := pgstore.Open(ctx, dsn)
		if err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if !strings.Contains(err.Error(), "postgres store") {
			t.Errorf("Open(%q) err = %v, want it to name the operation", dsn, err)
		}
	}
}

// TestCursorWaitsForEarlierWriter holds another node's event writer open
// mid-transaction (it has taken cursor c1 and written its event, and not
// committed): an event written meanwhile must not become visible ahead of
// it. With the counter row, the second writer waits on the row's lock
// (seen in pg_stat_activity) and gets c1+1 after the first commits; with
// a bare sequence it would commit c1+1 first and a client syncing then
// would move past c1 for good.
func TestCursorWaitsForEarlierWriter(t *testing.T) {
	dsn := freshSchema(t)
	st := open(t, dsn)
	defer st.Close()
	ctx := context.Background()
	lobby, err := st.EnsureLobby(ctx, "lobby", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := st.CreateUser(ctx, "a", "a", "h", []string{lobby}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := st.CreateMessage(ctx, wire.Message{ID: "01HZZZZZZZZZZZZZZZZZZZZZZZ", Conversation: lobby, Sender: u,
		Kind: wire.KindText, State: wire.StateComplete, Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := st.LastCursor(ctx)

	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var c1 int64
	if err := tx.QueryRow(ctx, `UPDATE event_cursor SET last = last + 1 RETURNING last`).Scan(&c1); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"kind":"message","conversation":%q}`, lobby)
	if _, err := tx.Exec(ctx, `INSERT INTO events (cursor, conversation_id, body) VALUES ($1, $2, $3)`, c1, lobby, []byte(body)); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ev  wire.Event
		err error
	}
	second := make(chan result, 1)
	go func() {
		ev, err := st.PutReceipt(ctx, wire.Receipt{Message: m.ID, Conversation: lobby, User: u.ID, Kind: wire.ReceiptListened, At: 1})
		second <- result{ev, err}
	}()
	// The second writer must be waiting for a lock, not done.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := st.Pool().QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-second:
			t.Fatalf("an event was written (cursor %d, %v) while cursor %d was still uncommitted", r.ev.Cursor, r.err, c1)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the second writer neither waited nor finished")
		}
	}
	if evs, err := st.Events(ctx, u.ID, start, "", 10); err != nil || len(evs) != 0 {
		t.Fatalf("while cursor %d is uncommitted, a reader sees %+v, %v", c1, evs, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil || r.ev.Cursor != c1+1 {
		t.Fatalf("second writer: cursor %d, %v; want %d", r.ev.Cursor, r.err, c1+1)
	}
	evs, err := st.Events(ctx, u.ID, start, "", 10)
	if err != nil || len(evs) != 2 || evs[0].Cursor != c1 || evs[1].Cursor != c1+1 {
		t.Fatalf("after both commit, a reader sees %+v, %v; want cursors %d and %d", evs, err, c1, c1+1)
	}
}

// TestCommitsAreSynchronous: the store's connections commit with
// synchronous_commit on even when the server's default is off, so a
// packet is on disk before CommitPackets returns (and before its ack).
func TestCommitsAreSynchronous(t *testing.T) {
	dsn := withParam(t, freshSchema(t), "synchronous_commit", "off")
	st := open(t, dsn)
	defer st.Close()
	var v string
	if err := st.Pool().QueryRow(context.Background(), `SHOW synchronous_commit`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "on" {
		t.Fatalf("synchronous_commit = %q on the store's connections, want on", v)
	}
}

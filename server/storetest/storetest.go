// Package storetest is the conformance suite every server.Store engine
// passes: the embedded SQLite store (server's tests) and PostgreSQL
// (pgstore's tests) run the same table, so they answer the same calls the
// same way, with the same typed errors, and keep the event cursor rule.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/server"
	"parley/server/wire"
)

// Open returns a fresh, empty, migrated store; it is closed by the suite.
type Open func(t *testing.T) server.Store

// Run runs every case of the suite, each on a fresh store.
func Run(t *testing.T, open Open) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			f := &fixture{t: t, st: st, ctx: context.Background(), now: time.UnixMilli(1_700_000_000_000)}
			var err error
			if f.lobbyID, err = st.EnsureLobby(f.ctx, ulid.Make().String(), f.now); err != nil {
				t.Fatalf("EnsureLobby: %v", err)
			}
			c.run(t, f)
		})
	}
}

type fixture struct {
	t       *testing.T
	st      server.Store
	ctx     context.Context
	now     time.Time
	lobbyID string // the server's business: it makes the Lobby and joins people to it
}

// user makes an account (key = lower-case name).
func (f *fixture) user(name string) wire.User {
	f.t.Helper()
	u, evs, err := f.st.CreateUser(f.ctx, name, strings.ToLower(name), "hash-"+name, []string{f.lobbyID}, f.now)
	if err != nil {
		f.t.Fatalf("CreateUser %q: %v", name, err)
	}
	if len(evs) != 1 || len(evs[0].Added) != 1 || evs[0].Added[0].ID != u.ID || evs[0].Cursor <= 0 {
		f.t.Fatalf("CreateUser %q events = %+v, want one Lobby event adding the user", name, evs)
	}
	return u
}

func (f *fixture) lobby(u wire.User) wire.Conversation {
	f.t.Helper()
	convs, err := f.st.Conversations(f.ctx, u.ID)
	if err != nil || len(convs) == 0 || !convs[0].Lobby {
		f.t.Fatalf("Conversations(%s) = %+v, %v; want the Lobby first", u.Name, convs, err)
	}
	return convs[0]
}

func (f *fixture) group(title string, members ...wire.User) wire.Conversation {
	f.t.Helper()
	c, ev, err := f.st.CreateConversation(f.ctx, wire.Conversation{ID: ulid.Make().String(), Kind: wire.ConversationGroup,
		Title: title, Created: f.now.UnixMilli(), Members: members}, "")
	if err != nil || ev == nil {
		f.t.Fatalf("CreateConversation %q: %v (event %v)", title, err, ev)
	}
	return c
}

func (f *fixture) voice(conv string, sender wire.User) wire.Message {
	f.t.Helper()
	m, ev, err := f.st.CreateMessage(f.ctx, wire.Message{ID: ulid.Make().String(), Conversation: conv, Sender: sender,
		Kind: wire.KindVoice, Created: f.now.UnixMilli(), State: wire.StateRecording, Codec: wire.CodecOpus})
	if err != nil || ev == nil {
		f.t.Fatalf("CreateMessage: %v (event %v)", err, ev)
	}
	return m
}

func (f *fixture) events(u wire.User, since int64, conv string) []wire.Event {
	f.t.Helper()
	evs, err := f.st.Events(f.ctx, u.ID, since, conv, 1000)
	if err != nil {
		f.t.Fatalf("Events(%s, %d, %q): %v", u.Name, since, conv, err)
	}
	return evs
}

func packet(msg string, n uint32) []byte { return []byte(fmt.Sprintf("%s/%d", msg, n)) }

func records(msg string, from, to uint32) []server.PacketRecord {
	var out []server.PacketRecord
	for n := from; n < to; n++ {
		out = append(out, server.PacketRecord{Message: msg, Number: n, Data: packet(msg, n)})
	}
	return out
}

var cases = []struct {
	name string
	run  func(t *testing.T, f *fixture)
}{
	{"meta", func(t *testing.T, f *fixture) {
		if f.st.Epoch() == "" || f.st.ServerID() == "" || f.st.Epoch() == f.st.ServerID() {
			t.Fatalf("Epoch %q ServerID %q: want two distinct ids", f.st.Epoch(), f.st.ServerID())
		}
		if c, err := f.st.LastCursor(f.ctx); err != nil || c != 0 {
			t.Fatalf("LastCursor of an empty store = %d, %v; want 0", c, err)
		}
	}},
	{"users", func(t *testing.T, f *fixture) {
		bob := f.user("Bob")
		alice := f.user("alice")
		for _, tc := range []struct{ name, key string }{
			{"Bob", "other"},   // same name
			{"BOB", "other2"},  // any case
			{"B0b", "bob"},     // same look-alike key
			{"alice", "alice"}, // both
		} {
			if _, _, err := f.st.CreateUser(f.ctx, tc.name, tc.key, "h", []string{f.lobbyID}, f.now); !errors.Is(err, server.ErrNameTaken) {
				t.Errorf("CreateUser(%q, key %q) err = %v, want ErrNameTaken", tc.name, tc.key, err)
			}
		}
		u, hash, err := f.st.UserByName(f.ctx, "bob")
		if err != nil || u != bob || hash != "hash-Bob" {
			t.Errorf("UserByName(bob) = %+v %q %v, want %+v", u, hash, err, bob)
		}
		if _, _, err := f.st.UserByName(f.ctx, "carol"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("UserByName(carol) err = %v, want ErrNotFound", err)
		}
		if u, err := f.st.User(f.ctx, alice.ID); err != nil || u != alice {
			t.Errorf("User(alice) = %+v, %v", u, err)
		}
		if _, err := f.st.User(f.ctx, "nobody"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("User(nobody) err = %v, want ErrNotFound", err)
		}
		users, err := f.st.Users(f.ctx)
		if err != nil || len(users) != 2 {
			t.Fatalf("Users = %+v, %v", users, err)
		}
		if lobby := f.lobby(bob); lobby.MemberCount != 2 || lobby.Members != nil {
			t.Errorf("Lobby = %+v, want 2 members counted, not listed", lobby)
		}
	}},
	{"backfill name keys", func(t *testing.T, f *fixture) {
		if _, _, err := f.st.CreateUser(f.ctx, "Old", "", "h", nil, f.now); err != nil {
			t.Fatal(err)
		}
		if err := f.st.BackfillNameKeys(f.ctx, strings.ToLower); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.st.CreateUser(f.ctx, "0ld", "old", "h", nil, f.now); !errors.Is(err, server.ErrNameTaken) {
			t.Errorf("after backfill, a look-alike err = %v, want ErrNameTaken", err)
		}
	}},
	{"devices", func(t *testing.T, f *fixture) {
		bob := f.user("bob")
		d1, err := f.st.CreateDevice(f.ctx, bob.ID, "laptop", []byte("t1"), f.now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.CreateDevice(f.ctx, bob.ID, "phone", []byte("t2"), f.now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		later := f.now.Add(time.Hour)
		d, u, err := f.st.DeviceByToken(f.ctx, []byte("t1"), later)
		if err != nil || d.ID != d1.ID || u != bob || d.LastSeen != later.UnixMilli() {
			t.Fatalf("DeviceByToken = %+v %+v %v; want %s seen at %d", d, u, err, d1.ID, later.UnixMilli())
		}
		// Within the resolution, the stored time stays.
		if d, _, err := f.st.DeviceByToken(f.ctx, []byte("t1"), later.Add(time.Minute)); err != nil || d.LastSeen != later.UnixMilli() {
			t.Errorf("DeviceByToken a minute later: last seen %d, %v; want %d", d.LastSeen, err, later.UnixMilli())
		}
		if _, _, err := f.st.DeviceByToken(f.ctx, []byte("nope"), later); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("unknown token err = %v, want ErrNotFound", err)
		}
		if err := f.st.RevokeDevice(f.ctx, bob.ID, d1.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.st.RevokeDevice(f.ctx, bob.ID, d1.ID); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("second revoke err = %v, want ErrNotFound", err)
		}
		other := f.user("eve")
		if err := f.st.RevokeDevice(f.ctx, other.ID, d1.ID); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("revoke of another's device err = %v, want ErrNotFound", err)
		}
		if _, _, err := f.st.DeviceByToken(f.ctx, []byte("t1"), later); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("revoked token err = %v, want ErrNotFound", err)
		}
		ds, err := f.st.Devices(f.ctx, bob.ID)
		if err != nil || len(ds) != 1 || ds[0].Name != "phone" {
			t.Errorf("Devices = %+v, %v; want the phone only", ds, err)
		}
	}},
	{"conversations", func(t *testing.T, f *fixture) {
		a, b, c := f.user("a"), f.user("b"), f.user("c")
		g := f.group("team", a, b)
		if len(g.Members) != 2 || g.MemberCount != 2 || g.Title != "team" {
			t.Fatalf("created group = %+v", g)
		}
		got, err := f.st.Conversation(f.ctx, g.ID)
		if err != nil || len(got.Members) != 2 {
			t.Fatalf("Conversation = %+v, %v", got, err)
		}
		if _, err := f.st.Conversation(f.ctx, "none"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Conversation(none) err = %v, want ErrNotFound", err)
		}
		convs, err := f.st.Conversations(f.ctx, a.ID)
		if err != nil || len(convs) != 2 || !convs[0].Lobby || convs[1].ID != g.ID || convs[1].MemberCount != 2 {
			t.Fatalf("Conversations(a) = %+v, %v; want Lobby then the group", convs, err)
		}
		if ok, err := f.st.IsMember(f.ctx, g.ID, c.ID); err != nil || ok {
			t.Errorf("IsMember(c) = %v, %v", ok, err)
		}
		conv, ev, err := f.st.AddMember(f.ctx, g.ID, c.ID, f.now)
		if err != nil || conv.MemberCount != 3 || ev == nil || len(ev.Added) != 1 || ev.Added[0] != c || ev.Info.Members != nil {
			t.Fatalf("AddMember = %+v %+v %v; want a delta adding c", conv, ev, err)
		}
		ids, err := f.st.MemberIDs(f.ctx, g.ID)
		slices.Sort(ids)
		want := []string{a.ID, b.ID, c.ID}
		slices.Sort(want)
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("MemberIDs = %v, %v; want %v", ids, err, want)
		}
		conv, ev, err = f.st.RemoveMember(f.ctx, g.ID, b.ID)
		if err != nil || conv.MemberCount != 2 || ev == nil || !slices.Equal(ev.Removed, []string{b.ID}) {
			t.Fatalf("RemoveMember = %+v %+v %v", conv, ev, err)
		}
		if _, _, err := f.st.RemoveMember(f.ctx, g.ID, b.ID); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("second RemoveMember err = %v, want ErrNotFound", err)
		}
		conv, ev, err = f.st.RenameConversation(f.ctx, g.ID, "crew")
		if err != nil || conv.Title != "crew" || ev == nil || ev.Info.Title != "crew" {
			t.Errorf("RenameConversation = %+v %+v %v", conv, ev, err)
		}
		if _, _, err := f.st.RenameConversation(f.ctx, "none", "x"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("rename of none err = %v, want ErrNotFound", err)
		}
	}},
	{"direct conversation found by key", func(t *testing.T, f *fixture) {
		a, b := f.user("a"), f.user("b")
		mk := func() (wire.Conversation, *wire.Event, error) {
			return f.st.CreateConversation(f.ctx, wire.Conversation{ID: ulid.Make().String(), Kind: wire.ConversationDirect,
				Created: f.now.UnixMilli(), Members: []wire.User{a, b}}, a.ID+"|"+b.ID)
		}
		first, ev, err := mk()
		if err != nil || ev == nil {
			t.Fatalf("first direct: %v %v", err, ev)
		}
		// Concurrently too: every caller gets the same conversation, and
		// only one event is made.
		var wg gosync.WaitGroup
		results := make([]string, 4)
		evs := make([]*wire.Event, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Go(func() {
				c, ev, err := mk()
				results[i], evs[i], errs[i] = c.ID, ev, err
			})
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil || results[i] != first.ID || evs[i] != nil {
				t.Errorf("direct again #%d = %s %v %v; want %s, no event", i, results[i], evs[i], errs[i], first.ID)
			}
		}
	}},
	{"messages", func(t *testing.T, f *fixture) {
		a := f.user("a")
		lobby := f.lobby(a)
		m1 := f.voice(lobby.ID, a)
		m2 := f.voice(lobby.ID, a)
		if m1.Seq != 1 || m2.Seq != 2 || m1.Sender != a || m1.State != wire.StateRecording {
			t.Fatalf("messages = %+v %+v; want seq 1 and 2", m1, m2)
		}
		again, ev, err := f.st.CreateMessage(f.ctx, wire.Message{ID: m1.ID, Conversation: lobby.ID, Sender: a, Kind: wire.KindVoice,
			State: wire.StateRecording, Created: f.now.UnixMilli()})
		if err != nil || ev != nil || again.Seq != 1 {
			t.Fatalf("CreateMessage of a stored id = %+v %v %v; want the stored one, no event", again, ev, err)
		}
		text, _, err := f.st.CreateMessage(f.ctx, wire.Message{ID: ulid.Make().String(), Conversation: lobby.ID, Sender: a,
			Kind: wire.KindText, State: wire.StateComplete, Created: f.now.UnixMilli(), Text: "hello 你好"})
		if err != nil || text.Seq != 3 || text.Text != "hello 你好" {
			t.Fatalf("text = %+v, %v", text, err)
		}
		rec, err := f.st.RecordingMessages(f.ctx)
		if err != nil || len(rec) != 2 {
			t.Fatalf("RecordingMessages = %+v, %v; want 2", rec, err)
		}
		wave := []uint8{0, 7, 255}
		done, ev2, err := f.st.FinishMessage(f.ctx, m1.ID, wire.StateComplete, 3, 60, wave)
		if err != nil || done.State != wire.StateComplete || done.Packets != 3 || done.DurationMs != 60 || !bytes.Equal(done.Waveform, wave) ||
			ev2.Message == nil || ev2.Cursor <= 0 {
			t.Fatalf("FinishMessage = %+v %+v %v", done, ev2, err)
		}
		got, err := f.st.Message(f.ctx, m1.ID)
		if err != nil || got.State != wire.StateComplete || !bytes.Equal(got.Waveform, wave) {
			t.Errorf("Message after finish = %+v, %v", got, err)
		}
		if _, err := f.st.Message(f.ctx, "none"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Message(none) err = %v, want ErrNotFound", err)
		}
		if rec, _ := f.st.RecordingMessages(f.ctx); len(rec) != 1 || rec[0].ID != m2.ID {
			t.Errorf("RecordingMessages after finish = %+v, want m2 only", rec)
		}
	}},
	{"packets", func(t *testing.T, f *fixture) {
		a := f.user("a")
		m := f.voice(f.lobby(a).ID, a)
		if err := f.st.CommitPackets(f.ctx, records(m.ID, 0, 5)); err != nil {
			t.Fatal(err)
		}
		// A packet stored already keeps its first data.
		dup := []server.PacketRecord{{Message: m.ID, Number: 2, Data: []byte("other")}}
		dup = append(dup, records(m.ID, 5, 8)...)
		if err := f.st.CommitPackets(f.ctx, dup); err != nil {
			t.Fatal(err)
		}
		if err := f.st.CommitPackets(f.ctx, records(m.ID, 10, 12)); err != nil { // after a gap
			t.Fatal(err)
		}
		if n, err := f.st.PacketCount(f.ctx, m.ID); err != nil || n != 10 {
			t.Errorf("PacketCount = %d, %v; want 10", n, err)
		}
		for _, tc := range []struct {
			from  uint32
			limit int
			want  int
		}{{0, 100, 8}, {0, 3, 3}, {6, 100, 2}, {8, 100, 0}, {10, 100, 2}, {12, 100, 0}} {
			got, err := f.st.Packets(f.ctx, m.ID, tc.from, tc.limit)
			if err != nil || len(got) != tc.want {
				t.Errorf("Packets(from %d, limit %d) = %d packets, %v; want %d", tc.from, tc.limit, len(got), err, tc.want)
				continue
			}
			for i, p := range got {
				if !bytes.Equal(p, packet(m.ID, tc.from+uint32(i))) {
					t.Errorf("Packets(from %d)[%d] = %q", tc.from, i, p)
				}
			}
		}
		// Finishing leaves packets to the server; DeletePackets removes
		// a withdrawn message's.
		if _, _, err := f.st.FinishMessage(f.ctx, m.ID, wire.StateCancelled, 12, 240, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := f.st.PacketCount(f.ctx, m.ID); err != nil || n != 10 {
			t.Errorf("PacketCount after cancel = %d, %v; want 10 (until DeletePackets)", n, err)
		}
		if err := f.st.DeletePackets(f.ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := f.st.PacketCount(f.ctx, m.ID); err != nil || n != 0 {
			t.Errorf("PacketCount after DeletePackets = %d, %v; want 0", n, err)
		}
	}},
	{"receipts and visibility", func(t *testing.T, f *fixture) {
		a, b, c := f.user("a"), f.user("b"), f.user("c")
		start, _ := f.st.LastCursor(f.ctx)
		g := f.group("ab", a, b)
		m := f.voice(g.ID, a)
		ev, err := f.st.PutReceipt(f.ctx, wire.Receipt{Message: m.ID, Conversation: g.ID, User: b.ID, Device: "d", Kind: wire.ReceiptListened, PositionMs: 20, At: 1})
		if err != nil || ev.Cursor <= 0 || ev.Receipt == nil {
			t.Fatalf("PutReceipt = %+v, %v", ev, err)
		}
		ev2, err := f.st.PutReceipt(f.ctx, wire.Receipt{Message: m.ID, Conversation: g.ID, User: b.ID, Device: "d", Kind: wire.ReceiptListened, PositionMs: 40, At: 2})
		if err != nil || ev2.Cursor <= ev.Cursor || ev2.Receipt.PositionMs != 40 {
			t.Fatalf("second PutReceipt = %+v, %v", ev2, err)
		}
		if got := f.events(a, start, ""); len(got) != 4 {
			t.Errorf("a sees %d events since %d, want 4 (group, message, two receipts)", len(got), start)
		}
		if got := f.events(c, start, ""); len(got) != 0 {
			t.Errorf("c, not a member, sees %+v", got)
		}
		if got := f.events(c, start, g.ID); len(got) != 0 {
			t.Errorf("c sees %+v of the group by id", got)
		}
		if _, _, err := f.st.RemoveMember(f.ctx, g.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		got := f.events(b, ev2.Cursor, "")
		if len(got) != 1 || !slices.Equal(got[0].Removed, []string{b.ID}) {
			t.Errorf("b after removal sees %+v; want the event that removed them", got)
		}
		last, err := f.st.LastCursor(f.ctx)
		all := f.events(a, 0, "")
		if err != nil || len(all) == 0 || all[len(all)-1].Cursor != last {
			t.Errorf("LastCursor = %d, %v; last event a sees is %+v", last, err, all[len(all)-1])
		}
		for i := 1; i < len(all); i++ {
			if all[i].Cursor <= all[i-1].Cursor {
				t.Fatalf("events out of cursor order: %d after %d", all[i].Cursor, all[i-1].Cursor)
			}
		}
		if page, _ := f.st.Events(f.ctx, a.ID, 0, "", 2); len(page) != 2 || page[1].Cursor != all[1].Cursor {
			t.Errorf("Events limit 2 = %+v", page)
		}
		if only := f.events(a, 0, g.ID); len(only) != 5 {
			t.Errorf("a's events of the group = %d, want 5", len(only))
		}
	}},
	{"lobby", func(t *testing.T, f *fixture) {
		// Nodes ensure it at once: one Lobby, the first id.
		ids := make([]string, 4)
		errs := make([]error, 4)
		var wg gosync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i], errs[i] = f.st.EnsureLobby(f.ctx, ulid.Make().String(), f.now) })
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != f.lobbyID {
				t.Errorf("EnsureLobby #%d = %s, %v; want the existing %s", i, ids[i], errs[i], f.lobbyID)
			}
		}
		u := f.user("a")
		if l := f.lobby(u); l.ID != f.lobbyID || l.Title != "Lobby" || l.Kind != wire.ConversationGroup {
			t.Errorf("Lobby = %+v", l)
		}
		if last, _ := f.st.LastCursor(f.ctx); last != 1 {
			t.Errorf("LastCursor = %d after one user; EnsureLobby must append no event", last)
		}
	}},
	{"recording leases", func(t *testing.T, f *fixture) {
		a := f.user("a")
		m := f.voice(f.lobby(a).ID, a)
		now, until := f.now, f.now.Add(10*time.Second)
		claim := func(node string, at time.Time, force bool) bool {
			t.Helper()
			held, err := f.st.ClaimRecording(f.ctx, m.ID, node, at, at.Add(10*time.Second), force)
			if err != nil {
				t.Fatalf("ClaimRecording(%s): %v", node, err)
			}
			return held
		}
		for _, tc := range []struct {
			node  string
			at    time.Time
			force bool
			want  bool
		}{
			{"n1", now, false, true},                         // free
			{"n2", now.Add(time.Second), false, false},       // n1's, running
			{"n1", now.Add(time.Second), false, true},        // a renewal
			{"n2", until.Add(2 * time.Second), false, true},  // n1's ran out
			{"n1", until.Add(3 * time.Second), true, true},   // forced: the sender moved to n1
			{"n2", until.Add(4 * time.Second), false, false}, // n1's again
		} {
			if got := claim(tc.node, tc.at, tc.force); got != tc.want {
				t.Errorf("ClaimRecording(%s at +%v, force %v) = %v, want %v", tc.node, tc.at.Sub(now), tc.force, got, tc.want)
			}
		}
		if _, _, err := f.st.FinishMessage(f.ctx, m.ID, wire.StateComplete, 0, 0, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.ClaimRecording(f.ctx, m.ID, "n1", now, until, false); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("claim of a finished message err = %v, want ErrNotFound", err)
		}
		if _, err := f.st.ClaimRecording(f.ctx, "none", "n1", now, until, false); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("claim of no message err = %v, want ErrNotFound", err)
		}
	}},
	{"events after, for every user", func(t *testing.T, f *fixture) {
		a, b := f.user("a"), f.user("b")
		start, _ := f.st.LastCursor(f.ctx)
		g := f.group("ab", a, b)
		if _, _, err := f.st.RemoveMember(f.ctx, g.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		evs, err := f.st.EventsAfter(f.ctx, start, 10)
		if err != nil || len(evs) != 2 || evs[0].Cursor != start+1 || evs[1].Cursor != start+2 {
			t.Fatalf("EventsAfter(%d) = %+v, %v; want the two events", start, evs, err)
		}
		if evs[0].Subject != "" || evs[1].Subject != b.ID || evs[1].Info == nil || evs[1].Info.ID != g.ID {
			t.Errorf("EventsAfter subjects = %q %q, want \"\" and b", evs[0].Subject, evs[1].Subject)
		}
		if page, _ := f.st.EventsAfter(f.ctx, 0, 1); len(page) != 1 || page[0].Cursor != 1 {
			t.Errorf("EventsAfter(0, limit 1) = %+v", page)
		}
	}},
	{"cursor never skips", cursorNeverSkips},
}

// cursorNeverSkips writes events from many goroutines at once while a
// reader syncs the way a client does (since = the last cursor it saw). The
// reader must end with every event: if a cursor could commit after a
// higher one was already visible, the reader would have moved past it.
func cursorNeverSkips(t *testing.T, f *fixture) {
	a := f.user("a")
	lobby := f.lobby(a)
	m := f.voice(lobby.ID, a)
	const writers, each = 8, 40
	start, _ := f.st.LastCursor(f.ctx)
	done := make(chan struct{})
	seen := map[int64]bool{}
	readErr := make(chan error, 1)
	go func() {
		since := start
		stop := false
		for {
			evs, err := f.st.Events(f.ctx, a.ID, since, "", 50)
			if err != nil {
				readErr <- err
				return
			}
			for _, ev := range evs {
				seen[ev.Cursor] = true
				since = ev.Cursor
			}
			if stop && len(evs) == 0 {
				readErr <- nil
				return
			}
			select {
			case <-done:
				stop = true // one more full pass after the writers end
			default:
			}
		}
	}()
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var written []int64
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev, err := f.st.PutReceipt(f.ctx, wire.Receipt{Message: m.ID, Conversation: lobby.ID, User: a.ID,
					Device: fmt.Sprint(w), Kind: wire.ReceiptListened, PositionMs: int64(i), At: int64(i)})
				if err != nil {
					t.Errorf("PutReceipt: %v", err)
					return
				}
				mu.Lock()
				written = append(written, ev.Cursor)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(done)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	var missed []int64
	for _, c := range written {
		if !seen[c] {
			missed = append(missed, c)
		}
	}
	if len(written) != writers*each || len(missed) > 0 {
		t.Fatalf("%d events written, the syncing reader never saw %d of them: %v", len(written), len(missed), missed)
	}
}

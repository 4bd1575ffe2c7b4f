package server

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/server/wire"
)

// bigName is the i-th of the test's 64-byte names, made to be as large
// as possible once encoded (a quote takes two bytes in JSON).
func bigName(i int) string {
	n := fmt.Sprintf("u%05d", i)
	return n + strings.Repeat(`"`, wire.MaxNameBytes-len(n))
}

// pageAll reads every page of a list request; the client's read limit is
// MaxFrameBytes, so a larger frame fails the test.
func pageAll[T any](c *client, typ string, req func(from int) any, items func(T) (int, int, bool)) int {
	c.t.Helper()
	total, from, pages := 0, 0, 0
	for more := true; more; pages++ {
		var n int
		n, from, more = items(call[T](c, typ, req(from)))
		if n == 0 && more {
			c.t.Fatalf("%s: empty page with more to come", typ)
		}
		total += n
		if pages > 10000 {
			c.t.Fatalf("%s: does not end", typ)
		}
	}
	return total
}

// TestFramesWithinLimit grows the Lobby to 5 000 members with 64-byte
// names (the worst to encode) while a member stays connected, and checks
// at each step that every list, every sync page, every pushed event and a
// group of the most members one request may name fit in MaxFrameBytes
// (the test clients cannot read a larger frame) and add up to the whole.
func TestFramesWithinLimit(t *testing.T) {
	ts := startServer(t)
	watcher := register(t, ts, "watcher")
	ctx := context.Background()
	users := 1 // the watcher
	// The first users join one by one, their events pushed to the
	// watcher; the rest are stored in one transaction per step (the
	// same rows and events, without a commit per account).
	const pushed = 100
	bulk := func(to int) {
		st := ts.store.(*sqliteStore)
		err := st.tx(ctx, func(tx *sql.Tx) error {
			var lobbyID string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE lobby = 1`).Scan(&lobbyID); err != nil {
				return err
			}
			lobby, err := loadConversationMeta(ctx, tx, lobbyID)
			if err != nil {
				return err
			}
			for ; users < to; users++ {
				u := wire.User{ID: newID(), Name: bigName(users)}
				if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, name_key, pass_hash, created) VALUES (?, ?, ?, 'x', ?)`,
					u.ID, u.Name, nameKey(u.Name), ts.now().UnixMilli()); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO members (conversation_id, user_id, joined) VALUES (?, ?, ?)`, lobbyID, u.ID, ts.now().UnixMilli()); err != nil {
					return err
				}
				// The event addMember makes, without its count query.
				lobby.MemberCount++
				ev := wire.ConversationEvent(lobby)
				ev.Added = []wire.User{u}
				if err := appendEvent(ctx, tx, &ev, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("bulk users: %v", err)
		}
	}
	grow := func(to int) {
		start := time.Now()
		if users >= pushed {
			bulk(to)
		}
		for ; users < to; users++ {
			name := bigName(users)
			err := ts.withEvents(func() ([]wire.Event, error) {
				_, events, err := ts.store.CreateUser(ctx, name, nameKey(name), "x", []string{ts.lobbyID}, ts.now())
				return events, err
			})
			if err != nil {
				t.Fatalf("create user %d: %v", users, err)
			}
		}
		t.Logf("grew to %d users in %v", users, time.Since(start))
	}
	var group wire.Conversation
	for _, size := range []int{pushed, 5000} {
		grow(size)
		if group.ID == "" && users > wire.MaxGroupMembers {
			// The largest group one conversation.create may make, of the
			// largest names: its answer and event carry all members.
			var ids []string
			pageAll(watcher, wire.TypeUserList, func(from int) any { return wire.Page{From: from} }, func(p wire.Users) (int, int, bool) {
				for _, u := range p.Users {
					if u.ID != watcher.welcome.User.ID && len(ids) < wire.MaxGroupMembers {
						ids = append(ids, u.ID)
					}
				}
				return len(p.Users), p.Next, p.More
			})
			group = call[wire.ConversationInfo](watcher, wire.TypeConversationCreate,
				wire.ConversationCreate{Kind: wire.ConversationGroup, Title: bigName(0), Members: ids}).Conversation
			if len(group.Members) != len(ids)+1 {
				t.Fatalf("group has %d members, want %d", len(group.Members), len(ids)+1)
			}
		}
		c := reconnect(t, ts, watcher.welcome)
		convs := 0
		var lobby wire.Conversation
		pageAll(c, wire.TypeConversationList, func(from int) any { return wire.Page{From: from} }, func(p wire.Conversations) (int, int, bool) {
			for _, cv := range p.Conversations {
				convs++
				if cv.Lobby {
					lobby = cv
				}
			}
			return len(p.Conversations), p.Next, p.More
		})
		if wantConvs := 1 + min(1, len(group.ID)); convs != wantConvs || lobby.MemberCount != users {
			t.Fatalf("%d users: %d conversations, Lobby of %d members", users, convs, lobby.MemberCount)
		}
		members := pageAll(c, wire.TypeConversationMembers, func(from int) any { return wire.MemberList{Conversation: lobby.ID, From: from} },
			func(p wire.Members) (int, int, bool) { return len(p.Members), p.Next, p.More })
		listed := pageAll(c, wire.TypeUserList, func(from int) any { return wire.Page{From: from} },
			func(p wire.Users) (int, int, bool) { return len(p.Users), p.Next, p.More })
		if members != users || listed != users {
			t.Errorf("%d users: Lobby lists %d members, user.list %d users", users, members, listed)
		}
		var events, joins, pages int
		for since, more := int64(0), true; more; pages++ {
			p := call[wire.SyncPage](c, wire.TypeSync, wire.Sync{Since: since})
			for _, ev := range p.Events {
				events++
				if ev.Kind == wire.EventConversation && ev.Conversation == lobby.ID {
					joins += len(ev.Added)
				}
			}
			since, more = p.Next, p.More
		}
		if joins != users {
			t.Errorf("%d users: sync from 0 shows %d Lobby joins", users, joins)
		}
		t.Logf("%d users: %d events in %d sync pages", users, events, pages)
		c.close()
	}
	// The watcher, connected throughout, read every pushed event.
	call[wire.Users](watcher, wire.TypeUserList, nil)
	for _, f := range watcher.pending {
		if f.err != nil {
			t.Fatalf("watcher: %v", f.err)
		}
	}
}

package sync

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"parley/server/wire"
)

// changes collects what applying server data changed, for the hints.
type changes struct {
	conversations bool            // the list of conversations changed
	conversation  map[string]bool // conversations whose messages, members or receipts changed
	messages      []wire.Message  // messages created or changed
	playback      bool
	delivered     bool // delivered receipts were queued
	// joined are conversations this account was added to by a delta
	// event: their member list is to be read from the server.
	joined []string
}

func (c *changes) touch(conv string) {
	if c.conversation == nil {
		c.conversation = map[string]bool{}
	}
	c.conversation[conv] = true
}

func nullSeq(seq int64) any {
	if seq <= 0 {
		return nil
	}
	return seq
}

// upsertMessage stores a message as the server describes it. State never
// goes back from finished to recording, cancelled is final, counts never
// shrink, and a seq once known stays.
func upsertMessage(ctx context.Context, tx *sql.Tx, m wire.Message) error {
	var wf any
	if len(m.Waveform) > 0 {
		wf = []byte(m.Waveform)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO messages (id, conversation, seq, sender, sender_name, kind, created, state, codec, duration_ms, packets, waveform, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			conversation = excluded.conversation,
			seq = COALESCE(excluded.seq, messages.seq),
			sender = excluded.sender,
			sender_name = CASE WHEN excluded.sender_name != '' THEN excluded.sender_name ELSE messages.sender_name END,
			created = CASE WHEN excluded.seq IS NOT NULL THEN excluded.created ELSE messages.created END,
			state = CASE WHEN messages.state = 'cancelled' THEN 'cancelled'
				WHEN messages.state IN ('complete', 'abandoned') AND excluded.state = 'recording'
				THEN messages.state ELSE excluded.state END,
			codec = CASE WHEN excluded.codec != '' THEN excluded.codec ELSE messages.codec END,
			duration_ms = MAX(messages.duration_ms, excluded.duration_ms),
			packets = MAX(messages.packets, excluded.packets),
			waveform = COALESCE(excluded.waveform, messages.waveform),
			body = CASE WHEN excluded.body != '' THEN excluded.body ELSE messages.body END`,
		m.ID, m.Conversation, nullSeq(m.Seq), m.Sender.ID, m.Sender.Name, m.Kind, m.Created, m.State, m.Codec,
		m.DurationMs, m.Packets, wf, m.Text)
	if err != nil {
		return fmt.Errorf("store message %s: %w", m.ID, err)
	}
	if m.State == wire.StateCancelled { // withdrawn by its sender: its audio goes
		if _, err := tx.ExecContext(ctx, "DELETE FROM packets WHERE message = ?", m.ID); err != nil {
			return fmt.Errorf("drop packets of cancelled %s: %w", m.ID, err)
		}
	}
	if m.Sender.ID != "" && m.Sender.Name != "" {
		if err := upsertUser(ctx, tx, m.Sender); err != nil {
			return err
		}
	}
	return nil
}

func upsertUser(ctx context.Context, q queryer, u wire.User) error {
	_, err := q.ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name", u.ID, u.Name)
	if err != nil {
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
	return nil
}

// upsertConversation stores a conversation. With c.Members set (a
// conversation.create answer or event) the members are replaced by that
// list; otherwise the stored members change by the event's deltas and the
// membership flag by whether this account is among them. It reports
// whether this account joined by a delta, when the member list must be
// read from the server (wire.Conversation).
func upsertConversation(ctx context.Context, tx *sql.Tx, me string, c wire.Conversation, added []wire.User, removed []string) (bool, error) {
	full := c.Members != nil
	member, joined := -1, false // -1: keep what is stored
	if full {
		member = 0
		for _, u := range c.Members {
			if u.ID == me {
				member = 1
			}
		}
	}
	for _, u := range added {
		if u.ID == me {
			member, joined = 1, !full
		}
	}
	if slices.Contains(removed, me) {
		member = 0
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO conversations (id, kind, title, lobby, created, member) VALUES (?, ?, ?, ?, ?, MAX(?, 0))
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title, lobby = excluded.lobby,
			created = excluded.created, member = CASE WHEN ? < 0 THEN member ELSE excluded.member END`,
		c.ID, c.Kind, c.Title, c.Lobby, c.Created, member, member)
	if err != nil {
		return false, fmt.Errorf("store conversation %s: %w", c.ID, err)
	}
	if full {
		if _, err := tx.ExecContext(ctx, "DELETE FROM members WHERE conversation = ?", c.ID); err != nil {
			return false, fmt.Errorf("store members of %s: %w", c.ID, err)
		}
	}
	if err := addMembers(ctx, tx, c.ID, c.Members); err != nil {
		return false, err
	}
	if err := addMembers(ctx, tx, c.ID, added); err != nil {
		return false, err
	}
	for _, id := range removed {
		if _, err := tx.ExecContext(ctx, "DELETE FROM members WHERE conversation = ? AND user_id = ?", c.ID, id); err != nil {
			return false, fmt.Errorf("store members of %s: %w", c.ID, err)
		}
	}
	return joined, nil
}

// addMembers stores users as members of conversation.
func addMembers(ctx context.Context, tx *sql.Tx, conversation string, users []wire.User) error {
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO members (conversation, user_id) VALUES (?, ?)", conversation, u.ID); err != nil {
			return fmt.Errorf("store members of %s: %w", conversation, err)
		}
		if u.Name != "" {
			if err := upsertUser(ctx, tx, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyReceipt records a receipt; a listened receipt of this account (from
// any of its devices) sets the shared playback state unless this device
// has a newer one waiting in its outbox.
func applyReceipt(ctx context.Context, tx *sql.Tx, me string, r wire.Receipt, ch *changes) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO receipts (message, user_id, kind, position_ms, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (message, user_id, kind) DO UPDATE SET position_ms = excluded.position_ms, at = excluded.at`,
		r.Message, r.User, r.Kind, r.PositionMs, r.At)
	if err != nil {
		return fmt.Errorf("store receipt of %s: %w", r.Message, err)
	}
	if r.Kind == wire.ReceiptListened {
		_, err = tx.ExecContext(ctx, `
			INSERT INTO seen_upto (conversation, user_id, seq, at)
			SELECT conversation, ?, seq, ? FROM messages WHERE id = ? AND kind = 'text' AND seq IS NOT NULL
			ON CONFLICT (conversation, user_id) DO UPDATE SET seq = MAX(seq, excluded.seq)`, r.User, r.At, r.Message)
		if err != nil {
			return fmt.Errorf("store seen up to %s: %w", r.Message, err)
		}
	}
	if r.User != me || r.Kind != wire.ReceiptListened {
		return nil
	}
	var pending int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox_receipts WHERE message = ? AND kind = ?", r.Message, r.Kind).Scan(&pending); err != nil {
		return fmt.Errorf("store receipt of %s: %w", r.Message, err)
	}
	if pending > 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, playedUpsertSQL, r.Message, r.PositionMs, r.At)
	if err != nil {
		return fmt.Errorf("store playback of %s: %w", r.Message, err)
	}
	// Seen up to: a listened receipt on a text covers the conversation's
	// earlier texts too (queueSeen sends one per conversation).
	_, err = tx.ExecContext(ctx, `
		INSERT INTO playback (message, listened, position_ms, at)
		SELECT m.id, 1, 0, ? FROM messages m JOIN messages t ON t.id = ?
		WHERE t.kind = 'text' AND m.conversation = t.conversation AND m.kind = 'text' AND m.seq < t.seq AND m.sender != ?
		ON CONFLICT (message) DO UPDATE SET listened = 1`, r.At, r.Message, me)
	if err != nil {
		return fmt.Errorf("store texts seen up to %s: %w", r.Message, err)
	}
	ch.playback = true
	return nil
}

// applyEvents applies events in order in one transaction. If setCursor,
// the cursor becomes next (when larger than the stored one). With
// deliverAs set, a delivered receipt is queued for every new message from
// another user.
func (s *Store) applyEvents(ctx context.Context, events []wire.Event, setCursor bool, next int64, deliverAs string) (changes, error) {
	var ch changes
	err := s.tx(ctx, func(tx *sql.Tx) error {
		me, err := getMeta(ctx, tx, metaUserID)
		if err != nil {
			return err
		}
		for _, ev := range events {
			switch ev.Kind {
			case wire.EventMessage:
				if ev.Message == nil {
					continue
				}
				if err := upsertMessage(ctx, tx, *ev.Message); err != nil {
					return err
				}
				ch.messages = append(ch.messages, *ev.Message)
				if deliverAs != "" && ev.Message.Sender.ID != deliverAs {
					n, err := queueDeliveredTx(ctx, tx, ev.Message.ID, deliverAs, nowFunc())
					if err != nil {
						return err
					}
					ch.delivered = ch.delivered || n
				}
				ch.touch(ev.Message.Conversation)
				ch.conversations = true
			case wire.EventReceipt:
				if ev.Receipt == nil {
					continue
				}
				if err := applyReceipt(ctx, tx, me, *ev.Receipt, &ch); err != nil {
					return err
				}
				ch.touch(ev.Receipt.Conversation)
				if ev.Receipt.User == me {
					ch.conversations = true // unplayed counts
				}
			case wire.EventConversation:
				if ev.Info == nil {
					continue
				}
				joined, err := upsertConversation(ctx, tx, me, *ev.Info, ev.Added, ev.Removed)
				if err != nil {
					return err
				}
				if joined {
					ch.joined = append(ch.joined, ev.Info.ID)
				}
				ch.touch(ev.Info.ID)
				ch.conversations = true
			}
		}
		if setCursor {
			cur, err := getMeta(ctx, tx, metaCursor)
			if err != nil {
				return err
			}
			if c, _ := strconv.ParseInt(cur, 10, 64); next > c {
				if err := setMeta(ctx, tx, metaCursor, strconv.FormatInt(next, 10)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return changes{}, fmt.Errorf("apply %d events: %w", len(events), err)
	}
	return ch, nil
}

// putMessage stores one message the server sent outside an event
// (voice.live, text.sent).
func (s *Store) putMessage(ctx context.Context, m wire.Message) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return upsertMessage(ctx, tx, m) })
}

// putConversation stores a conversation the server returned.
func (s *Store) putConversation(ctx context.Context, c wire.Conversation) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		me, err := getMeta(ctx, tx, metaUserID)
		if err != nil {
			return err
		}
		_, err = upsertConversation(ctx, tx, me, c, nil, nil)
		return err
	})
}

// putMembers replaces a conversation's members with the list read from
// the server.
func (s *Store) putMembers(ctx context.Context, conversation string, users []wire.User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM members WHERE conversation = ?", conversation); err != nil {
			return fmt.Errorf("store members of %s: %w", conversation, err)
		}
		return addMembers(ctx, tx, conversation, users)
	})
}

// putUsers stores a list of users.
func (s *Store) putUsers(ctx context.Context, users []wire.User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range users {
			if err := upsertUser(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

// finishMessage records the end of a message's stream (voice.done).
func (s *Store) finishMessage(ctx context.Context, d wire.VoiceDone) (string, error) {
	if d.State == wire.StateRecording {
		return "", nil
	}
	var conv string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var wf any
		if len(d.Waveform) > 0 {
			wf = []byte(d.Waveform)
		}
		err := tx.QueryRowContext(ctx, `
			UPDATE messages SET state = ?, packets = MAX(packets, ?), duration_ms = MAX(duration_ms, ?),
				waveform = COALESCE(?, waveform)
			WHERE id = ? RETURNING conversation`, d.State, d.Packets, d.DurationMs, wf, d.Message).Scan(&conv)
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("finish message %s: %w", d.Message, err)
	}
	return conv, nil
}

// putPacketBatch caches received packets, each item's numbered from its
// first, in one transaction; packets already cached are kept.
func (s *Store) putPacketBatch(ctx context.Context, batch []cacheItem) error {
	n := 0
	// The statement is prepared once per connection (Store.prepared,
	// Tx.StmtContext), not parsed at every batch.
	insert, err := s.prepared(ctx, "INSERT OR IGNORE INTO packets (message, seq, data) VALUES (?, ?, ?)")
	if err != nil {
		return fmt.Errorf("cache %d packets of %s: %w", n, batch[0].message, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, insert)
		defer stmt.Close()
		for _, it := range batch {
			for i, p := range it.packets {
				if _, err := stmt.ExecContext(ctx, it.message, it.first+uint32(i), p); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache %d packets of %s: %w", n, batch[0].message, err)
	}
	s.packetTxs.Add(1)
	return nil
}

// applyPresence replaces the presence table (snapshot) or updates it.
func (s *Store) applyPresence(ctx context.Context, p wire.Presence, snapshot bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if snapshot {
			if _, err := tx.ExecContext(ctx, "DELETE FROM presence"); err != nil {
				return err
			}
		}
		for _, e := range p.Users {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO presence (user_id, state, conversation) VALUES (?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, conversation = excluded.conversation`,
				e.User, e.State, e.Conversation)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store presence: %w", err)
	}
	return nil
}

// clearPresence marks everyone offline (the connection is gone, so what
// the store knows is stale).
func (s *Store) clearPresence(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM presence")
	return err
}

// applyWelcome records a successful sign-in. If the server's epoch differs
// from the stored one, the server's database was replaced: everything the
// store learned from the old one is dropped, the cursor goes back to 0,
// and the outbox is kept (with its acks reset) to be sent again.
func (s *Store) applyWelcome(ctx context.Context, w wire.Welcome) (epochChanged bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getMeta(ctx, tx, metaEpoch)
		if err != nil {
			return err
		}
		if old != "" && old != w.Epoch {
			epochChanged = true
			if err := resetEpoch(ctx, tx); err != nil {
				return fmt.Errorf("reset for new epoch: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET sender = ?, sender_name = ? WHERE id IN (SELECT message FROM outbox)", w.User.ID, w.User.Name); err != nil {
			return err
		}
		for k, v := range map[string]string{
			metaEpoch: w.Epoch, metaUserID: w.User.ID, metaUserName: w.User.Name,
			metaDeviceID: w.Device.ID, metaServerID: w.ServerID, metaServerName: w.ServerName,
		} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		if w.Token != "" {
			if err := setMeta(ctx, tx, metaToken, w.Token); err != nil {
				return err
			}
		}
		return upsertUser(ctx, tx, w.User)
	})
	if err != nil {
		return false, fmt.Errorf("store welcome: %w", err)
	}
	return epochChanged, nil
}

func resetEpoch(ctx context.Context, tx *sql.Tx) error {
	stmts := []string{
		// Remember what each outbox conversation was.
		`INSERT OR REPLACE INTO remap (conversation, kind, title, lobby, members)
			SELECT c.id, c.kind, c.title, c.lobby,
				COALESCE((SELECT group_concat(u.name, char(31)) FROM members m JOIN users u ON u.id = m.user_id
					WHERE m.conversation = c.id), '')
			FROM conversations c WHERE c.id IN (SELECT conversation FROM outbox)`,
		`DELETE FROM packets WHERE message NOT IN (SELECT message FROM outbox)`,
		`DELETE FROM messages WHERE id NOT IN (SELECT message FROM outbox)`,
		`UPDATE messages SET seq = NULL`,
		`UPDATE outbox SET acked = 0`,
		`DELETE FROM receipts`,
		`DELETE FROM seen_upto`,
		`DELETE FROM outbox_receipts`,
		`DELETE FROM playback WHERE message NOT IN (SELECT id FROM messages)`,
		`DELETE FROM members`,
		`DELETE FROM conversations`,
		`DELETE FROM users`,
		`DELETE FROM presence`,
		`DELETE FROM meta WHERE key IN ('cursor', 'token')`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
	}
	return nil
}

// remapInfo describes an outbox conversation of an older epoch.
type remapInfo struct {
	Kind    wire.ConversationKind
	Title   string
	Lobby   bool
	Members []string // user names
}

func (s *Store) remapInfo(ctx context.Context, conv string) (remapInfo, bool, error) {
	var r remapInfo
	var members string
	err := s.db.QueryRowContext(ctx, "SELECT kind, title, lobby, members FROM remap WHERE conversation = ?", conv).
		Scan(&r.Kind, &r.Title, &r.Lobby, &members)
	if err == sql.ErrNoRows {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("remap of %s: %w", conv, err)
	}
	if members != "" {
		r.Members = strings.Split(members, "\x1f")
	}
	return r, true, nil
}

// hasConversation reports whether the store knows conversation id and the
// account is a member.
func (s *Store) hasConversation(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM conversations WHERE id = ? AND member = 1", id).Scan(&n)
	return n > 0, err
}

// lobbyID returns the Lobby's id, or "".
func (s *Store) lobbyID(ctx context.Context) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT id FROM conversations WHERE lobby = 1 LIMIT 1").Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}

// directWith returns the direct conversation with user id, or "".
func (s *Store) directWith(ctx context.Context, userID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `
		SELECT c.id FROM conversations c JOIN members m ON m.conversation = c.id
		WHERE c.kind = 'direct' AND c.member = 1 AND m.user_id = ? LIMIT 1`, userID).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}

// moveConversation points outbox messages of an old-epoch conversation at
// its new id.
func (s *Store) moveConversation(ctx context.Context, from, to string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"UPDATE outbox SET conversation = ? WHERE conversation = ?",
			"UPDATE messages SET conversation = ? WHERE conversation = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, to, from); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM remap WHERE conversation = ?", from)
		return err
	})
}

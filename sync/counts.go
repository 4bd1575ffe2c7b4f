package sync

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"parley/server/wire"
)

// The one definition of what still waits for this account, shared by the
// conversation counts (the badge), Message.Listened (the bubble) and the
// app's notifications, which are all read from these.
//
// A message waits (is "unplayed" for voice, "unread" for text) when it is
// from someone else, was not withdrawn by its sender (cancelled) or lost
// (failed), is not a voice message abandoned before any audio, and this
// account has not played it to the end or seen it (playback.listened, set
// by playedUpsertSQL). Own messages, from any device, never wait.
//
// m is the messages row and p its playback row; the one parameter is the
// account's user id.
const waitingSQL = `m.sender != ? AND m.state NOT IN ('cancelled', 'failed')
	AND NOT (m.kind = 'voice' AND m.state = 'abandoned' AND m.packets = 0)
	AND COALESCE(p.listened, 0) = 0`

// playedUpsertSQL records a listened position of this account (parameters:
// message, position ms, at). listened becomes 1 once the position reaches
// the message's length as known at that moment — the sender's duration, or
// the packets so far while it is live (wire.FrameDuration each) — and stays
// 1: replaying the start later does not make a message unplayed again. A
// text message has length 0, so any listened receipt means seen. A message
// the store does not hold yet counts as length 0.
const playedUpsertSQL = `
	INSERT INTO playback (message, listened, position_ms, at)
	VALUES (?1, ?2 >= COALESCE((SELECT MAX(duration_ms, packets * 20) FROM messages WHERE id = ?1), 0), ?2, ?3)
	ON CONFLICT (message) DO UPDATE SET
		listened = MAX(listened, excluded.listened),
		position_ms = excluded.position_ms, at = excluded.at`

// frameMs is wire.FrameDuration in the milliseconds playedUpsertSQL
// uses (a test holds them equal).
const frameMs = 20

// Waiting returns the messages of a conversation that wait for this
// account (see waitingSQL) of one kind, oldest first, at most limit.
func (s *Store) Waiting(ctx context.Context, conversation string, kind MessageKind, limit int) ([]string, error) {
	me, err := getMeta(ctx, s.db, metaUserID)
	if err != nil {
		return nil, fmt.Errorf("waiting messages of %s: %w", conversation, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.id FROM messages m LEFT JOIN playback p ON p.message = m.id
		WHERE m.conversation = ? AND m.kind = ? AND `+waitingSQL+` ORDER BY m.local LIMIT ?`,
		conversation, kind, me, limit)
	if err != nil {
		return nil, fmt.Errorf("waiting messages of %s: %w", conversation, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("waiting messages of %s: %w", conversation, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// MarkSeen records that this account saw every text message of a
// conversation that waits for it: at once in the store and, through the
// outbox, on the server (the senders see "seen") and the account's other
// devices. It writes one transaction and queues one receipt however many
// there are (see queueSeen), and returns how many were marked.
func (c *Client) MarkSeen(conversation string) (int, error) {
	n, err := c.store.queueSeen(c.ctx, conversation, time.Now())
	if err != nil {
		return 0, err
	}
	if n > 0 {
		c.hints.post(ConversationChanged{Conversation: conversation})
		c.hints.post(ConversationsChanged{})
		wake(c.receiptWake)
	}
	return n, nil
}

// queueSeen marks seen each text message of conversation that waits for
// this account and queues one listened receipt (position 0: seen) for the
// newest of them, in one transaction. A listened receipt on a text means
// "seen up to here" (wire.ReceiptListened): the senders' Heard and the
// account's other devices (applyReceipt) extend it to the earlier texts,
// so opening a long history costs one receipt, not one per text.
func (s *Store) queueSeen(ctx context.Context, conversation string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		me, err := getMeta(ctx, tx, metaUserID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO outbox_receipts (message, kind, position_ms, at)
			SELECT m.id, ?, 0, ? FROM messages m LEFT JOIN playback p ON p.message = m.id
			WHERE m.conversation = ? AND m.kind = 'text' AND m.seq IS NOT NULL AND `+waitingSQL+`
			ORDER BY m.seq DESC LIMIT 1
			ON CONFLICT (message, kind) DO UPDATE SET position_ms = excluded.position_ms, at = excluded.at`,
			wire.ReceiptListened, now.UnixNano(), conversation, me)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO playback (message, listened, position_ms, at)
			SELECT m.id, 1, 0, ? FROM messages m LEFT JOIN playback p ON p.message = m.id
			WHERE m.conversation = ? AND m.kind = 'text' AND `+waitingSQL+`
			ON CONFLICT (message) DO UPDATE SET listened = 1, at = excluded.at`,
			now.UnixMilli(), conversation, me)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark %s seen: %w", conversation, err)
	}
	return int(n), nil
}

package sync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/server/wire"
)

// The outbox: everything this device creates is written here, in the same
// transaction as its place in the history, before any network I/O. The
// sender goroutine drains it in creation order; a voice message's packets
// stay in the packet cache, and the outbox row remembers how many the
// server has acknowledged (acked), so a resumed send starts there. A row
// leaves the outbox only when the server confirmed the whole message.

// outboxKind is what an outbox row sends.
type outboxKind string

const (
	outboxText  outboxKind = "text"
	outboxVoice outboxKind = "voice"
)

// outboxItem is one row of the outbox.
type outboxItem struct {
	Seq          int64 // outbox order
	Message      string
	Kind         outboxKind
	Conversation string
	Pushed       uint32 // voice: packets written so far
	Acked        uint32 // voice: packets the server committed
	Ended        bool   // voice: End or Cancel was called
	Cancelled    bool   // voice: Cancel was called after packets were pushed
	DurationMs   int64
	Waveform     []byte
	Text         string
}

// ErrVoiceEnded is returned by Push after End or Cancel.
var ErrVoiceEnded = errors.New("voice message already ended")

func newMessageID() string { return ulid.Make().String() }

// createText stores a text message and queues it.
func (s *Store) createText(ctx context.Context, conversation, text string, now time.Time) (string, error) {
	if err := (&wire.TextSend{Conversation: conversation, Message: newMessageID(), Text: text}).Validate(); err != nil {
		return "", fmt.Errorf("send text: %w", err)
	}
	id := newMessageID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		me, err := s.me(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation, sender, sender_name, kind, created, state, body)
			VALUES (?, ?, ?, ?, 'text', ?, 'complete', ?)`, id, conversation, me.ID, me.Name, now.UnixMilli(), text); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (message, kind, conversation, body) VALUES (?, 'text', ?, ?)`, id, conversation, text)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("queue text in %s: %w", conversation, err)
	}
	return id, nil
}

func (s *Store) me(ctx context.Context, q queryer) (User, error) {
	id, err := getMeta(ctx, q, metaUserID)
	if err != nil {
		return User{}, err
	}
	name, err := getMeta(ctx, q, metaUserName)
	return User{ID: id, Name: name}, err
}

// createVoice stores a new voice message (recording) and queues it.
func (s *Store) createVoice(ctx context.Context, conversation string, now time.Time) (string, error) {
	id := newMessageID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		me, err := s.me(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation, sender, sender_name, kind, created, state, codec)
			VALUES (?, ?, ?, ?, 'voice', ?, 'recording', ?)`, id, conversation, me.ID, me.Name, now.UnixMilli(), wire.CodecOpus); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (message, kind, conversation) VALUES (?, 'voice', ?)`, id, conversation)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("queue voice in %s: %w", conversation, err)
	}
	return id, nil
}

// pushPacket stores packet seq of a voice message being recorded; seq must
// be the next one.
func (s *Store) pushPacket(ctx context.Context, message string, seq uint32, data []byte) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET pushed = ? WHERE message = ? AND pushed = ? AND ended = 0", seq+1, message, seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("packet %d out of order or message ended", seq)
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO packets (message, seq, data) VALUES (?, ?, ?)", message, seq, data); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE messages SET packets = ? WHERE id = ?", seq+1, message)
		return err
	})
	if err != nil {
		return fmt.Errorf("queue packet %d of %s: %w", seq, message, err)
	}
	return nil
}

// endVoice marks a voice message ended with its duration and waveform.
func (s *Store) endVoice(ctx context.Context, message string, durationMs int64, waveform []byte) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var pushed uint32
		err := tx.QueryRowContext(ctx, "UPDATE outbox SET ended = 1, duration_ms = ?, waveform = ? WHERE message = ? AND ended = 0 RETURNING pushed",
			durationMs, waveform, message).Scan(&pushed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrVoiceEnded
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE messages SET state = 'complete', duration_ms = ?, waveform = ?, packets = ? WHERE id = ?",
			durationMs, waveform, pushed, message)
		return err
	})
	if err != nil {
		return fmt.Errorf("end voice %s: %w", message, err)
	}
	return nil
}

// cancelVoice marks a voice message that already has packets as
// withdrawn: it is hidden at once and the outbox tells the server (which
// may already have played part of it live); its cached audio goes when the
// server has the withdrawal (dropPackets).
func (s *Store) cancelVoice(ctx context.Context, message string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET ended = 1, cancelled = 1 WHERE message = ? AND ended = 0", message)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrVoiceEnded
		}
		// The packets stay until the server has the withdrawal: a send
		// under way may still be reading them.
		_, err = tx.ExecContext(ctx, "UPDATE messages SET state = 'cancelled' WHERE id = ?", message)
		return err
	})
	if err != nil {
		return fmt.Errorf("cancel voice %s: %w", message, err)
	}
	return nil
}

// dropPackets deletes a message's cached packets.
func (s *Store) dropPackets(ctx context.Context, message string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM packets WHERE message = ?", message); err != nil {
		return fmt.Errorf("drop packets of %s: %w", message, err)
	}
	return nil
}

// dropVoice forgets a voice message that never got a packet.
func (s *Store) dropVoice(ctx context.Context, message string) (bool, error) {
	dropped := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE message = ? AND pushed = 0 AND ended = 0", message)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		dropped = true
		_, err = tx.ExecContext(ctx, "DELETE FROM messages WHERE id = ?", message)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("drop voice %s: %w", message, err)
	}
	return dropped, nil
}

const outboxColumns = "id, message, kind, conversation, pushed, acked, ended, duration_ms, waveform, body, cancelled"

func scanOutbox(sc interface{ Scan(...any) error }) (outboxItem, error) {
	var it outboxItem
	err := sc.Scan(&it.Seq, &it.Message, &it.Kind, &it.Conversation, &it.Pushed, &it.Acked, &it.Ended, &it.DurationMs, &it.Waveform, &it.Text, &it.Cancelled)
	return it, err
}

// nextOutbox returns the oldest outbox row.
func (s *Store) nextOutbox(ctx context.Context) (outboxItem, bool, error) {
	it, err := scanOutbox(s.db.QueryRowContext(ctx, "SELECT "+outboxColumns+" FROM outbox ORDER BY id LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return outboxItem{}, false, nil
	}
	if err != nil {
		return outboxItem{}, false, fmt.Errorf("read outbox: %w", err)
	}
	return it, true, nil
}

// outboxMessage returns the outbox row of a message.
func (s *Store) outboxMessage(ctx context.Context, message string) (outboxItem, bool, error) {
	it, err := scanOutbox(s.db.QueryRowContext(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE message = ?", message))
	if errors.Is(err, sql.ErrNoRows) {
		return outboxItem{}, false, nil
	}
	if err != nil {
		return outboxItem{}, false, fmt.Errorf("read outbox of %s: %w", message, err)
	}
	return it, true, nil
}

// ackVoice records that the server committed packets 0..upto-1.
func (s *Store) ackVoice(ctx context.Context, message string, upto uint32) error {
	_, err := s.db.ExecContext(ctx, "UPDATE outbox SET acked = MAX(acked, ?) WHERE message = ?", upto, message)
	if err != nil {
		return fmt.Errorf("ack voice %s: %w", message, err)
	}
	return nil
}

// setSeq records the server's sequence number of an outbox message.
func (s *Store) setSeq(ctx context.Context, message string, seq int64) error {
	if seq <= 0 {
		return nil
	}
	_, err := s.db.ExecContext(ctx, "UPDATE messages SET seq = ? WHERE id = ?", seq, message)
	if err != nil {
		return fmt.Errorf("number message %s: %w", message, err)
	}
	return nil
}

// completeOutbox removes a message from the outbox; m, when set, is the
// server's form of it.
func (s *Store) completeOutbox(ctx context.Context, message string, m *wire.Message) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE message = ?", message); err != nil {
			return err
		}
		if m != nil {
			return upsertMessage(ctx, tx, *m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete outbox %s: %w", message, err)
	}
	return nil
}

// failOutbox removes a message the server refused for good from the
// outbox and marks it failed (or, when the server abandoned it, with
// that state).
func (s *Store) failOutbox(ctx context.Context, message string, state MessageState) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE message = ?", message); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE messages SET state = ? WHERE id = ?", state, message)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail outbox %s: %w", message, err)
	}
	return nil
}

// receiptItem is one queued receipt.
type receiptItem struct {
	Message    string
	Kind       wire.ReceiptKind
	PositionMs int64
	At         int64
}

// queueReceipt queues a receipt (replacing an unsent one of the same kind)
// and, for listened, sets the playback state at once.
func (s *Store) queueReceipt(ctx context.Context, message string, kind wire.ReceiptKind, positionMs int64, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox_receipts (message, kind, position_ms, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (message, kind) DO UPDATE SET position_ms = excluded.position_ms, at = excluded.at`,
			message, kind, positionMs, now.UnixNano())
		if err != nil || kind != wire.ReceiptListened {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO playback (message, listened, position_ms, at) VALUES (?, 1, ?, ?)
			ON CONFLICT (message) DO UPDATE SET listened = 1, position_ms = excluded.position_ms, at = excluded.at`,
			message, positionMs, now.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("queue %s receipt of %s: %w", kind, message, err)
	}
	return nil
}

// queuedReceipts returns up to limit queued receipts, oldest first.
func (s *Store) queuedReceipts(ctx context.Context, limit int) ([]receiptItem, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT message, kind, position_ms, at FROM outbox_receipts ORDER BY at LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("read queued receipts: %w", err)
	}
	defer rows.Close()
	var rs []receiptItem
	for rows.Next() {
		var r receiptItem
		if err := rows.Scan(&r.Message, &r.Kind, &r.PositionMs, &r.At); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// receiptSent removes a sent receipt unless a newer one replaced it.
func (s *Store) receiptSent(ctx context.Context, r receiptItem) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM outbox_receipts WHERE message = ? AND kind = ? AND at = ?", r.Message, r.Kind, r.At)
	if err != nil {
		return fmt.Errorf("dequeue receipt of %s: %w", r.Message, err)
	}
	return nil
}

// messageConversation returns the conversation of a cached message.
func (s *Store) messageConversation(ctx context.Context, message string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, "SELECT conversation FROM messages WHERE id = ?", message).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("message %s: %w", message, ErrNotFound)
	}
	return c, err
}

// nowFunc is the store's clock.
var nowFunc = time.Now

// queueDeliveredTx queues a delivered receipt for a message unless the
// account already sent or queued one. It reports whether it queued.
func queueDeliveredTx(ctx context.Context, tx *sql.Tx, message, me string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox_receipts (message, kind, position_ms, at)
		SELECT ?, 'delivered', 0, ? WHERE NOT EXISTS (
			SELECT 1 FROM receipts WHERE message = ? AND user_id = ? AND kind = 'delivered')
		ON CONFLICT (message, kind) DO NOTHING`, message, now.UnixNano(), message, me)
	if err != nil {
		return false, fmt.Errorf("queue delivered receipt of %s: %w", message, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// queueDelivered queues a delivered receipt unless one was sent already.
func (s *Store) queueDelivered(ctx context.Context, message, me string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := queueDeliveredTx(ctx, tx, message, me, now)
		return err
	})
}

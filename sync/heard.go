package sync

import (
	"context"
	"fmt"
	"math"
	"slices"

	"parley/server/wire"
)

// Heard is who has one of this account's messages: Delivered names the
// members whose device received it, Heard those who played it to the end
// (voice) or saw it (text) — the same rule as playedUpsertSQL, applied to
// their receipts. Heard members are in Delivered too; Others counts the
// conversation's other members, who could have it.
type Heard struct {
	Delivered []string
	Heard     []string
	Others    int
}

// Heard returns, for this account's messages in a conversation (only
// message when it is not ""), who received and who heard each, by name in
// receipt order. A listened receipt on a text is "seen up to here": it
// counts for the member's earlier texts of the conversation too.
func (s *Store) Heard(ctx context.Context, conversation, message string) (map[string]Heard, error) {
	return s.heard(ctx, conversation, message, 0, math.MaxInt64)
}

// heard is Heard for the messages numbered fromSeq to toSeq (a page;
// pending messages have no receipts yet).
func (s *Store) heard(ctx context.Context, conversation, message string, fromSeq, toSeq int64) (map[string]Heard, error) {
	me, err := getMeta(ctx, s.db, metaUserID)
	if err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", conversation, err)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.message, r.kind, COALESCE(u.name, r.user_id),
			r.position_ms >= MAX(m.duration_ms, m.packets * `+fmt.Sprint(frameMs)+`)
		FROM messages m JOIN receipts r ON r.message = m.id
		LEFT JOIN users u ON u.id = r.user_id
		WHERE m.conversation = ? AND m.seq BETWEEN ? AND ? AND m.sender = ? AND r.user_id != ? AND (? = '' OR m.id = ?)
		ORDER BY r.at, r.user_id`, conversation, fromSeq, toSeq, me, me, message, message)
	if err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", conversation, err)
	}
	defer rows.Close()
	out := map[string]Heard{}
	for rows.Next() {
		var id, kind, name string
		var toEnd bool
		if err := rows.Scan(&id, &kind, &name, &toEnd); err != nil {
			return nil, fmt.Errorf("receipts of %s: %w", conversation, err)
		}
		h := out[id]
		h.add(name, kind == string(wire.ReceiptListened) && toEnd)
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", conversation, err)
	}
	// Seen up to: each member's newest seen text (seen_upto) covers this
	// account's texts before it.
	seen, err := s.db.QueryContext(ctx, `
		SELECT m.id, COALESCE(u.name, v.user_id)
		FROM messages m JOIN seen_upto v ON v.conversation = m.conversation AND v.seq > m.seq AND v.user_id != ?
		LEFT JOIN users u ON u.id = v.user_id
		WHERE m.conversation = ? AND m.seq BETWEEN ? AND ? AND m.kind = 'text' AND m.sender = ? AND (? = '' OR m.id = ?)
		ORDER BY v.at, v.user_id`, me, conversation, fromSeq, toSeq, me, message, message)
	if err != nil {
		return nil, fmt.Errorf("texts seen in %s: %w", conversation, err)
	}
	defer seen.Close()
	for seen.Next() {
		var id, name string
		if err := seen.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("texts seen in %s: %w", conversation, err)
		}
		h := out[id]
		h.add(name, true)
		out[id] = h
	}
	return out, seen.Err()
}

// add records that name has the message, and heard (or saw) it.
func (h *Heard) add(name string, heard bool) {
	if !slices.Contains(h.Delivered, name) {
		h.Delivered = append(h.Delivered, name)
	}
	if heard && !slices.Contains(h.Heard, name) {
		h.Heard = append(h.Heard, name)
	}
}

// fillReceipts sets Receipts on this account's messages in ms, all of
// conversation (only message when it is not "").
func (s *Store) fillReceipts(ctx context.Context, conversation, message string, ms []Message) error {
	if !slices.ContainsFunc(ms, func(m Message) bool { return m.Mine }) {
		return nil
	}
	var from, to int64 // the page's numbered messages: its receipts only
	for _, m := range ms {
		if m.Seq > 0 && (from == 0 || m.Seq < from) {
			from = m.Seq
		}
		to = max(to, m.Seq)
	}
	heard, err := s.heard(ctx, conversation, message, from, to)
	if err != nil {
		return err
	}
	var members int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM members WHERE conversation = ?", conversation).Scan(&members); err != nil {
		return fmt.Errorf("members of %s: %w", conversation, err)
	}
	for i := range ms {
		if ms[i].Mine {
			h := heard[ms[i].ID]
			h.Others = max(members-1, 0)
			ms[i].Receipts = h
		}
	}
	return nil
}

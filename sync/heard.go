package sync

import (
	"context"
	"fmt"
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
// receipt order.
func (s *Store) Heard(ctx context.Context, conversation, message string) (map[string]Heard, error) {
	me, err := getMeta(ctx, s.db, metaUserID)
	if err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", conversation, err)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.message, r.kind, COALESCE(u.name, r.user_id),
			r.position_ms >= MAX(m.duration_ms, m.packets * `+fmt.Sprint(frameMs)+`)
		FROM receipts r JOIN messages m ON m.id = r.message
		LEFT JOIN users u ON u.id = r.user_id
		WHERE m.conversation = ? AND m.sender = ? AND r.user_id != ? AND (? = '' OR m.id = ?)
		ORDER BY r.at, r.user_id`, conversation, me, me, message, message)
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
		if !slices.Contains(h.Delivered, name) {
			h.Delivered = append(h.Delivered, name)
		}
		if kind == string(wire.ReceiptListened) && toEnd && !slices.Contains(h.Heard, name) {
			h.Heard = append(h.Heard, name)
		}
		out[id] = h
	}
	return out, rows.Err()
}

// fillReceipts sets Receipts on this account's messages in ms, all of
// conversation (only message when it is not "").
func (s *Store) fillReceipts(ctx context.Context, conversation, message string, ms []Message) error {
	if !slices.ContainsFunc(ms, func(m Message) bool { return m.Mine }) {
		return nil
	}
	heard, err := s.Heard(ctx, conversation, message)
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

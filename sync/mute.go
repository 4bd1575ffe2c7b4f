package sync

import (
	"context"
	"fmt"
	"time"
)

// SetMuted mutes or unmutes a conversation for this account on this
// device (migrations/006_muted.sql). Muting twice, or unmuting a
// conversation that is not muted, is not an error.
func (s *Store) SetMuted(ctx context.Context, conversation string, muted bool) error {
	var err error
	if muted {
		_, err = s.db.ExecContext(ctx, "INSERT OR IGNORE INTO muted (conversation, at) VALUES (?, ?)", conversation, time.Now().UnixMilli())
	} else {
		_, err = s.db.ExecContext(ctx, "DELETE FROM muted WHERE conversation = ?", conversation)
	}
	if err != nil {
		return fmt.Errorf("set muted %s to %v: %w", conversation, muted, err)
	}
	return nil
}

// Muted returns the muted conversations.
func (s *Store) Muted(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT conversation FROM muted")
	if err != nil {
		return nil, fmt.Errorf("muted conversations: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("muted conversations: %w", err)
		}
		set[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("muted conversations: %w", err)
	}
	return set, nil
}

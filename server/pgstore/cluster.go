package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/server"
	"parley/server/wire"
)

// EnsureLobby creates the Lobby unless one exists and returns its id;
// nodes that call it at once make one (a unique index on lobby).
func (s *Store) EnsureLobby(ctx context.Context, id string, created time.Time) (string, error) {
	var lobby string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO conversations (id, kind, title, lobby, created) VALUES ($1, $2, 'Lobby', true, $3)
			ON CONFLICT (lobby) WHERE lobby DO NOTHING`, id, wire.ConversationGroup, created.UnixMilli()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM conversations WHERE lobby`).Scan(&lobby)
	})
	if err != nil {
		return "", fmt.Errorf("ensure lobby: %w", err)
	}
	return lobby, nil
}

// ClaimRecording gives node the lease on a recording message until
// until if nobody else holds a running one (or force), and reports
// whether node holds it. The message row is locked for the decision, so
// two nodes claiming at once are serialised.
func (s *Store) ClaimRecording(ctx context.Context, id, node string, now, until time.Time, force bool) (bool, error) {
	held := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var state wire.MessageState
		err := tx.QueryRow(ctx, `SELECT state FROM messages WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && state != wire.StateRecording) {
			return server.ErrNotFound
		}
		if err != nil {
			return err
		}
		var holder string
		var end int64
		err = tx.QueryRow(ctx, `SELECT node, until FROM recording_leases WHERE message_id = $1`, id).Scan(&holder, &end)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case holder != node && end >= now.UnixMilli() && !force:
			return nil // another node's, still running
		}
		held = true
		_, err = tx.Exec(ctx, `INSERT INTO recording_leases (message_id, node, until) VALUES ($1, $2, $3)
			ON CONFLICT (message_id) DO UPDATE SET node = excluded.node, until = excluded.until`, id, node, until.UnixMilli())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim recording %s for %s: %w", id, node, err)
	}
	return held, nil
}

// DeletePackets removes every packet of a message (it was withdrawn).
func (s *Store) DeletePackets(ctx context.Context, messageID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM packets WHERE message_id = $1`, messageID); err != nil {
		return fmt.Errorf("delete packets of %s: %w", messageID, err)
	}
	return nil
}

package server

import (
	"context"
	"fmt"

	"parley/server/wire"
)

// publishEvent runs change (a store call that appends at most one event)
// and publishes its event to the conversation's members, all under
// eventMu: on one node events are then published in cursor order and the
// nodes' eventOrder rarely has to wait (across nodes it puts them in
// order). extra
// names users to tell besides the members (a user who just left).
func (srv *Server) publishEvent(ctx context.Context, change func() (*wire.Event, error), extra ...string) error {
	srv.eventMu.Lock()
	defer srv.eventMu.Unlock()
	ev, err := change()
	if err != nil {
		return err
	}
	if ev == nil {
		return nil
	}
	return srv.publishLocked(ctx, *ev, extra...)
}

// withEvents is publishEvent for a change that appends several events.
func (srv *Server) withEvents(change func() ([]wire.Event, error)) error {
	srv.eventMu.Lock()
	defer srv.eventMu.Unlock()
	events, err := change()
	if err != nil {
		return err
	}
	for _, ev := range events {
		if err := srv.publishLocked(context.Background(), ev); err != nil {
			return err
		}
	}
	return nil
}

// publishLocked hands a stored event to the broker for its recipients.
// An event that fails to reach the broker is still stored: every node
// reads it from the store when the next one arrives (eventOrder), and
// clients find it with sync.
//
// A Lobby event goes to everyone (Event.Everyone): reading and naming its
// members would cost every Lobby message and receipt as much as there are
// users.
func (srv *Server) publishLocked(ctx context.Context, ev wire.Event, extra ...string) error {
	frame, err := wire.Marshal(wire.TypeEvent, "", ev)
	if err != nil {
		return fmt.Errorf("publish event %d: %w", ev.Cursor, err)
	}
	out := Event{Cursor: ev.Cursor, Conversation: ev.Conversation, Everyone: ev.Conversation == srv.lobbyID, Data: frame}
	if !out.Everyone {
		if out.Users, err = srv.store.MemberIDs(ctx, ev.Conversation); err != nil {
			return fmt.Errorf("publish event %d: %w", ev.Cursor, err)
		}
		if ev.Kind == wire.EventConversation && ev.Info != nil {
			// Someone who just left sees the event that removed them.
			out.Users = append(out.Users, extra...)
		}
	}
	if err := srv.broker.PublishEvent(ctx, out); err != nil {
		return fmt.Errorf("publish event %d: %w", ev.Cursor, err)
	}
	return nil
}

// createMessage stores a new message and publishes it. A message id that
// exists already returns the stored message if it is the same sender's in
// the same conversation and of the same kind (a resend), and a conflict
// otherwise.
func (srv *Server) createMessage(ctx context.Context, m wire.Message) (wire.Message, error) {
	var stored wire.Message
	err := srv.publishEvent(ctx, func() (*wire.Event, error) {
		var ev *wire.Event
		var err error
		stored, ev, err = srv.store.CreateMessage(ctx, m)
		return ev, err
	})
	if err != nil {
		return stored, err
	}
	if stored.Sender.ID != m.Sender.ID || stored.Conversation != m.Conversation || stored.Kind != m.Kind {
		return stored, wire.Errorf(wire.CodeConflict, "message id %s is taken", m.ID)
	}
	return stored, nil
}

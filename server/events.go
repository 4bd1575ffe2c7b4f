package server

import (
	"context"
	"errors"
	"fmt"

	"parley/server/wire"
)

// publishEvent runs change (a store call that appends at most one event)
// and publishes its event to the conversation's members, all under
// eventMu so that every connection receives events in cursor order. extra
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

func (srv *Server) publishLocked(ctx context.Context, ev wire.Event, extra ...string) error {
	members, err := srv.store.MemberIDs(ctx, ev.Conversation)
	if err != nil {
		return fmt.Errorf("publish event %d: %w", ev.Cursor, err)
	}
	if ev.Kind == wire.EventConversation && ev.Info != nil {
		// Someone who just left sees the event that removed them.
		members = append(members, extra...)
	}
	frame, err := wire.Marshal(wire.TypeEvent, "", ev)
	if err != nil {
		return err
	}
	srv.broker.Publish(members, frame, nil)
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

// join registers an authenticated session for fan-out and presence.
func (srv *Server) join(s *session) {
	srv.broker.Join(s)
	if srv.broker.Count(s.user.ID) == 1 {
		srv.publishPresence(srv.broker.Online(), wire.PresenceEntry{User: s.user.ID, State: wire.PresenceOnline}, s)
	}
	// The snapshot: everyone online, and who is talking where s may see;
	// in as many frames as it takes (wire.Presence).
	entries := []wire.PresenceEntry{}
	talking := srv.talkingSnapshot()
	for _, id := range srv.broker.Online() {
		e := wire.PresenceEntry{User: id, State: wire.PresenceOnline}
		if conv, ok := talking[id]; ok {
			if member, err := srv.store.IsMember(s.ctx, conv, s.user.ID); err == nil && member {
				e = wire.PresenceEntry{User: id, State: wire.PresenceTalking, Conversation: conv}
			}
		}
		entries = append(entries, e)
	}
	for from, more := 0, true; more; {
		var page []wire.PresenceEntry
		var err error
		if page, from, more, err = pageOf(entries, from); err != nil {
			srv.log.Error("presence snapshot", "err", err)
			break
		}
		s.reply(wire.TypePresence, "", wire.Presence{Users: page})
	}
	srv.announceToLateJoiner(s)
}

// announceToLateJoiner makes a device that connects while voice messages
// are being recorded in its conversations a live listener of them, from
// the packet they have reached.
func (srv *Server) announceToLateJoiner(s *session) {
	srv.liveMu.Lock()
	live := make([]*liveMessage, 0, len(srv.live))
	for _, m := range srv.live {
		live = append(live, m)
	}
	srv.liveMu.Unlock()
	for _, m := range live {
		m.mu.Lock()
		conv, senderDevice := m.msg.Conversation, ""
		if m.sender != nil {
			senderDevice = m.sender.device.ID
		}
		m.mu.Unlock()
		if senderDevice == s.device.ID {
			continue // its own message, which it is resuming
		}
		if ok, err := srv.store.IsMember(s.ctx, conv, s.user.ID); err != nil || !ok {
			continue
		}
		m.mu.Lock()
		if !m.ending && !m.finished {
			from := uint32(len(m.packets))
			if b, err := wire.Marshal(wire.TypeVoiceLive, "", wire.VoiceLive{Message: m.msg, Stream: m.stream, From: from}); err == nil {
				m.listeners = append(m.listeners, s)
				s.Deliver(false, b)
			}
		}
		m.mu.Unlock()
	}
}

// leave unregisters a session that ended.
func (srv *Server) leave(s *session) {
	srv.broker.Leave(s)
	s.mu.Lock()
	streams := make([]*liveMessage, 0, len(s.streams))
	for _, m := range s.streams {
		streams = append(streams, m)
	}
	s.mu.Unlock()
	for _, m := range streams {
		m.mu.Lock()
		if m.sender == s {
			m.sender = nil
		}
		m.mu.Unlock()
	}
	if srv.broker.Count(s.user.ID) == 0 {
		srv.publishPresence(srv.broker.Online(), wire.PresenceEntry{User: s.user.ID, State: wire.PresenceOffline}, nil)
	}
}

func (srv *Server) publishPresence(users []string, e wire.PresenceEntry, except Subscriber) {
	frame, err := wire.Marshal(wire.TypePresence, "", wire.Presence{Users: []wire.PresenceEntry{e}})
	if err != nil {
		return
	}
	srv.broker.Publish(users, frame, except)
}

func (srv *Server) talkingSnapshot() map[string]string {
	srv.talkMu.Lock()
	defer srv.talkMu.Unlock()
	out := make(map[string]string, len(srv.talking))
	for u, c := range srv.talking {
		out[u] = c
	}
	return out
}

// setTalking records that user started or stopped talking in a
// conversation and tells the conversation's members.
func (srv *Server) setTalking(userID, conversationID string, talking bool) {
	srv.talkMu.Lock()
	if talking {
		srv.talking[userID] = conversationID
	} else if srv.talking[userID] == conversationID {
		delete(srv.talking, userID)
	} else {
		srv.talkMu.Unlock()
		return
	}
	srv.talkMu.Unlock()
	members, err := srv.store.MemberIDs(context.Background(), conversationID)
	if err != nil && !errors.Is(err, context.Canceled) {
		srv.log.Error("presence", "conversation", conversationID, "err", err)
		return
	}
	e := wire.PresenceEntry{User: userID, State: wire.PresenceTalking, Conversation: conversationID}
	if !talking {
		e = wire.PresenceEntry{User: userID, State: wire.PresenceOnline}
		if srv.broker.Count(userID) == 0 {
			e.State = wire.PresenceOffline
		}
	}
	srv.publishPresence(members, e, nil)
}

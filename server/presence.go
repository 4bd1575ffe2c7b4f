package server

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"

	"parley/server/wire"
)

// Presence knows who is online and who is talking where, across every
// node of a cluster. The embedded one (memPresence) counts this process's
// connections; an engine that spans nodes (a key-value store with
// per-node leases, say) must also forget the connections of a node that
// died. Presence stores state only: the server tells members about
// changes through the Broker.
//
// A Presence is safe for concurrent use.
type Presence interface {
	// Connect records connection conn (unique in the cluster) of user. It
	// reports whether the user had no connection anywhere before.
	Connect(ctx context.Context, user, conn string) (first bool, err error)
	// Disconnect forgets connection conn of user. It reports whether the
	// user has no connection left anywhere.
	Disconnect(ctx context.Context, user, conn string) (last bool, err error)
	// Online returns the users with at least one connection anywhere.
	Online(ctx context.Context) ([]string, error)
	// IsOnline reports whether user has a connection anywhere.
	IsOnline(ctx context.Context, user string) (bool, error)
	// SetTalking records that user talks in conversation (talking true)
	// or has stopped talking there (false; a stop for another
	// conversation than the one recorded changes nothing). It reports
	// whether the state changed.
	SetTalking(ctx context.Context, user, conversation string, talking bool) (changed bool, err error)
	// Talking returns user -> conversation for everyone talking.
	Talking(ctx context.Context) (map[string]string, error)
}

// memPresence is the embedded Presence: in-process maps.
type memPresence struct {
	mu      gosync.Mutex
	conns   map[string]map[string]struct{} // user -> connections
	talking map[string]string              // user -> conversation
}

func newMemPresence() *memPresence {
	return &memPresence{conns: make(map[string]map[string]struct{}), talking: make(map[string]string)}
}

func (p *memPresence) Connect(_ context.Context, user, conn string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.conns[user]
	if set == nil {
		set = make(map[string]struct{})
		p.conns[user] = set
	}
	set[conn] = struct{}{}
	return len(set) == 1, nil
}

func (p *memPresence) Disconnect(_ context.Context, user, conn string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set, ok := p.conns[user]
	if !ok {
		return true, nil
	}
	delete(set, conn)
	if len(set) == 0 {
		delete(p.conns, user)
		return true, nil
	}
	return false, nil
}

func (p *memPresence) Online(context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.conns))
	for id := range p.conns {
		ids = append(ids, id)
	}
	return ids, nil
}

func (p *memPresence) IsOnline(_ context.Context, user string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns[user]) > 0, nil
}

func (p *memPresence) SetTalking(_ context.Context, user, conversation string, talking bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case talking:
		if p.talking[user] == conversation {
			return false, nil
		}
		p.talking[user] = conversation
	case p.talking[user] == conversation:
		delete(p.talking, user)
	default:
		return false, nil
	}
	return true, nil
}

func (p *memPresence) Talking(context.Context) (map[string]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.talking))
	for u, c := range p.talking {
		out[u] = c
	}
	return out, nil
}

// join registers an authenticated session on this node and in presence,
// tells everyone that its user came online (if it is their first
// connection) and gives it the presence snapshot and the live messages
// it may listen to.
//
// Presence costs what changes, not who is online: a change is one entry
// for the user who changed, published once (to everyone for online and
// offline: every user shares the Lobby with every other, so everyone is
// a member who shares a conversation; to the conversation's members for
// talking), and each session's writer merges the changes that wait for
// it into as few frames as fit. The snapshot is merged the same way, so
// a change that reached the session before it is not undone by it.
func (srv *Server) join(s *session) {
	srv.local.add(s)
	ctx := s.ctx
	first, err := srv.presence.Connect(ctx, s.user.ID, s.connID)
	if err != nil {
		srv.log.Error("presence connect", "user", s.user.ID, "err", err)
	}
	if first {
		srv.publishPresence(ctx, nil, wire.PresenceEntry{User: s.user.ID, State: wire.PresenceOnline}, s.device.ID)
	}
	online, err := srv.presence.Online(ctx)
	if err != nil {
		srv.log.Error("presence online", "err", err)
	}
	// The snapshot: everyone online, and who is talking where s may see.
	talking, err := srv.presence.Talking(ctx)
	if err != nil {
		srv.log.Error("presence talking", "err", err)
	}
	entries := make([]wire.PresenceEntry, 0, len(online)+1)
	entries = append(entries, wire.PresenceEntry{User: s.user.ID, State: wire.PresenceOnline})
	for _, id := range online {
		e := wire.PresenceEntry{User: id, State: wire.PresenceOnline}
		if conv, ok := talking[id]; ok {
			if member, err := srv.store.IsMember(ctx, conv, s.user.ID); err == nil && member {
				e = wire.PresenceEntry{User: id, State: wire.PresenceTalking, Conversation: conv}
			}
		}
		if id == s.user.ID {
			entries[0] = e
			continue
		}
		entries = append(entries, e)
	}
	s.presenceSnapshot(entries)
	srv.announceToLateJoiner(s)
}

// leave unregisters a session that ended.
func (srv *Server) leave(s *session) {
	srv.local.remove(s)
	srv.forgetSender(s)
	ctx := context.Background()
	last, err := srv.presence.Disconnect(ctx, s.user.ID, s.connID)
	if err != nil {
		srv.log.Error("presence disconnect", "user", s.user.ID, "err", err)
		return
	}
	if last {
		srv.publishPresence(ctx, nil, wire.PresenceEntry{User: s.user.ID, State: wire.PresenceOffline}, "")
	}
}

// publishPresence tells the devices of users (nil: of everyone) except
// exceptDevice about one presence change.
func (srv *Server) publishPresence(ctx context.Context, users []string, e wire.PresenceEntry, exceptDevice string) {
	f := Frame{Users: users, Everyone: users == nil, ExceptDevice: exceptDevice, Presence: []wire.PresenceEntry{e}}
	if err := srv.broker.PublishFrame(ctx, f); err != nil {
		srv.log.Error("publish presence", "user", e.User, "state", e.State, "err", err)
	}
}

// setTalking records that user started or stopped talking in a
// conversation and tells the conversation's members (everyone, for the
// Lobby).
func (srv *Server) setTalking(userID, conversationID string, talking bool) {
	ctx := context.Background()
	changed, err := srv.presence.SetTalking(ctx, userID, conversationID, talking)
	if err != nil {
		srv.log.Error("presence talking", "user", userID, "err", err)
		return
	}
	if !changed && !talking {
		return
	}
	// A start is told again even when it changes nothing: a sender who
	// resumes after a reconnect is talking again.
	var members []string
	if conversationID != srv.lobbyID {
		if members, err = srv.store.MemberIDs(ctx, conversationID); err != nil {
			if !errors.Is(err, context.Canceled) {
				srv.log.Error("presence", "conversation", conversationID, "err", err)
			}
			return
		}
		if members == nil {
			members = []string{} // nobody, not everyone
		}
	}
	e := wire.PresenceEntry{User: userID, State: wire.PresenceTalking, Conversation: conversationID}
	if !talking {
		e = wire.PresenceEntry{User: userID, State: wire.PresenceOnline}
		if online, err := srv.presence.IsOnline(ctx, userID); err != nil {
			srv.log.Error("presence", "user", userID, "err", fmt.Errorf("is online: %w", err))
		} else if !online {
			e.State = wire.PresenceOffline
		}
	}
	srv.publishPresence(ctx, members, e, "")
}

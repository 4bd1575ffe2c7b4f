package server

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	"parley/server/wire"
)

// Ownership of a recording (who may move it between nodes): the node the
// sender is connected to owns the live message. It holds the message's
// lease in the MetaStore (MetaStore.ClaimRecording), receives the
// packets, publishes them through the broker, commits them, acks the
// sender and finishes the message. A sender who reconnects to another
// node sends voice.start again; that node takes the lease (force: the
// sender is there now), loads what was committed from the store and
// answers with the upto to resume from. The node that lost the lease
// notices when it renews (janitor) and forgets its state. A node never
// abandons a recording whose lease it does not hold; one whose owner
// died is picked up by the janitor of the first node to find its lease
// run out.

// errNotOwner says another node holds a recording's lease.
var errNotOwner = errors.New("recording is held by another node")

// liveMessage is a voice message being recorded on this node (the
// owner's side). It counts the packets received so far (contiguous from
// 0; later ones wait in pending), publishes each new packet through the
// broker as soon as it is contiguous (every node's liveView fans it out to
// its listeners and fetch tails), and queues it for the committer, which
// acks the sender once the packet is durable.
//
// Lock order: pushMu before mu. pushMu serializes pushes (and the end of
// the message) so that packets are published and reach the commit queue
// in order; it is held across the publish and the blocking send to that
// queue. mu guards the fields and is never held across blocking work.
type liveMessage struct {
	srv *Server
	id  string

	pushMu gosync.Mutex

	mu           gosync.Mutex
	msg          wire.Message
	have         uint32            // packets received from 0 without a gap
	pending      map[uint32][]byte // out-of-order packets, at most MaxPacketsAhead past have
	pendingBytes int               // their bytes, reserved in srv.pending
	committed    uint32
	sender       *session
	lastActivity time.Time
	ending       bool // no more packets: an end job is queued
	finished     bool
	waiters      []endWaiter
}

// endWaiter is a voice.end request waiting for the message to finish.
type endWaiter struct {
	s  *session
	id string
}

// push adds packet n from sender s.
func (m *liveMessage) push(s *session, n uint32, data []byte) error {
	m.pushMu.Lock()
	defer m.pushMu.Unlock()

	m.mu.Lock()
	if m.ending || m.finished {
		m.mu.Unlock()
		return wire.Errorf(wire.CodeMessageClosed, "message %s takes no more packets", m.id)
	}
	m.lastActivity = m.srv.now()
	m.sender = s
	have := m.have
	switch {
	case n < have: // a resend of a packet we have
		m.mu.Unlock()
		return nil
	case n > have:
		// Out of order: hold it until the gap before it is filled, within
		// the window and the user's budget.
		if n-have > wire.MaxPacketsAhead {
			m.mu.Unlock()
			return wire.Errorf(wire.CodePacketGap, "packet %d of %s is more than %d past the missing packet %d; resend from %d", n, m.id, wire.MaxPacketsAhead, have, have)
		}
		if _, dup := m.pending[n]; dup {
			m.mu.Unlock()
			return nil
		}
		if !m.srv.pending.reserve(m.msg.Sender.ID, len(data)) {
			m.mu.Unlock()
			return wire.Errorf(wire.CodePacketGap, "%d bytes of your packets already wait behind gaps; resend %s from %d", wire.MaxPendingBytes, m.id, have)
		}
		m.pending[n] = data
		m.pendingBytes += len(data)
		m.mu.Unlock()
		return nil
	}
	first := n
	fresh := [][]byte{data}
	freed := 0
	for {
		p, ok := m.pending[first+uint32(len(fresh))]
		if !ok {
			break
		}
		delete(m.pending, first+uint32(len(fresh)))
		fresh = append(fresh, p)
		freed += len(p)
	}
	m.have += uint32(len(fresh))
	if freed > 0 {
		m.pendingBytes -= freed
		m.srv.pending.release(m.msg.Sender.ID, freed)
	}
	conv := m.msg.Conversation
	m.mu.Unlock()

	for i, p := range fresh {
		number := first + uint32(i)
		err := m.srv.broker.PublishLive(context.Background(), Live{Kind: LivePacket, Conversation: conv, Message: m.id, Number: number, Data: p})
		if err != nil {
			// Listeners miss it live; it is committed and fetchable.
			m.srv.log.Error("publish live packet", "message", m.id, "packet", number, "err", err)
		}
		m.srv.commits <- commitJob{m: m, number: number, data: p}
	}
	return nil
}

// end asks to finish the message with the sender's final count. The
// answer goes to s when the committer has finished the message.
func (m *liveMessage) end(s *session, id string, req wire.VoiceEnd) error {
	m.pushMu.Lock()
	defer m.pushMu.Unlock()
	m.mu.Lock()
	if m.finished {
		m.mu.Unlock()
		return m.srv.answerFinished(s, id, m.id)
	}
	have := m.have
	if req.Cancel {
		m.waiters = append(m.waiters, endWaiter{s: s, id: id})
		if m.ending {
			m.mu.Unlock()
			return nil
		}
		m.ending = true
		m.mu.Unlock()
		m.srv.commits <- commitJob{m: m, end: &endJob{state: wire.StateCancelled}}
		return nil
	}
	if have < req.Packets {
		m.mu.Unlock()
		return wire.Errorf(wire.CodeIncomplete, "message %s has %d of %d packets; resend from the last ack", m.id, have, req.Packets)
	}
	if have > req.Packets {
		m.mu.Unlock()
		return wire.Errorf(wire.CodeMismatch, "message %s has %d packets stored, not %d", m.id, have, req.Packets)
	}
	m.waiters = append(m.waiters, endWaiter{s: s, id: id})
	if m.ending {
		m.mu.Unlock()
		return nil
	}
	m.ending = true
	m.mu.Unlock()
	m.srv.commits <- commitJob{m: m, end: &endJob{state: wire.StateComplete, packets: have, durationMs: req.DurationMs, waveform: req.Waveform}}
	return nil
}

// abandonIfSilent queues the end of a message whose sender has been
// silent for longer than AbandonAfter.
func (m *liveMessage) abandonIfSilent(now time.Time) {
	m.pushMu.Lock()
	defer m.pushMu.Unlock()
	m.mu.Lock()
	if m.ending || m.finished || now.Sub(m.lastActivity) < m.srv.cfg.AbandonAfter {
		m.mu.Unlock()
		return
	}
	m.ending = true
	m.mu.Unlock()
	m.srv.log.Info("abandoning silent voice message", "message", m.id)
	m.srv.commits <- commitJob{m: m, end: &endJob{state: wire.StateAbandoned}}
}

// senderDevice is the device of the session sending the message now
// ("" while none is).
func (m *liveMessage) senderDevice() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sender == nil {
		return ""
	}
	return m.sender.device.ID
}

// isEnding reports whether the message takes no more packets.
func (m *liveMessage) isEnding() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ending || m.finished
}

// leaseTTL is how long a recording's lease lasts: three janitor periods,
// so an owner that renews every period keeps it through one missed
// renewal.
func (srv *Server) leaseTTL() time.Duration { return 3 * srv.janitorPeriod() }

// liveFor returns this node's live state of a recording message, taking
// its lease (force: its sender is connected here) and loading what was
// committed if the node has not been receiving it. errNotOwner if another
// node holds the lease and force is not set. fresh reports whether the
// state was made now.
func (srv *Server) liveFor(ctx context.Context, msg wire.Message, force bool) (m *liveMessage, fresh bool, err error) {
	srv.liveMu.Lock()
	m = srv.live[msg.ID]
	srv.liveMu.Unlock()
	if m != nil {
		return m, false, nil
	}
	now := srv.now()
	held, err := srv.store.ClaimRecording(ctx, msg.ID, srv.nodeID, now, now.Add(srv.leaseTTL()), force)
	if err != nil {
		return nil, false, err
	}
	if !held {
		return nil, false, errNotOwner
	}
	// The database reads run before liveMu is taken; two callers that
	// race here both read, and the first to insert wins.
	committed, err := srv.packets.PacketCount(ctx, msg.ID)
	if err != nil {
		return nil, false, err
	}
	if _, err := srv.viewFor(ctx, msg); err != nil {
		return nil, false, err
	}
	m = &liveMessage{
		srv: srv, id: msg.ID, msg: msg, have: committed, committed: committed,
		pending: make(map[uint32][]byte), lastActivity: now,
	}
	srv.liveMu.Lock()
	defer srv.liveMu.Unlock()
	if existing := srv.live[msg.ID]; existing != nil {
		return existing, false, nil
	}
	srv.live[msg.ID] = m
	return m, true, nil
}

// forgetLive drops this node's state of a recording it no longer owns
// (another node took the lease): its pending packets are released, its
// sender's streams forgotten (later packets meet stream_unknown and the
// client reconnects), its voice.end waiters told to retry.
func (srv *Server) forgetLive(m *liveMessage) {
	srv.liveMu.Lock()
	if srv.live[m.id] == m {
		delete(srv.live, m.id)
	}
	srv.liveMu.Unlock()
	m.mu.Lock()
	m.finished = true
	if m.pendingBytes > 0 {
		srv.pending.release(m.msg.Sender.ID, m.pendingBytes)
	}
	m.pending, m.pendingBytes = nil, 0
	sender, waiters := m.sender, m.waiters
	m.waiters = nil
	m.mu.Unlock()
	if sender != nil {
		sender.dropStreams(m)
	}
	for _, w := range waiters {
		w.s.dropStreams(m)
		w.s.replyError(w.id, wire.Errorf(wire.CodeIncomplete, "message %s moved to another server node; resend from the last ack", m.id))
	}
	srv.log.Info("recording moved to another node", "message", m.id)
}

// forgetSender forgets a session that ended as the sender of the
// messages it was streaming.
func (srv *Server) forgetSender(s *session) {
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
}

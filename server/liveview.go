package server

import (
	"context"
	"errors"
	"slices"
	gosync "sync"
	"time"

	"parley/server/wire"
)

// liveView is what this node knows of a voice message being recorded on
// any node: its packets so far (contiguous from 0), the local sessions it
// announced the message to (listeners) and the local fetch streams
// following it (tails). It is fed by the broker (deliverLive): every node
// has one per recording it hears of, the owner's node included. Its stream
// id is this node's (stream ids are per connection; nothing across nodes
// depends on them).
type liveView struct {
	srv    *Server
	id     string
	stream uint32 // live stream id shared by this node's listeners

	mu        gosync.Mutex
	msg       wire.Message
	packets   [][]byte
	ahead     map[uint32][]byte // packets past a gap (a broker lost some): wait for the store
	listeners []*session
	tails     map[*session]tail
	finished  bool
	heard     time.Time // when the broker last handed it something
}

// tail is a fetch stream that follows the live message from packet from.
type tail struct {
	stream uint32
	from   uint32
}

// maxViewAhead bounds the packets a view holds past a gap.
const maxViewAhead = 4 * wire.MaxPacketsAhead

func (srv *Server) newView(msg wire.Message, stored [][]byte) *liveView {
	return &liveView{srv: srv, id: msg.ID, stream: srv.nextStream(), msg: msg, packets: stored,
		tails: make(map[*session]tail), heard: srv.now()}
}

// view returns this node's view of a message, nil if it has none.
func (srv *Server) view(id string) *liveView {
	srv.viewsMu.Lock()
	defer srv.viewsMu.Unlock()
	return srv.views[id]
}

// viewFor returns this node's view of the recording message msg, making
// it from the stored packets if there is none. The store is read without
// viewsMu held; of two racing callers the first to insert wins.
func (srv *Server) viewFor(ctx context.Context, msg wire.Message) (*liveView, error) {
	if v := srv.view(msg.ID); v != nil {
		return v, nil
	}
	stored, err := srv.packets.Packets(ctx, msg.ID, 0, int(wire.MaxMessagePackets))
	if err != nil {
		return nil, err
	}
	v := srv.newView(msg, stored)
	srv.viewsMu.Lock()
	defer srv.viewsMu.Unlock()
	if existing := srv.views[msg.ID]; existing != nil {
		return existing, nil
	}
	srv.views[msg.ID] = v
	return v, nil
}

// deliverLive is what the node does with a live step the broker hands it.
func (srv *Server) deliverLive(l Live) {
	switch l.Kind {
	case LiveStart:
		if l.Info == nil {
			return
		}
		v, err := srv.viewFor(context.Background(), *l.Info)
		if err != nil {
			srv.log.Error("live start", "message", l.Message, "err", err)
			return
		}
		v.announce(l)
	case LivePacket:
		v := srv.view(l.Message)
		if v == nil {
			// A recording this node heard nothing of (it started before
			// the node, or its owner moved): load what is stored.
			msg, err := srv.store.Message(context.Background(), l.Message)
			if err != nil || msg.State != wire.StateRecording {
				return
			}
			if v, err = srv.viewFor(context.Background(), msg); err != nil {
				srv.log.Error("live packet", "message", l.Message, "err", err)
				return
			}
		}
		v.add(l.Number, l.Data)
	case LiveDone:
		if v := srv.view(l.Message); v != nil && l.Info != nil {
			srv.viewsMu.Lock()
			if srv.views[l.Message] == v {
				delete(srv.views, l.Message)
			}
			srv.viewsMu.Unlock()
			v.finish(*l.Info)
		}
	}
}

// announce sends voice.live to the local devices of the message's members
// except the sender's, and makes them listeners. A device that already
// listens (a late joiner announced at connect, or a start the broker
// handed over again) is left as it is: it must not get the message twice.
func (v *liveView) announce(l Live) {
	var candidates []*session
	for _, s := range v.srv.local.of(l.Members) {
		if s.device.ID != l.SenderDevice {
			candidates = append(candidates, s)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.heard = v.srv.now()
	if v.finished {
		return
	}
	// The packets the view already holds (read from the store when the
	// start reached this node after the owner had committed some) are
	// sent after the announcement, so a listener hears the message from
	// packet 0 (wire.VoiceLive). More than startCatchUp of them: the
	// listener is told to fetch the start, as a late joiner is.
	var frames [][]byte
	for _, s := range candidates {
		if v.listensLocked(s) {
			continue
		}
		if frames == nil {
			held := v.packets
			from := uint32(0)
			if len(held) > startCatchUp {
				held, from = nil, uint32(len(v.packets))
			}
			b, err := wire.Marshal(wire.TypeVoiceLive, "", wire.VoiceLive{Message: *l.Info, Stream: v.stream, From: from})
			if err != nil {
				return
			}
			frames = append(frames, b)
			for n, p := range held {
				if f, err := wire.AppendPacket(nil, v.stream, uint32(n), p); err == nil {
					frames = append(frames, f)
				}
			}
		}
		v.listeners = append(v.listeners, s)
		s.Deliver(false, frames[0])
		for _, f := range frames[1:] {
			s.Deliver(true, f)
		}
	}
}

// startCatchUp bounds the packets a start's announcement is followed by
// (one second of audio).
const startCatchUp = 50

// listensLocked reports whether s is among the listeners. Called with mu
// held.
func (v *liveView) listensLocked(s *session) bool {
	return slices.Contains(v.listeners, s)
}

// add takes packet n from the broker: a duplicate is dropped, the next
// one is delivered with any that waited behind it, one past a gap waits
// while the gap is read from the store (the owner commits every packet
// it publishes).
func (v *liveView) add(n uint32, data []byte) {
	v.mu.Lock()
	if v.finished {
		v.mu.Unlock()
		return
	}
	v.heard = v.srv.now()
	have := uint32(len(v.packets))
	switch {
	case n < have:
		v.mu.Unlock()
		return
	case n == have:
		v.appendLocked([][]byte{data})
		v.mu.Unlock()
		return
	}
	if v.ahead == nil {
		v.ahead = make(map[uint32][]byte)
	}
	if len(v.ahead) < maxViewAhead {
		v.ahead[n] = data
	}
	v.mu.Unlock()
	stored, err := v.srv.packets.Packets(context.Background(), v.id, have, int(n-have))
	if err != nil {
		v.srv.log.Error("fill live gap", "message", v.id, "from", have, "err", err)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.finished || uint32(len(v.packets)) != have {
		return // it moved on meanwhile
	}
	v.appendLocked(stored)
}

// appendLocked appends packets that follow the ones held, then those that
// waited ahead, and delivers them. Called with mu held; never blocks.
func (v *liveView) appendLocked(packets [][]byte) {
	first := uint32(len(v.packets))
	v.packets = append(v.packets, packets...)
	for {
		p, ok := v.ahead[uint32(len(v.packets))]
		if !ok {
			break
		}
		delete(v.ahead, uint32(len(v.packets)))
		v.packets = append(v.packets, p)
	}
	for n := range v.ahead {
		if n < uint32(len(v.packets)) {
			delete(v.ahead, n)
		}
	}
	v.deliverLocked(first, v.packets[first:])
}

// deliverLocked sends packets first, first+1, … to listeners and tails.
// Called with mu held; never blocks.
func (v *liveView) deliverLocked(first uint32, packets [][]byte) {
	for i, p := range packets {
		n := first + uint32(i)
		if len(v.listeners) > 0 {
			frame, err := wire.AppendPacket(nil, v.stream, n, p)
			if err != nil {
				continue
			}
			for _, l := range v.listeners {
				l.Deliver(true, frame)
			}
		}
		for s, t := range v.tails {
			if n < t.from {
				continue
			}
			if frame, err := wire.AppendPacket(nil, t.stream, n, p); err == nil {
				s.Deliver(true, frame)
			}
		}
	}
}

// received is how many packets the view holds from 0 without a gap.
func (v *liveView) received() uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint32(len(v.packets))
}

// finish tells listeners and tails that the message ended (msg is its
// final form) and forgets them.
func (v *liveView) finish(msg wire.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.finished {
		return
	}
	v.finished = true
	v.msg = msg
	v.ahead = nil
	done := v.doneLocked(v.stream)
	if b, err := wire.Marshal(wire.TypeVoiceDone, "", done); err == nil {
		for _, l := range v.listeners {
			l.Deliver(false, b)
		}
	}
	for s, t := range v.tails {
		s.reply(wire.TypeVoiceDone, "", v.doneLocked(t.stream))
	}
	v.tails, v.listeners = nil, nil
}

func (v *liveView) doneLocked(stream uint32) wire.VoiceDone {
	return wire.VoiceDone{Message: v.id, Stream: stream, State: v.msg.State, Packets: v.msg.Packets,
		DurationMs: v.msg.DurationMs, Waveform: v.msg.Waveform}
}

// streamTo sends the message from packet from to s on stream: what has
// arrived as batches, then it registers s as a tail that receives the
// rest live. It runs on a goroutine owned by s.
func (v *liveView) streamTo(s *session, stream, from uint32, reqID string) {
	v.mu.Lock()
	head := wire.AudioStream{Message: v.id, Stream: stream, From: from, State: wire.StateRecording, Packets: uint32(len(v.packets))}
	v.mu.Unlock()
	if !s.sendText(wire.TypeAudioStream, reqID, head) {
		return
	}
	next := from
	for {
		v.mu.Lock()
		have := uint32(len(v.packets))
		if next >= have {
			if !v.finished {
				v.tails[s] = tail{stream: stream, from: next}
				v.mu.Unlock()
				return
			}
			done := v.doneLocked(stream)
			v.mu.Unlock()
			s.sendText(wire.TypeVoiceDone, "", done)
			return
		}
		chunk := v.packets[next:min(have, next+fetchBatch)]
		v.mu.Unlock()
		frame, err := wire.AppendBatch(nil, stream, next, chunk)
		if err != nil || s.sendBulk(true, frame) != nil {
			return
		}
		next += uint32(len(chunk))
	}
}

// announceToLateJoiner makes a device that connects while voice messages
// are being recorded in its conversations a live listener of them, from
// the packet they have reached.
func (srv *Server) announceToLateJoiner(s *session) {
	srv.viewsMu.Lock()
	views := make([]*liveView, 0, len(srv.views))
	for _, v := range srv.views {
		views = append(views, v)
	}
	srv.viewsMu.Unlock()
	for _, v := range views {
		if m := srv.owned(v.id); m != nil && (m.isEnding() || m.senderDevice() == s.device.ID) {
			continue // ending, or its own message, which it is resuming
		}
		v.mu.Lock()
		conv := v.msg.Conversation
		v.mu.Unlock()
		if ok, err := srv.store.IsMember(s.ctx, conv, s.user.ID); err != nil || !ok {
			continue
		}
		v.mu.Lock()
		if !v.finished && !v.listensLocked(s) { // announced by the start already
			from := uint32(len(v.packets))
			if b, err := wire.Marshal(wire.TypeVoiceLive, "", wire.VoiceLive{Message: v.msg, Stream: v.stream, From: from}); err == nil {
				v.listeners = append(v.listeners, s)
				s.Deliver(false, b)
			}
		}
		v.mu.Unlock()
	}
}

// owned returns this node's live state of a message it owns, nil if it
// does not own it.
func (srv *Server) owned(id string) *liveMessage {
	srv.liveMu.Lock()
	defer srv.liveMu.Unlock()
	return srv.live[id]
}

// sweepViews checks the views the broker has been silent about for
// longer than AbandonAfter against the store, and finishes those whose
// message is no longer recording (their done was lost on the way).
func (srv *Server) sweepViews(ctx context.Context, now time.Time) {
	srv.viewsMu.Lock()
	var quiet []*liveView
	for _, v := range srv.views {
		v.mu.Lock()
		if now.Sub(v.heard) > srv.cfg.AbandonAfter {
			quiet = append(quiet, v)
		}
		v.mu.Unlock()
	}
	srv.viewsMu.Unlock()
	for _, v := range quiet {
		if srv.owned(v.id) != nil {
			continue // ours: the janitor abandons it
		}
		msg, err := srv.store.Message(ctx, v.id)
		if errors.Is(err, ErrNotFound) || (err == nil && msg.State != wire.StateRecording) {
			srv.deliverLive(Live{Kind: LiveDone, Conversation: msg.Conversation, Message: v.id, Info: &msg})
		} else if err != nil {
			srv.log.Error("sweep live views", "message", v.id, "err", err)
		}
	}
}

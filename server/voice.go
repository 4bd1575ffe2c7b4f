package server

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	"parley/server/wire"
)

// fetchBatch is how many packets one history batch frame carries.
const fetchBatch = wire.MaxBatchPackets

// liveMessage is a voice message while it is being recorded. It keeps
// the packets received so far in memory (contiguous from 0; later ones
// wait in pending), fans each new packet out to live listeners and fetch
// tails as soon as it is contiguous, and queues it for the committer,
// which acks the sender once the packet is durable.
//
// Lock order: pushMu before mu. pushMu serializes pushes (and the end of
// the message) so that packets reach the commit queue in order; it is
// held across the blocking send to that queue. mu guards the fields and
// is never held across blocking work: deliveries under it do not block.
type liveMessage struct {
	srv    *Server
	id     string
	stream uint32 // live stream id shared by every listener

	pushMu gosync.Mutex

	mu           gosync.Mutex
	msg          wire.Message
	packets      [][]byte
	pending      map[uint32][]byte // out-of-order packets, at most MaxPacketsAhead past len(packets)
	pendingBytes int               // their bytes, reserved in srv.pending
	committed    uint32
	sender       *session
	listeners    []Subscriber
	tails        map[*session]tail
	lastActivity time.Time
	ending       bool // no more packets: an end job is queued
	finished     bool
	waiters      []endWaiter
}

// tail is a fetch stream that follows the live message from packet from.
type tail struct {
	stream uint32
	from   uint32
}

// endWaiter is a voice.end request waiting for the message to finish.
type endWaiter struct {
	s  *session
	id string
}

// endJob finishes a message once the packets queued before it are
// committed.
type endJob struct {
	state      wire.MessageState
	packets    uint32
	durationMs int64
	waveform   []uint8
}

// commitJob is one item of the commit queue: a packet, or an end.
type commitJob struct {
	m      *liveMessage
	number uint32
	data   []byte
	end    *endJob
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
	have := uint32(len(m.packets))
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
	m.packets = append(m.packets, data)
	freed := 0
	for {
		p, ok := m.pending[uint32(len(m.packets))]
		if !ok {
			break
		}
		delete(m.pending, uint32(len(m.packets)))
		m.packets = append(m.packets, p)
		freed += len(p)
	}
	if freed > 0 {
		m.pendingBytes -= freed
		m.srv.pending.release(m.msg.Sender.ID, freed)
	}
	fresh := m.packets[first:]
	m.deliverLocked(first, fresh)
	m.mu.Unlock()

	for i, p := range fresh {
		m.srv.commits <- commitJob{m: m, number: first + uint32(i), data: p}
	}
	return nil
}

// received is how many packets have arrived from 0 without a gap.
func (m *liveMessage) received() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return uint32(len(m.packets))
}

// deliverLocked sends packets first, first+1, … to listeners and tails.
// Called with mu held; never blocks.
func (m *liveMessage) deliverLocked(first uint32, packets [][]byte) {
	for i, p := range packets {
		n := first + uint32(i)
		if len(m.listeners) > 0 {
			frame, err := wire.AppendPacket(nil, m.stream, n, p)
			if err != nil {
				continue
			}
			for _, l := range m.listeners {
				l.Deliver(true, frame)
			}
		}
		for s, t := range m.tails {
			if n < t.from {
				continue
			}
			if frame, err := wire.AppendPacket(nil, t.stream, n, p); err == nil {
				s.Deliver(true, frame)
			}
		}
	}
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
	have := uint32(len(m.packets))
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

// streamTo sends the message from packet from to s on stream: what has
// arrived as batches, then it registers s as a tail that receives the
// rest live. It runs on a goroutine owned by s.
func (m *liveMessage) streamTo(s *session, stream, from uint32, reqID string) {
	m.mu.Lock()
	head := wire.AudioStream{Message: m.id, Stream: stream, From: from, State: wire.StateRecording, Packets: uint32(len(m.packets))}
	m.mu.Unlock()
	if !s.sendText(wire.TypeAudioStream, reqID, head) {
		return
	}
	next := from
	for {
		m.mu.Lock()
		have := uint32(len(m.packets))
		if next >= have {
			if !m.finished {
				m.tails[s] = tail{stream: stream, from: next}
				m.mu.Unlock()
				return
			}
			done := m.doneLocked(stream)
			m.mu.Unlock()
			s.sendText(wire.TypeVoiceDone, "", done)
			return
		}
		chunk := m.packets[next:min(have, next+fetchBatch)]
		m.mu.Unlock()
		frame, err := wire.AppendBatch(nil, stream, next, chunk)
		if err != nil || s.sendBulk(true, frame) != nil {
			return
		}
		next += uint32(len(chunk))
	}
}

func (m *liveMessage) doneLocked(stream uint32) wire.VoiceDone {
	return wire.VoiceDone{Message: m.id, Stream: stream, State: m.msg.State, Packets: m.msg.Packets,
		DurationMs: m.msg.DurationMs, Waveform: m.msg.Waveform}
}

// sendText hands an envelope to the writer in order with bulk frames.
func (s *session) sendText(typ, id string, payload any) bool {
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		return false
	}
	return s.sendBulk(false, b) == nil
}

// commitLoop is the only goroutine that commits packets. It takes what is
// queued (up to a batch), commits it in one transaction, acks the senders
// and then finishes the messages whose end was queued. It returns when
// the queue is closed and drained.
func (srv *Server) commitLoop() {
	defer close(srv.committerDone)
	const maxBatch = 2048
	batch := make([]commitJob, 0, maxBatch)
	for job := range srv.commits {
		batch = append(batch[:0], job)
	fill:
		for len(batch) < maxBatch {
			select {
			case j, ok := <-srv.commits:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		srv.commitBatch(batch)
		// The jobs point at their messages (and so at all the audio a
		// message holds): forget them, or the last batch of a busy
		// period keeps finished messages on the heap.
		clear(batch)
	}
}

func (srv *Server) commitBatch(batch []commitJob) {
	records := make([]PacketRecord, 0, len(batch))
	for _, j := range batch {
		if j.end == nil {
			records = append(records, PacketRecord{Message: j.m.id, Number: j.number, Data: j.data})
		}
	}
	if len(records) > 0 {
		srv.commitDurably(records)
		// Packets of one message are queued in order, so the last one
		// committed is the new contiguous upto.
		touched := make(map[*liveMessage]uint32)
		var order []*liveMessage
		for _, j := range batch {
			if j.end != nil {
				continue
			}
			if _, ok := touched[j.m]; !ok {
				order = append(order, j.m)
			}
			touched[j.m] = j.number + 1
		}
		for _, m := range order {
			m.mu.Lock()
			if touched[m] > m.committed {
				m.committed = touched[m]
			}
			upto, sender := m.committed, m.sender
			m.mu.Unlock()
			if sender != nil {
				sender.reply(wire.TypeVoiceAck, "", wire.VoiceAck{Message: m.id, Upto: upto})
			}
		}
	}
	for _, j := range batch {
		if j.end != nil {
			srv.finish(j.m, j.end)
		}
	}
}

// commitDurably commits records, retrying with backoff until it works:
// nothing is acked before it does, and the packets stay queued in order.
// It gives up only when the server is closing and the store has failed;
// those packets are then not acked and their senders resend them.
func (srv *Server) commitDurably(records []PacketRecord) {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := srv.store.CommitPackets(context.Background(), records)
		srv.metrics.commitSeconds.Observe(time.Since(start).Seconds())
		if err == nil {
			srv.metrics.commitBatch.Observe(float64(len(records)))
			return
		}
		srv.log.Error("commit packets failed", "attempt", attempt, "packets", len(records), "err", err)
		select {
		case <-srv.closing:
			if attempt >= 3 {
				return
			}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// finish stores a message's final state, tells listeners, tails and the
// senders waiting on voice.end, and forgets the live state.
func (srv *Server) finish(m *liveMessage, end *endJob) {
	ctx := context.Background()
	m.mu.Lock()
	committed, have := m.committed, uint32(len(m.packets))
	m.mu.Unlock()
	packets, durationMs := end.packets, end.durationMs
	switch end.state {
	case wire.StateAbandoned:
		packets = committed
		durationMs = int64(packets) * wire.FrameDuration.Milliseconds()
	case wire.StateCancelled:
		packets, durationMs = 0, 0
	}
	if end.state == wire.StateComplete && (committed < packets || committed < have) {
		// A commit was given up on (shutdown): leave it recording so the
		// sender resumes it.
		srv.failWaiters(m, wire.Errorf(wire.CodeIncomplete, "message %s: %d of %d packets stored", m.id, committed, packets))
		return
	}
	var msg wire.Message
	err := srv.publishEvent(ctx, func() (*wire.Event, error) {
		var ev wire.Event
		var err error
		msg, ev, err = srv.store.FinishMessage(ctx, m.id, end.state, packets, durationMs, end.waveform)
		return &ev, err
	})
	if err != nil {
		srv.log.Error("finish message failed", "message", m.id, "err", err)
		srv.failWaiters(m, wire.Errorf(wire.CodeInternal, "could not finish message %s", m.id))
		return
	}
	srv.liveMu.Lock()
	delete(srv.live, m.id)
	srv.liveMu.Unlock()

	m.mu.Lock()
	m.finished = true
	m.msg = msg
	if m.pendingBytes > 0 {
		srv.pending.release(msg.Sender.ID, m.pendingBytes)
	}
	m.pending, m.pendingBytes = nil, 0
	done := m.doneLocked(m.stream)
	if b, err := wire.Marshal(wire.TypeVoiceDone, "", done); err == nil {
		for _, l := range m.listeners {
			l.Deliver(false, b)
		}
	}
	for s, t := range m.tails {
		s.reply(wire.TypeVoiceDone, "", m.doneLocked(t.stream))
	}
	waiters, sender := m.waiters, m.sender
	m.waiters, m.tails, m.listeners = nil, nil, nil
	m.mu.Unlock()

	// Forget the streams before answering, so a packet sent after the
	// answer meets stream_unknown.
	if sender != nil {
		sender.dropStreams(m)
	}
	for _, w := range waiters {
		w.s.dropStreams(m)
	}
	ack := wire.VoiceAck{Message: m.id, Upto: msg.Packets, Complete: true}
	for _, w := range waiters {
		w.s.reply(wire.TypeVoiceAck, w.id, ack)
	}
	srv.setTalking(msg.Sender.ID, msg.Conversation, false)
}

func (srv *Server) failWaiters(m *liveMessage, e *wire.Error) {
	m.mu.Lock()
	waiters := m.waiters
	m.waiters = nil
	m.ending = false
	m.mu.Unlock()
	for _, w := range waiters {
		w.s.replyError(w.id, e)
	}
}

// answerFinished answers a voice.end for a message that is already
// finished: complete is acked again, abandoned is an error.
func (srv *Server) answerFinished(s *session, id, messageID string) error {
	msg, err := srv.store.Message(s.ctx, messageID)
	if err != nil {
		return err
	}
	if msg.State != wire.StateComplete && msg.State != wire.StateCancelled {
		return wire.Errorf(wire.CodeMessageClosed, "message %s is %s", messageID, msg.State)
	}
	s.reply(wire.TypeVoiceAck, id, wire.VoiceAck{Message: messageID, Upto: msg.Packets, Complete: true})
	return nil
}

// janitor abandons voice messages whose sender went silent.
func (srv *Server) janitor() {
	defer close(srv.janitorDone)
	period := max(srv.cfg.AbandonAfter/4, 10*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-srv.stopJanitor:
			return
		case <-t.C:
			srv.liveMu.Lock()
			live := make([]*liveMessage, 0, len(srv.live))
			for _, m := range srv.live {
				live = append(live, m)
			}
			srv.liveMu.Unlock()
			now := srv.now()
			for _, m := range live {
				m.abandonIfSilent(now)
			}
		}
	}
}

// liveFor returns the live state of a recording message, loading its
// stored packets if the server has not seen it since it started.
func (srv *Server) liveFor(ctx context.Context, msg wire.Message) (*liveMessage, bool, error) {
	srv.liveMu.Lock()
	defer srv.liveMu.Unlock()
	if m, ok := srv.live[msg.ID]; ok {
		return m, false, nil
	}
	stored, err := srv.store.Packets(ctx, msg.ID, 0, int(wire.MaxMessagePackets))
	if err != nil {
		return nil, false, err
	}
	m := &liveMessage{
		srv: srv, id: msg.ID, stream: srv.nextStream(), msg: msg,
		packets: stored, pending: make(map[uint32][]byte), committed: uint32(len(stored)),
		tails: make(map[*session]tail), lastActivity: srv.now(),
	}
	srv.live[msg.ID] = m
	return m, true, nil
}

func (s *session) voiceStart(env wire.Envelope) error {
	req, err := wire.Decode[wire.VoiceStart](env)
	if err != nil {
		return err
	}
	if err := s.member(s.ctx, req.Conversation); err != nil {
		return err
	}
	srv := s.srv
	msg, err := srv.store.Message(s.ctx, req.Message)
	created := false
	switch {
	case errors.Is(err, ErrNotFound):
		msg, err = srv.createMessage(s.ctx, wire.Message{
			ID: req.Message, Conversation: req.Conversation, Sender: s.user, Kind: wire.KindVoice,
			Created: srv.now().UnixMilli(), State: wire.StateRecording, Codec: wire.CodecOpus,
		})
		if err != nil {
			return err
		}
		created = true
	case err != nil:
		return err
	}
	if msg.Sender.ID != s.user.ID || msg.Conversation != req.Conversation || msg.Kind != wire.KindVoice {
		return wire.Errorf(wire.CodeConflict, "message %s exists and is not your voice message in this conversation", req.Message)
	}
	switch msg.State {
	case wire.StateComplete, wire.StateCancelled:
		s.reply(wire.TypeVoiceStarted, env.ID, wire.VoiceStarted{Message: msg.ID, Upto: msg.Packets, Seq: msg.Seq, State: msg.State})
		return nil
	case wire.StateAbandoned:
		// The sender is back with more of it: reopen, keeping what arrived.
		err := srv.publishEvent(s.ctx, func() (*wire.Event, error) {
			var ev wire.Event
			var err error
			msg, ev, err = srv.store.FinishMessage(s.ctx, msg.ID, wire.StateRecording, msg.Packets, msg.DurationMs, nil)
			return &ev, err
		})
		if err != nil {
			return err
		}
	}
	m, fresh, err := srv.liveFor(s.ctx, msg)
	if err != nil {
		return err
	}
	if created && fresh {
		srv.announce(s, m)
	}
	stream := s.addStream(m)
	m.mu.Lock()
	m.sender = s
	m.lastActivity = srv.now()
	upto := m.committed
	m.mu.Unlock()
	srv.setTalking(s.user.ID, msg.Conversation, true)
	s.reply(wire.TypeVoiceStarted, env.ID, wire.VoiceStarted{Message: msg.ID, Stream: stream, Upto: upto, Seq: msg.Seq, State: wire.StateRecording})
	return nil
}

// announce sends voice.live to every connected device of the
// conversation's members except the sender's, and makes them listeners.
func (srv *Server) announce(sender *session, m *liveMessage) {
	members, err := srv.store.MemberIDs(sender.ctx, m.msg.Conversation)
	if err != nil {
		srv.log.Error("announce live message", "message", m.id, "err", err)
		return
	}
	frame, err := wire.Marshal(wire.TypeVoiceLive, "", wire.VoiceLive{Message: m.msg, Stream: m.stream})
	if err != nil {
		return
	}
	var listeners []Subscriber
	for _, sub := range srv.broker.Subscribers(members) {
		if sub != Subscriber(sender) {
			listeners = append(listeners, sub)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = listeners
	for _, l := range listeners {
		l.Deliver(false, frame)
	}
}

func (s *session) voiceEnd(env wire.Envelope) error {
	req, err := wire.Decode[wire.VoiceEnd](env)
	if err != nil {
		return err
	}
	msg, err := s.visibleMessage(s.ctx, req.Message)
	if err != nil {
		return err
	}
	if msg.Sender.ID != s.user.ID || msg.Kind != wire.KindVoice {
		return wire.Errorf(wire.CodeConflict, "message %s is not your voice message", req.Message)
	}
	switch {
	case msg.State == wire.StateComplete && req.Cancel:
		return wire.Errorf(wire.CodeMessageClosed, "message %s is complete and cannot be cancelled", msg.ID)
	case msg.State == wire.StateAbandoned && req.Cancel:
		// Withdrawing what arrived before the sender vanished.
	case msg.State != wire.StateRecording:
		return s.srv.answerFinished(s, env.ID, msg.ID)
	}
	m, _, err := s.srv.liveFor(s.ctx, msg)
	if err != nil {
		return err
	}
	return m.end(s, env.ID, req)
}

func (s *session) audioFetch(env wire.Envelope) error {
	req, err := wire.Decode[wire.AudioFetch](env)
	if err != nil {
		return err
	}
	msg, err := s.visibleMessage(s.ctx, req.Message)
	if err != nil {
		return err
	}
	if msg.Kind != wire.KindVoice {
		return wire.Errorf(wire.CodeBadRequest, "message %s is not a voice message", req.Message)
	}
	srv := s.srv
	stream := srv.nextStream()
	if msg.State == wire.StateRecording {
		m, _, err := srv.liveFor(s.ctx, msg)
		if err != nil {
			return err
		}
		s.goTask(func() { m.streamTo(s, stream, req.From, env.ID) })
		return nil
	}
	s.goTask(func() { srv.streamStored(s, msg, stream, req.From, env.ID) })
	return nil
}

// streamStored sends a finished message's packets from from as batches,
// then voice.done. It runs on a goroutine owned by s.
func (srv *Server) streamStored(s *session, msg wire.Message, stream, from uint32, reqID string) {
	head := wire.AudioStream{Message: msg.ID, Stream: stream, From: from, State: msg.State, Packets: msg.Packets}
	if !s.sendText(wire.TypeAudioStream, reqID, head) {
		return
	}
	for next := from; next < msg.Packets; {
		packets, err := srv.store.Packets(s.ctx, msg.ID, next, fetchBatch)
		if err != nil || len(packets) == 0 {
			if err != nil && s.ctx.Err() == nil {
				srv.log.Error("fetch packets", "message", msg.ID, "from", next, "err", err)
			}
			break
		}
		frame, err := wire.AppendBatch(nil, stream, next, packets)
		if err != nil || s.sendBulk(true, frame) != nil {
			return
		}
		next += uint32(len(packets))
	}
	s.sendText(wire.TypeVoiceDone, "", wire.VoiceDone{Message: msg.ID, Stream: stream, State: msg.State,
		Packets: msg.Packets, DurationMs: msg.DurationMs, Waveform: msg.Waveform})
}

// goTask runs fn on a goroutine the session waits for when it ends.
func (s *session) goTask(fn func()) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		fn()
	}()
}

package server

import (
	"context"
	"time"

	"parley/server/wire"
)

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
		err := srv.packets.CommitPackets(context.Background(), records)
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

// finish stores a message's final state, tells every node (their views
// tell listeners and tails) and the senders waiting on voice.end, and
// forgets the live state.
func (srv *Server) finish(m *liveMessage, end *endJob) {
	ctx := context.Background()
	m.mu.Lock()
	committed, have, finished := m.committed, m.have, m.finished
	m.mu.Unlock()
	if finished {
		return // forgotten: another node owns it now
	}
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
	if end.state == wire.StateCancelled {
		// Withdrawn: its audio goes. If this fails the packets stay
		// behind, unreachable (a cancelled message has none to fetch).
		if err := srv.packets.DeletePackets(ctx, m.id); err != nil {
			srv.log.Error("delete packets of a cancelled message", "message", m.id, "err", err)
		}
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
	waiters, sender := m.waiters, m.sender
	m.waiters = nil
	m.mu.Unlock()

	if err := srv.broker.PublishLive(ctx, Live{Kind: LiveDone, Conversation: msg.Conversation, Message: m.id, Info: &msg}); err != nil {
		// Other nodes' views find out from the store (sweepViews).
		srv.log.Error("publish live done", "message", m.id, "err", err)
	}
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

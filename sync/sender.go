package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"parley/server/wire"
)

// maxIncompleteRetries bounds voice.end attempts answered "incomplete"
// in one session before the session is restarted.
const maxIncompleteRetries = 5

// retryPause is how long the sender waits after a retry-coded error
// before trying again in the same session.
const retryPause = 200 * time.Millisecond

// outboxLoop drains the outbox in creation order. A final error from the
// server fails that message (and moves on); a retry error pauses; a lost
// connection ends the session (the next one resumes).
func (s *session) outboxLoop(ctx context.Context) error {
	c := s.c
	for {
		it, ok, err := c.store.nextOutbox(ctx)
		if err != nil {
			return err
		}
		if !ok {
			select {
			case <-c.outboxWake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		err = s.resolveConversation(ctx, &it)
		if err == nil {
			switch it.Kind {
			case outboxText:
				err = s.sendText(ctx, it)
			case outboxVoice:
				err = s.sendVoice(ctx, it)
			default:
				err = fmt.Errorf("outbox kind %q: %w", it.Kind, &wire.Error{Code: wire.CodeBadRequest, Message: "unknown outbox kind"})
			}
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		var re *RequestError
		if !errors.As(err, &re) {
			return err // connection trouble: the next session resumes
		}
		if re.Err.Code.Retry() {
			c.log.Info("outbox send will be retried", "message", it.Message, "err", err)
			if err := pause(ctx, retryPause); err != nil {
				return nil
			}
			continue
		}
		c.log.Warn("server refused outbox message", "message", it.Message, "err", err)
		if err := c.store.failOutbox(ctx, it.Message, StateFailed); err != nil {
			return err
		}
		c.hints.post(ErrorHint{Op: "send message", Err: err})
		c.hints.post(ConversationChanged{Conversation: it.Conversation})
		c.watch.notify(it.Message)
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) sendText(ctx context.Context, it outboxItem) error {
	sent, err := call[wire.TextSent](ctx, s, wire.TypeTextSend, wire.TextSend{
		Conversation: it.Conversation, Message: it.Message, Text: it.Text,
	})
	if err != nil {
		return err
	}
	if err := s.c.store.completeOutbox(ctx, it.Message, &sent.Message); err != nil {
		return err
	}
	s.c.hints.post(ConversationChanged{Conversation: it.Conversation})
	s.c.hints.post(ConversationsChanged{})
	return nil
}

// sendVoice sends (or resumes) one voice message: voice.start tells how
// many packets the server holds; packets follow from there as the
// recorder pushes them; voice.end when the recording ended and every
// packet went out. An "incomplete" answer starts over from voice.start.
func (s *session) sendVoice(ctx context.Context, it outboxItem) error {
	c := s.c
	if it.Cancelled {
		if err := s.withdraw(ctx, it.Message); err != nil {
			return err
		}
		return s.voiceDone(ctx, it)
	}
	for attempt := 0; ; attempt++ {
		started, err := call[wire.VoiceStarted](ctx, s, wire.TypeVoiceStart, wire.VoiceStart{
			Conversation: it.Conversation, Message: it.Message, Codec: wire.CodecOpus,
		})
		if err != nil {
			return err
		}
		if err := c.store.setSeq(ctx, it.Message, started.Seq); err != nil {
			return err
		}
		c.hints.post(ConversationChanged{Conversation: it.Conversation})
		switch started.State {
		case wire.StateComplete, wire.StateCancelled:
			return s.voiceDone(ctx, it)
		case wire.StateAbandoned:
			// The server gave up on the message while this device was away;
			// it keeps what arrived. What only this device has is lost to
			// the others: say so.
			c.log.Warn("server abandoned voice message before it was complete", "message", it.Message, "upto", started.Upto)
			if err := c.store.failOutbox(ctx, it.Message, wire.StateAbandoned); err != nil {
				return err
			}
			c.hints.post(ErrorHint{Op: "send voice", Err: fmt.Errorf("voice message %s: the server closed it after %d packets", it.Message, started.Upto)})
			return nil
		}
		if err := c.store.ackVoice(ctx, it.Message, started.Upto); err != nil {
			return err
		}
		done, err := s.streamVoice(ctx, it.Message, started)
		if err != nil {
			return err
		}
		if done {
			return s.voiceDone(ctx, it)
		}
		if attempt >= maxIncompleteRetries {
			return fmt.Errorf("%w: voice %s stays incomplete", ErrServerUnreachable, it.Message)
		}
		if err := pause(ctx, retryPause); err != nil {
			return err
		}
	}
}

// withdraw tells the server a voice message was cancelled. A message the
// server never saw, or that it already completed, needs nothing more.
func (s *session) withdraw(ctx context.Context, message string) error {
	_, err := call[wire.VoiceAck](ctx, s, wire.TypeVoiceEnd, wire.VoiceEnd{Message: message, Cancel: true})
	var re *RequestError
	if errors.As(err, &re) && (re.Err.Code == wire.CodeNotFound || re.Err.Code == wire.CodeMessageClosed) {
		err = nil
	}
	if err != nil {
		return err
	}
	return s.c.store.dropPackets(ctx, message)
}

func (s *session) voiceDone(ctx context.Context, it outboxItem) error {
	if err := s.c.store.completeOutbox(ctx, it.Message, nil); err != nil {
		return err
	}
	s.c.hints.post(ConversationChanged{Conversation: it.Conversation})
	return nil
}

// streamVoice sends packets from the server's upto as they are pushed and
// ends the message. done is false when the server answered incomplete.
func (s *session) streamVoice(ctx context.Context, message string, started wire.VoiceStarted) (done bool, err error) {
	c := s.c
	next := started.Upto
	for {
		it, ok, err := c.store.outboxMessage(ctx, message)
		if err != nil {
			return false, err
		}
		if !ok {
			// Only Cancel removes the row under a send (dropVoice, before
			// any packet was pushed), but the server has the voice.start
			// and members may be playing it: withdraw it there too.
			return true, s.withdraw(ctx, message)
		}
		if it.Cancelled {
			return true, s.withdraw(ctx, message)
		}
		if next < it.Pushed {
			ps, err := c.store.Packets(ctx, message, next, 64)
			if err != nil {
				return false, err
			}
			if len(ps) == 0 {
				return false, fmt.Errorf("voice %s: packet %d missing from the cache", message, next)
			}
			for _, p := range ps {
				b, err := wire.AppendPacket(make([]byte, 0, wire.HeaderBytes+len(p.Data)), started.Stream, p.Seq, p.Data)
				if err != nil {
					return false, err
				}
				if err := s.send(ctx, outFrame{binary: true, data: b}); err != nil {
					return false, err
				}
				c.trace(TraceSent, message, p.Seq, time.Now())
				next = p.Seq + 1
			}
			continue
		}
		if it.Ended {
			_, err := call[wire.VoiceAck](ctx, s, wire.TypeVoiceEnd, wire.VoiceEnd{
				Message: message, Packets: it.Pushed, DurationMs: it.DurationMs, Waveform: it.Waveform,
			})
			var re *RequestError
			if errors.As(err, &re) && re.Err.Code == wire.CodeIncomplete {
				c.log.Info("voice end incomplete, resuming", "message", message)
				return false, nil
			}
			if err != nil {
				return false, err
			}
			return true, nil
		}
		select {
		case <-c.outboxWake:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// resolveConversation points an outbox message of a replaced server
// (older epoch) at the same conversation on the new one: the Lobby, the
// direct conversation with the same user (by name), or a new group with
// the same title and members.
func (s *session) resolveConversation(ctx context.Context, it *outboxItem) error {
	c := s.c
	if ok, err := c.store.hasConversation(ctx, it.Conversation); err != nil || ok {
		return err
	}
	info, ok, err := c.store.remapInfo(ctx, it.Conversation)
	if err != nil || !ok {
		return err // unknown: the server decides
	}
	var to string
	switch {
	case info.Lobby:
		to, err = c.store.lobbyID(ctx)
	default:
		to, err = s.recreateConversation(ctx, info)
	}
	if err != nil {
		return err
	}
	if to == "" {
		return nil
	}
	c.log.Info("outbox conversation moved to the new server", "from", it.Conversation, "to", to)
	if err := c.store.moveConversation(ctx, it.Conversation, to); err != nil {
		return err
	}
	c.hints.post(ConversationsChanged{})
	it.Conversation = to
	return nil
}

func (s *session) recreateConversation(ctx context.Context, info remapInfo) (string, error) {
	c := s.c
	users, err := listUsers(ctx, s)
	if err != nil {
		return "", err
	}
	if err := c.store.putUsers(ctx, users); err != nil {
		return "", err
	}
	byName := map[string]string{}
	for _, u := range users {
		byName[u.Name] = u.ID
	}
	var ids []string
	for _, name := range info.Members {
		if id, ok := byName[name]; ok && id != s.welcome.User.ID {
			ids = append(ids, id)
		}
	}
	req := wire.ConversationCreate{Kind: info.Kind, Title: info.Title, Members: ids}
	if info.Kind == wire.ConversationDirect {
		if len(ids) != 1 {
			return "", nil // the other user is not on the new server
		}
		if id, err := c.store.directWith(ctx, ids[0]); err != nil || id != "" {
			return id, err
		}
		req.Title = ""
	}
	ci, err := call[wire.ConversationInfo](ctx, s, wire.TypeConversationCreate, req)
	if err != nil {
		return "", err
	}
	if err := c.store.putConversation(ctx, ci.Conversation); err != nil {
		return "", err
	}
	return ci.Conversation.ID, nil
}

// receiptLoop sends queued receipts. A receipt the server refuses for good
// is dropped.
func (s *session) receiptLoop(ctx context.Context) error {
	c := s.c
	for {
		rs, err := c.store.queuedReceipts(ctx, 64)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			select {
			case <-c.receiptWake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		for _, r := range rs {
			_, err := s.request(ctx, wire.TypeReceipt, wire.ReceiptSend{Message: r.Message, Kind: r.Kind, PositionMs: r.PositionMs})
			var re *RequestError
			switch {
			case err == nil:
			case errors.As(err, &re) && !re.Err.Code.Retry():
				c.log.Warn("server refused receipt", "message", r.Message, "err", err)
			case errors.As(err, &re):
				if err := pause(ctx, retryPause); err != nil {
					return nil
				}
				continue
			default:
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if err := c.store.receiptSent(ctx, r); err != nil {
				return err
			}
		}
	}
}

// prefetchLoop downloads recent unplayed voice messages, one at a time,
// after the first sync and whenever new ones arrive.
func (s *session) prefetchLoop(ctx context.Context) error {
	c := s.c
	failed := map[string]bool{}
	for {
		ids, err := c.store.unplayedVoice(ctx, c.cfg.Prefetch)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if failed[id] {
				continue
			}
			c.mu.Lock()
			busy := c.fetching[id]
			if !busy {
				c.fetching[id] = true
			}
			c.mu.Unlock()
			if busy {
				continue
			}
			from, err := c.store.CachedPackets(ctx, id)
			if err == nil {
				err = s.fetch(ctx, id, from)
			}
			c.mu.Lock()
			delete(c.fetching, id)
			c.mu.Unlock()
			c.watch.notify(id)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				failed[id] = true
				c.log.Debug("prefetch failed", "message", id, "err", err)
			}
		}
		select {
		case <-s.prefetch:
		case <-ctx.Done():
			return nil
		}
	}
}

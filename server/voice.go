package server

import (
	"errors"

	"parley/server/wire"
)

// The voice requests: voice.start, voice.end and audio.fetch. The
// recording itself is recording.go (the owner's state machine),
// liveview.go (fan-out on every node), commit.go (the commit pipeline)
// and janitor.go; stored audio is streamed by history.go.

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
	m, _, err := srv.liveFor(s.ctx, msg, true)
	if err != nil {
		return err
	}
	if created {
		srv.announce(s, msg)
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

// announce publishes the start of a new recording: every node sends
// voice.live to its connected devices of the conversation's members
// except the sender's, and makes them listeners.
func (srv *Server) announce(sender *session, msg wire.Message) {
	members, err := srv.store.MemberIDs(sender.ctx, msg.Conversation)
	if err != nil {
		srv.log.Error("announce live message", "message", msg.ID, "err", err)
		return
	}
	err = srv.broker.PublishLive(sender.ctx, Live{Kind: LiveStart, Conversation: msg.Conversation, Message: msg.ID,
		Info: &msg, SenderDevice: sender.device.ID, Members: members})
	if err != nil {
		srv.log.Error("announce live message", "message", msg.ID, "err", err)
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
	m, _, err := s.srv.liveFor(s.ctx, msg, true)
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
		v, err := srv.viewFor(s.ctx, msg)
		if err != nil {
			return err
		}
		s.goTask(func() { v.streamTo(s, stream, req.From, env.ID) })
		return nil
	}
	s.goTask(func() { srv.streamStored(s, msg, stream, req.From, env.ID) })
	return nil
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/oklog/ulid/v2"

	"parley/server/wire"
)

// syncPageOverhead is room for the envelope and page fields around the
// events of a sync page.
const syncPageOverhead = 512

// handler answers one request envelope on an authenticated session. A
// returned *wire.Error is sent to the client; any other error is logged
// and sent as internal.
type handler func(s *session, env wire.Envelope) error

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		wire.TypeHello:               func(*session, wire.Envelope) error { return wire.Errorf(wire.CodeBadRequest, "already signed in") },
		wire.TypeVoiceStart:          (*session).voiceStart,
		wire.TypeVoiceEnd:            (*session).voiceEnd,
		wire.TypeTextSend:            (*session).textSend,
		wire.TypeSync:                (*session).sync,
		wire.TypeAudioFetch:          (*session).audioFetch,
		wire.TypeReceipt:             (*session).receipt,
		wire.TypeConversationCreate:  (*session).conversationCreate,
		wire.TypeConversationList:    (*session).conversationList,
		wire.TypeConversationMembers: (*session).conversationMembers,
		wire.TypeConversationAdd:     (*session).conversationAdd,
		wire.TypeConversationRename:  (*session).conversationRename,
		wire.TypeConversationLeave:   (*session).conversationLeave,
		wire.TypeUserList:            (*session).userList,
		wire.TypeDeviceList:          (*session).deviceList,
		wire.TypeDeviceRevoke:        (*session).deviceRevoke,
	}
}

// hello authenticates the session from the first frame. It reports
// whether the session may continue.
func (s *session) hello(data []byte) bool {
	fail := func(id string, e *wire.Error, code int) bool {
		s.replyError(id, e)
		s.close(code, string(e.Code))
		return false
	}
	env, err := wire.DecodeEnvelope(data)
	if err != nil {
		return fail("", asWireError(err), wire.CloseProtocolError)
	}
	if env.Type != wire.TypeHello {
		return fail(env.ID, wire.Errorf(wire.CodeAuthRequired, "send hello first"), wire.CloseProtocolError)
	}
	h, err := wire.Decode[wire.Hello](env)
	if err != nil {
		return fail(env.ID, asWireError(err), wire.CloseAuthFailed)
	}
	welcome, err := s.srv.authenticate(s.ctx, h.Auth, s.addr)
	if err != nil {
		we := asWireError(err)
		if we.Code == wire.CodeInternal {
			s.srv.log.Error("hello failed", "err", err)
			we = wire.Errorf(wire.CodeInternal, "server error")
		}
		if we.Code == wire.CodeRateLimited {
			return fail(env.ID, we, wire.CloseRateLimited)
		}
		return fail(env.ID, we, wire.CloseAuthFailed)
	}
	s.user, s.device = welcome.User, welcome.Device
	s.reply(wire.TypeWelcome, env.ID, welcome)
	s.srv.join(s)
	return true
}

func (s *session) member(ctx context.Context, conversationID string) error {
	ok, err := s.srv.store.IsMember(ctx, conversationID, s.user.ID)
	if err != nil {
		return err
	}
	if !ok {
		return wire.Errorf(wire.CodeNotMember, "not a member of conversation %s", truncate(conversationID))
	}
	return nil
}

// memberConversation loads a conversation the user is a member of.
func (s *session) memberConversation(id string) (wire.Conversation, error) {
	if err := s.member(s.ctx, id); err != nil {
		return wire.Conversation{}, err
	}
	return s.srv.store.Conversation(s.ctx, id)
}

// visibleMessage loads a message the user may see; any other message is
// not_found, whether or not it exists.
func (s *session) visibleMessage(ctx context.Context, id string) (wire.Message, error) {
	m, err := s.srv.store.Message(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return m, wire.Errorf(wire.CodeNotFound, "message %s not found", id)
	}
	if err != nil {
		return m, err
	}
	if err := s.member(ctx, m.Conversation); err != nil {
		if wire.CodeOf(err) == wire.CodeNotMember {
			return wire.Message{}, wire.Errorf(wire.CodeNotFound, "message %s not found", id)
		}
		return wire.Message{}, err
	}
	return m, nil
}

func (s *session) textSend(env wire.Envelope) error {
	req, err := wire.Decode[wire.TextSend](env)
	if err != nil {
		return err
	}
	if err := s.member(s.ctx, req.Conversation); err != nil {
		return err
	}
	m, err := s.srv.createMessage(s.ctx, wire.Message{
		ID: req.Message, Conversation: req.Conversation, Sender: s.user, Kind: wire.KindText,
		Created: s.srv.now().UnixMilli(), State: wire.StateComplete, Text: req.Text,
	})
	if err != nil {
		return err
	}
	if m.Text != req.Text {
		return wire.Errorf(wire.CodeConflict, "message %s exists with other text", req.Message)
	}
	s.reply(wire.TypeTextSent, env.ID, wire.TextSent{Message: m})
	return nil
}

func (s *session) sync(env wire.Envelope) error {
	req, err := wire.Decode[wire.Sync](env)
	if err != nil {
		return err
	}
	if req.Conversation != "" {
		if err := s.member(s.ctx, req.Conversation); err != nil {
			return err
		}
	}
	limit := req.Limit
	if limit <= 0 || limit > wire.MaxSyncPage {
		limit = wire.MaxSyncPage
	}
	events, err := s.srv.store.Events(s.ctx, s.user.ID, req.Since, req.Conversation, limit)
	if err != nil {
		return err
	}
	page := wire.SyncPage{Events: events, Next: req.Since, More: len(events) == limit}
	// Keep the page within one frame: cut it where the encoded events
	// would pass the budget (the rest comes on the next page).
	size := syncPageOverhead
	for i, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if size += len(b) + 1; size > wire.MaxFrameBytes && i > 0 {
			page.Events, page.More = events[:i], true
			break
		}
	}
	if len(page.Events) > 0 {
		page.Next = page.Events[len(page.Events)-1].Cursor
	}
	s.reply(wire.TypeSyncPage, env.ID, page)
	return nil
}

func (s *session) receipt(env wire.Envelope) error {
	req, err := wire.Decode[wire.ReceiptSend](env)
	if err != nil {
		return err
	}
	m, err := s.visibleMessage(s.ctx, req.Message)
	if err != nil {
		return err
	}
	if req.Kind == wire.ReceiptListened {
		if end := s.srv.playableMs(m); req.PositionMs > end {
			return wire.Errorf(wire.CodeOutOfRange, "position %d ms is past the end of message %s (%d ms)", req.PositionMs, m.ID, end)
		}
	} else {
		req.PositionMs = 0 // a delivered receipt has no position
	}
	r := wire.Receipt{Message: m.ID, Conversation: m.Conversation, User: s.user.ID, Device: s.device.ID,
		Kind: req.Kind, PositionMs: req.PositionMs, At: s.srv.now().UnixMilli()}
	err = s.srv.publishEvent(s.ctx, func() (*wire.Event, error) {
		ev, err := s.srv.store.PutReceipt(s.ctx, r)
		return &ev, err
	})
	if err != nil {
		return err
	}
	s.reply(wire.TypeOK, env.ID, wire.OK{})
	return nil
}

// playableMs is how far into m a listener can have played: nothing of a
// text, the duration of a finished voice message, what has arrived of one
// still recording; plus one frame of slack for rounding.
func (srv *Server) playableMs(m wire.Message) int64 {
	frameMs := wire.FrameDuration.Milliseconds()
	switch {
	case m.Kind != wire.KindVoice:
		return 0
	case m.State == wire.StateRecording:
		v := srv.view(m.ID)
		if v == nil {
			return frameMs
		}
		return int64(v.received())*frameMs + frameMs
	default:
		return max(m.DurationMs, int64(m.Packets)*frameMs) + frameMs
	}
}

func (s *session) conversationCreate(env wire.Envelope) error {
	req, err := wire.Decode[wire.ConversationCreate](env)
	if err != nil {
		return err
	}
	if req.Kind == wire.ConversationGroup {
		if req.Title, err = canonicalName("title", req.Title); err != nil {
			return err
		}
	}
	users, err := s.srv.store.Users(s.ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]wire.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	members := []wire.User{s.user}
	seen := map[string]bool{s.user.ID: true}
	for _, id := range req.Members {
		u, ok := byID[id]
		if !ok {
			return wire.Errorf(wire.CodeNotFound, "user %s not found", truncate(id))
		}
		if !seen[id] {
			seen[id] = true
			members = append(members, u)
		}
	}
	c := wire.Conversation{ID: ulid.Make().String(), Kind: req.Kind, Title: req.Title, Created: s.srv.now().UnixMilli(), Members: members}
	directKey := ""
	if req.Kind == wire.ConversationDirect {
		if len(members) != 2 {
			return wire.Errorf(wire.CodeBadRequest, "a direct conversation is with someone else")
		}
		ids := []string{members[0].ID, members[1].ID}
		sort.Strings(ids)
		directKey = strings.Join(ids, ":")
		c.Title = ""
	}
	err = s.srv.publishEvent(s.ctx, func() (*wire.Event, error) {
		var ev *wire.Event
		var err error
		c, ev, err = s.srv.store.CreateConversation(s.ctx, c, directKey)
		return ev, err
	})
	if err != nil {
		return err
	}
	s.reply(wire.TypeConversationInfo, env.ID, wire.ConversationInfo{Conversation: c})
	return nil
}

// listPageOverhead is room for the envelope and a list page's own fields
// (conversation id, next, more) around its items.
const listPageOverhead = 512

// pageOf returns the items from from on that fit in one frame, the index
// to ask from next and whether items remain: the paged lists of wire's
// "Lists". At least one item is returned while any remain (every item is
// far smaller than a frame).
func pageOf[T any](items []T, from int) ([]T, int, bool, error) {
	from = min(from, len(items))
	size := listPageOverhead
	end := from
	for ; end < len(items); end++ {
		b, err := json.Marshal(items[end])
		if err != nil {
			return nil, 0, false, err
		}
		if size += len(b) + 1; size > wire.MaxFrameBytes && end > from {
			break
		}
	}
	return append(make([]T, 0, end-from), items[from:end]...), end, end < len(items), nil
}

func (s *session) conversationList(env wire.Envelope) error {
	req, err := wire.Decode[wire.Page](env)
	if err != nil {
		return err
	}
	convs, err := s.srv.store.Conversations(s.ctx, s.user.ID)
	if err != nil {
		return err
	}
	page, next, more, err := pageOf(convs, req.From)
	if err != nil {
		return err
	}
	s.reply(wire.TypeConversations, env.ID, wire.Conversations{Conversations: page, Next: next, More: more})
	return nil
}

func (s *session) conversationMembers(env wire.Envelope) error {
	req, err := wire.Decode[wire.MemberList](env)
	if err != nil {
		return err
	}
	c, err := s.memberConversation(req.Conversation)
	if err != nil {
		return err
	}
	page, next, more, err := pageOf(c.Members, req.From)
	if err != nil {
		return err
	}
	s.reply(wire.TypeMembers, env.ID, wire.Members{Conversation: c.ID, Members: page, Next: next, More: more})
	return nil
}

func (s *session) conversationAdd(env wire.Envelope) error {
	req, err := wire.Decode[wire.ConversationAdd](env)
	if err != nil {
		return err
	}
	c, err := s.memberConversation(req.Conversation)
	if err != nil {
		return err
	}
	if c.Kind != wire.ConversationGroup || c.Lobby {
		return wire.Errorf(wire.CodeBadRequest, "members can be added to groups only")
	}
	if _, err := s.srv.store.User(s.ctx, req.User); errors.Is(err, ErrNotFound) {
		return wire.Errorf(wire.CodeNotFound, "user %s not found", truncate(req.User))
	} else if err != nil {
		return err
	}
	err = s.srv.publishEvent(s.ctx, func() (*wire.Event, error) {
		var ev *wire.Event
		var err error
		c, ev, err = s.srv.store.AddMember(s.ctx, req.Conversation, req.User, s.srv.now())
		return ev, err
	})
	if err != nil {
		return err
	}
	s.reply(wire.TypeConversationInfo, env.ID, wire.ConversationInfo{Conversation: c})
	return nil
}

func (s *session) conversationRename(env wire.Envelope) error {
	req, err := wire.Decode[wire.ConversationRename](env)
	if err != nil {
		return err
	}
	c, err := s.memberConversation(req.Conversation)
	if err != nil {
		return err
	}
	if c.Kind != wire.ConversationGroup || c.Lobby {
		return wire.Errorf(wire.CodeBadRequest, "only groups can be renamed")
	}
	err = s.srv.publishEvent(s.ctx, func() (*wire.Event, error) {
		var ev *wire.Event
		var err error
		c, ev, err = s.srv.store.RenameConversation(s.ctx, req.Conversation, req.Title)
		return ev, err
	})
	if err != nil {
		return err
	}
	s.reply(wire.TypeConversationInfo, env.ID, wire.ConversationInfo{Conversation: c})
	return nil
}

func (s *session) conversationLeave(env wire.Envelope) error {
	req, err := wire.Decode[wire.ConversationRef](env)
	if err != nil {
		return err
	}
	c, err := s.memberConversation(req.Conversation)
	if err != nil {
		return err
	}
	if c.Lobby {
		return wire.Errorf(wire.CodeBadRequest, "everyone stays in the Lobby")
	}
	err = s.srv.publishEvent(s.ctx, func() (*wire.Event, error) {
		_, ev, err := s.srv.store.RemoveMember(s.ctx, req.Conversation, s.user.ID)
		return ev, err
	}, s.user.ID)
	if err != nil {
		return err
	}
	s.reply(wire.TypeOK, env.ID, wire.OK{})
	return nil
}

func (s *session) userList(env wire.Envelope) error {
	req, err := wire.Decode[wire.Page](env)
	if err != nil {
		return err
	}
	users, err := s.srv.store.Users(s.ctx)
	if err != nil {
		return err
	}
	page, next, more, err := pageOf(users, req.From)
	if err != nil {
		return err
	}
	s.reply(wire.TypeUsers, env.ID, wire.Users{Users: page, Next: next, More: more})
	return nil
}

func (s *session) deviceList(env wire.Envelope) error {
	req, err := wire.Decode[wire.Page](env)
	if err != nil {
		return err
	}
	devices, err := s.srv.store.Devices(s.ctx, s.user.ID)
	if err != nil {
		return err
	}
	for i := range devices {
		devices[i].Current = devices[i].ID == s.device.ID
	}
	page, next, more, err := pageOf(devices, req.From)
	if err != nil {
		return err
	}
	s.reply(wire.TypeDevices, env.ID, wire.Devices{Devices: page, Next: next, More: more})
	return nil
}

func (s *session) deviceRevoke(env wire.Envelope) error {
	req, err := wire.Decode[wire.DeviceRevoke](env)
	if err != nil {
		return err
	}
	if err := s.srv.store.RevokeDevice(s.ctx, s.user.ID, req.Device); err != nil {
		if errors.Is(err, ErrNotFound) {
			return wire.Errorf(wire.CodeNotFound, "device %s not found", truncate(req.Device))
		}
		return err
	}
	s.reply(wire.TypeOK, env.ID, wire.OK{})
	// Wherever it is connected. The token no longer works, so a failed
	// publish leaves a session that cannot come back once it drops.
	if err := s.srv.broker.Disconnect(s.ctx, Disconnect{Device: req.Device, Code: wire.CloseRevoked, Reason: "device signed out"}); err != nil {
		s.srv.log.Error("disconnect revoked device", "device", req.Device, "err", err)
	}
	return nil
}

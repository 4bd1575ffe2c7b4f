package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"parley/server/wire"
)

// SendText queues a text message and returns its id. It only writes the
// store; the message is sent when connected.
func (c *Client) SendText(conversation, text string) (string, error) {
	id, err := c.store.createText(c.ctx, conversation, text, time.Now())
	if err != nil {
		return "", err
	}
	c.hints.post(ConversationChanged{Conversation: conversation})
	c.hints.post(ConversationsChanged{})
	wake(c.outboxWake)
	return id, nil
}

// VoiceSend is a voice message being recorded. Its methods are meant for
// one goroutine (the encoder's); they only write the store and signal the
// sender, so they never wait for the network.
type VoiceSend struct {
	c            *Client
	id           string
	conversation string
	next         uint32
	done         bool
}

// StartVoice begins a voice message in a conversation. It works offline:
// everything is queued and sent when the server is reachable.
func (c *Client) StartVoice(conversation string) (*VoiceSend, error) {
	if conversation == "" {
		return nil, errors.New("start voice: no conversation")
	}
	id, err := c.store.createVoice(c.ctx, conversation, time.Now())
	if err != nil {
		return nil, err
	}
	c.hints.post(ConversationChanged{Conversation: conversation})
	c.hints.post(ConversationsChanged{})
	wake(c.outboxWake)
	return &VoiceSend{c: c, id: id, conversation: conversation}, nil
}

// ID returns the message id.
func (v *VoiceSend) ID() string { return v.id }

// Packets returns how many packets were pushed.
func (v *VoiceSend) Packets() uint32 { return v.next }

// Push stores the next encoded packet (1..wire.MaxPacketBytes bytes) and
// signals the sender. data is copied.
func (v *VoiceSend) Push(data []byte) error {
	if v.done {
		return ErrVoiceEnded
	}
	if len(data) == 0 || len(data) > wire.MaxPacketBytes {
		return fmt.Errorf("push packet %d of %s: %d bytes (want 1..%d)", v.next, v.id, len(data), wire.MaxPacketBytes)
	}
	if v.next >= wire.MaxMessagePackets {
		return fmt.Errorf("push packet %d of %s: message longer than %v", v.next, v.id, wire.MaxMessageDuration)
	}
	if err := v.c.store.pushPacket(v.c.ctx, v.id, v.next, data); err != nil {
		return err
	}
	v.c.trace(TracePushed, v.id, v.next, time.Now())
	v.next++
	wake(v.c.outboxWake)
	v.c.watch.notify(v.id)
	v.c.hints.post(ConversationChanged{Conversation: v.conversation})
	return nil
}

// End finishes the message with its duration and waveform summary (at
// most wire.MaxWaveformPoints points, 0..255).
func (v *VoiceSend) End(duration time.Duration, waveform []byte) error {
	if v.done {
		return ErrVoiceEnded
	}
	if len(waveform) > wire.MaxWaveformPoints {
		waveform = downsample(waveform, wire.MaxWaveformPoints)
	}
	ms := duration.Milliseconds()
	if max := wire.MaxMessageDuration.Milliseconds(); ms > max {
		ms = max
	}
	if ms < 0 {
		ms = 0
	}
	if err := v.c.store.endVoice(v.c.ctx, v.id, ms, append([]byte(nil), waveform...)); err != nil {
		return err
	}
	v.done = true
	wake(v.c.outboxWake)
	v.c.watch.notify(v.id)
	v.c.hints.post(ConversationChanged{Conversation: v.conversation})
	v.c.hints.post(ConversationsChanged{})
	return nil
}

// Cancel withdraws the message. It is hidden here at once; if no packet
// was pushed it disappears from the store, otherwise it stays as
// cancelled until the outbox has withdrawn it from the server. Either
// way a message the server already knows is withdrawn there (members
// online may have heard part of it live; nobody gets it later).
func (v *VoiceSend) Cancel() error {
	if v.done {
		return nil
	}
	dropped, err := v.c.store.dropVoice(v.c.ctx, v.id)
	if err != nil {
		return err
	}
	if !dropped {
		if err := v.c.store.cancelVoice(v.c.ctx, v.id); err != nil {
			return err
		}
	}
	// Either way the sender looks again: a dropped message it already
	// announced with voice.start is withdrawn there too.
	wake(v.c.outboxWake)
	v.done = true
	v.c.watch.notify(v.id)
	v.c.hints.post(ConversationChanged{Conversation: v.conversation})
	v.c.hints.post(ConversationsChanged{})
	return nil
}

func downsample(w []byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		lo, hi := i*len(w)/n, (i+1)*len(w)/n
		var peak byte
		for _, x := range w[lo:hi] {
			peak = max(peak, x)
		}
		out[i] = peak
	}
	return out
}

// MarkDelivered queues a delivered receipt for a message.
func (c *Client) MarkDelivered(message string) error {
	return c.queueReceipt(message, wire.ReceiptDelivered, 0)
}

// MarkListened records that this account listened to a message up to
// position: at once in the store (Listened, Position) and, through the
// outbox, on the server and the account's other devices.
func (c *Client) MarkListened(message string, position time.Duration) error {
	if position < 0 {
		position = 0
	}
	return c.queueReceipt(message, wire.ReceiptListened, position.Milliseconds())
}

func (c *Client) queueReceipt(message string, kind wire.ReceiptKind, positionMs int64) error {
	conv, err := c.store.messageConversation(c.ctx, message)
	if err != nil {
		return fmt.Errorf("mark %s: %w", kind, err)
	}
	if err := c.store.queueReceipt(c.ctx, message, kind, positionMs, time.Now()); err != nil {
		return err
	}
	c.hints.post(ConversationChanged{Conversation: conv})
	c.hints.post(ConversationsChanged{})
	wake(c.receiptWake)
	return nil
}

// CreateConversation creates a group (title, members) or opens the direct
// conversation with the one user in members. It needs the connection.
func (c *Client) CreateConversation(ctx context.Context, kind wire.ConversationKind, title string, members []string) (Conversation, error) {
	s := c.session()
	if s == nil {
		return Conversation{}, fmt.Errorf("create conversation: %w", ErrNotConnected)
	}
	ci, err := call[wire.ConversationInfo](ctx, s, wire.TypeConversationCreate, wire.ConversationCreate{Kind: kind, Title: title, Members: members})
	if err != nil {
		return Conversation{}, err
	}
	return c.storeConversation(ctx, ci.Conversation)
}

func (c *Client) storeConversation(ctx context.Context, wc wire.Conversation) (Conversation, error) {
	if err := c.store.putConversation(ctx, wc); err != nil {
		return Conversation{}, err
	}
	c.hints.post(ConversationsChanged{})
	c.hints.post(ConversationChanged{Conversation: wc.ID})
	return c.store.Conversation(ctx, wc.ID)
}

// AddMember adds a user to a group.
func (c *Client) AddMember(ctx context.Context, conversation, user string) error {
	s := c.session()
	if s == nil {
		return fmt.Errorf("add member: %w", ErrNotConnected)
	}
	ci, err := call[wire.ConversationInfo](ctx, s, wire.TypeConversationAdd, wire.ConversationAdd{Conversation: conversation, User: user})
	if err != nil {
		return err
	}
	_, err = c.storeConversation(ctx, ci.Conversation)
	return err
}

// Rename gives a group a new title.
func (c *Client) Rename(ctx context.Context, conversation, title string) error {
	s := c.session()
	if s == nil {
		return fmt.Errorf("rename: %w", ErrNotConnected)
	}
	ci, err := call[wire.ConversationInfo](ctx, s, wire.TypeConversationRename, wire.ConversationRename{Conversation: conversation, Title: title})
	if err != nil {
		return err
	}
	_, err = c.storeConversation(ctx, ci.Conversation)
	return err
}

// Leave leaves a group. Its history stays in the store.
func (c *Client) Leave(ctx context.Context, conversation string) error {
	s := c.session()
	if s == nil {
		return fmt.Errorf("leave: %w", ErrNotConnected)
	}
	if _, err := s.request(ctx, wire.TypeConversationLeave, wire.ConversationRef{Conversation: conversation}); err != nil {
		return err
	}
	if _, err := c.store.db.ExecContext(ctx, "UPDATE conversations SET member = 0 WHERE id = ?", conversation); err != nil {
		return fmt.Errorf("leave %s: %w", conversation, err)
	}
	c.hints.post(ConversationsChanged{})
	return nil
}

// ListUsers returns the server's accounts (and caches them).
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	s := c.session()
	if s == nil {
		return nil, fmt.Errorf("list users: %w", ErrNotConnected)
	}
	users, err := listUsers(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := c.store.putUsers(ctx, users); err != nil {
		return nil, err
	}
	return users, nil
}

// ListDevices returns the account's signed-in devices.
func (c *Client) ListDevices(ctx context.Context) ([]Device, error) {
	s := c.session()
	if s == nil {
		return nil, fmt.Errorf("list devices: %w", ErrNotConnected)
	}
	ds, err := call[wire.Devices](ctx, s, wire.TypeDeviceList, nil)
	return ds.Devices, err
}

// RevokeDevice signs another device of the account out.
func (c *Client) RevokeDevice(ctx context.Context, device string) error {
	s := c.session()
	if s == nil {
		return fmt.Errorf("revoke device: %w", ErrNotConnected)
	}
	_, err := s.request(ctx, wire.TypeDeviceRevoke, wire.DeviceRevoke{Device: device})
	return err
}

// SignOut signs this device out: its token is revoked on the server when
// connected (best effort) and forgotten locally, and Run returns
// ErrSignedOut. The cache and the outbox stay in the store.
func (c *Client) SignOut(ctx context.Context) error {
	s := c.session()
	if s != nil {
		if _, err := s.request(ctx, wire.TypeDeviceRevoke, wire.DeviceRevoke{Device: s.welcome.Device.ID}); err != nil {
			c.log.Info("revoke on sign-out failed", "err", err)
		}
	}
	c.mu.Lock()
	c.signedOut = true
	s = c.sess
	c.mu.Unlock()
	if err := c.store.SetToken(ctx, ""); err != nil {
		return err
	}
	if s != nil {
		s.stop(ErrSignedOut)
	}
	return nil
}

// listUsers reads every page of the server's accounts.
func listUsers(ctx context.Context, s *session) ([]wire.User, error) {
	users := []wire.User{}
	for from, more := 0, true; more; {
		page, err := call[wire.Users](ctx, s, wire.TypeUserList, wire.Page{From: from})
		if err != nil {
			return nil, err
		}
		users = append(users, page.Users...)
		if page.Next <= from && page.More {
			return nil, fmt.Errorf("list users: page at %d does not advance", from)
		}
		from, more = page.Next, page.More
	}
	return users, nil
}

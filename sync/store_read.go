package sync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"parley/server/wire"
)

// ErrNotFound is returned for a message or conversation the store does
// not hold.
var ErrNotFound = errors.New("not found")

// myID is the signed-in user's id ("" before sign-in), through a prepared
// statement: the UI reads a live message a dozen times a second, and
// parsing the SQL each time cost more than running it.
func (s *Store) myID(ctx context.Context) (string, error) {
	st, err := s.prepared(ctx, "SELECT value FROM meta WHERE key = ?")
	if err != nil {
		return "", err
	}
	var v string
	err = st.QueryRowContext(ctx, metaUserID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// Conversations returns the account's conversations (including those it
// left), the Lobby first, then by last activity, newest first.
func (s *Store) Conversations(ctx context.Context) ([]Conversation, error) {
	me, err := s.myID(ctx)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	// One pass over the messages gives every conversation's last
	// activity and its waiting voice and text counts.
	rows, err := s.db.QueryContext(ctx, `
		SELECT c.id, c.kind, c.title, c.lobby, c.created, c.member,
			COALESCE(a.last, 0), COALESCE(a.voice, 0), COALESCE(a.text, 0),
			c.id IN (SELECT conversation FROM muted)
		FROM conversations c LEFT JOIN (
			SELECT m.conversation, MAX(m.created) AS last,
				SUM(m.kind = 'voice' AND `+waitingSQL+`) AS voice,
				SUM(m.kind = 'text' AND `+waitingSQL+`) AS text
			FROM messages m LEFT JOIN playback p ON p.message = m.id
			GROUP BY m.conversation) a ON a.conversation = c.id`, me, me)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	defer rows.Close()
	var cs []Conversation
	index := map[string]int{}
	for rows.Next() {
		var c Conversation
		var created, last int64
		if err := rows.Scan(&c.ID, &c.Kind, &c.Title, &c.Lobby, &created, &c.Member, &last, &c.Unplayed, &c.Unread, &c.Muted); err != nil {
			return nil, fmt.Errorf("conversations: %w", err)
		}
		c.Created = msTime(created)
		c.LastActivity = c.Created
		if last > created {
			c.LastActivity = msTime(last)
		}
		index[c.ID] = len(cs)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	mrows, err := s.db.QueryContext(ctx, `
		SELECT m.conversation, m.user_id, COALESCE(u.name, '')
		FROM members m LEFT JOIN users u ON u.id = m.user_id ORDER BY m.conversation, u.name`)
	if err != nil {
		return nil, fmt.Errorf("conversation members: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var conv string
		var u User
		if err := mrows.Scan(&conv, &u.ID, &u.Name); err != nil {
			return nil, fmt.Errorf("conversation members: %w", err)
		}
		if i, ok := index[conv]; ok {
			cs[i].Members = append(cs[i].Members, u)
		}
	}
	if err := mrows.Err(); err != nil {
		return nil, fmt.Errorf("conversation members: %w", err)
	}
	pres, err := s.Presence(ctx)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	for i := range cs {
		cs[i].Name = conversationName(cs[i], me)
	}
	for _, p := range pres {
		i, ok := index[p.Conversation]
		if !ok || p.State != wire.PresenceTalking || p.User == me {
			continue
		}
		name := p.User
		for _, u := range cs[i].Members {
			if u.ID == p.User && u.Name != "" {
				name = u.Name
			}
		}
		cs[i].Talking = append(cs[i].Talking, name)
	}
	slices.SortStableFunc(cs, func(a, b Conversation) int {
		if a.Lobby != b.Lobby {
			if a.Lobby {
				return -1
			}
			return 1
		}
		return b.LastActivity.Compare(a.LastActivity)
	})
	return cs, nil
}

// conversationName is what the list calls c: its title, or the other
// members' names (the account's own name when it is alone).
func conversationName(c Conversation, me string) string {
	if c.Title != "" {
		return c.Title
	}
	var names, mine []string
	for _, u := range c.Members {
		if u.ID == me {
			mine = append(mine, u.Name)
		} else {
			names = append(names, u.Name)
		}
	}
	if len(names) == 0 {
		names = mine
	}
	return strings.Join(names, ", ")
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id string) (Conversation, error) {
	cs, err := s.Conversations(ctx)
	if err != nil {
		return Conversation{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
}

const messageColumns = `m.id, m.conversation, COALESCE(m.seq, 0), m.sender, m.sender_name, m.kind, m.created,
	m.state, m.codec, m.duration_ms, m.packets, m.waveform, m.body,
	o.message IS NOT NULL, COALESCE(p.listened, 0), COALESCE(p.position_ms, 0)`

const messageFrom = ` FROM messages m
	LEFT JOIN outbox o ON o.message = m.id
	LEFT JOIN playback p ON p.message = m.id `

func scanMessage(sc interface{ Scan(...any) error }, me string) (Message, error) {
	var m Message
	var created, dur int64
	var pending, listened bool
	var pos int64
	if err := sc.Scan(&m.ID, &m.Conversation, &m.Seq, &m.SenderID, &m.SenderName, &m.Kind, &created,
		&m.State, &m.Codec, &dur, &m.Packets, &m.Waveform, &m.Text, &pending, &listened, &pos); err != nil {
		return Message{}, err
	}
	m.Created = msTime(created)
	m.Duration = time.Duration(dur) * time.Millisecond
	m.Pending = pending
	m.Mine = m.SenderID == me
	m.Listened = listened
	m.Position = time.Duration(pos) * time.Millisecond
	return m, nil
}

// Messages returns up to limit messages of a conversation in order. With
// before == 0 it returns the newest ones followed by every message not
// yet numbered by the server (pending, in creation order); otherwise the
// newest ones with Seq < before (page backwards with before = the first
// returned Seq).
func (s *Store) Messages(ctx context.Context, conversation string, before int64, limit int) ([]Message, error) {
	me, err := s.myID(ctx)
	if err != nil {
		return nil, fmt.Errorf("messages of %s: %w", conversation, err)
	}
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + messageColumns + messageFrom + `WHERE m.conversation = ? AND m.seq IS NOT NULL AND m.state != 'cancelled'`
	args := []any{conversation}
	if before > 0 {
		q += ` AND m.seq < ?`
		args = append(args, before)
	}
	q += ` ORDER BY m.seq DESC LIMIT ?`
	args = append(args, limit)
	ms, err := s.queryMessages(ctx, me, q, args...)
	if err != nil {
		return nil, fmt.Errorf("messages of %s: %w", conversation, err)
	}
	slices.Reverse(ms)
	if before == 0 {
		pending, err := s.queryMessages(ctx, me, `SELECT `+messageColumns+messageFrom+
			`WHERE m.conversation = ? AND m.seq IS NULL AND m.state != 'cancelled' ORDER BY m.local`, conversation)
		if err != nil {
			return nil, fmt.Errorf("pending messages of %s: %w", conversation, err)
		}
		ms = append(ms, pending...)
	}
	if err := s.fillReceipts(ctx, conversation, "", ms); err != nil {
		return nil, fmt.Errorf("messages of %s: %w", conversation, err)
	}
	return ms, nil
}

func (s *Store) queryMessages(ctx context.Context, me, q string, args ...any) ([]Message, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ms := make([]Message, 0, 64)
	for rows.Next() {
		m, err := scanMessage(rows, me)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// Message returns one message by id.
func (s *Store) Message(ctx context.Context, id string) (Message, error) {
	me, err := s.myID(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	st, err := s.prepared(ctx, `SELECT `+messageColumns+messageFrom+`WHERE m.id = ?`)
	if err != nil {
		return Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	m, err := scanMessage(st.QueryRowContext(ctx, id), me)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	one := []Message{m}
	if err := s.fillReceipts(ctx, m.Conversation, id, one); err != nil {
		return Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	return one[0], nil
}

// Packets returns up to limit cached packets of a message from packet
// from on, in order; it stops at the first packet not cached.
func (s *Store) Packets(ctx context.Context, message string, from uint32, limit int) ([]Packet, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	st, err := s.prepared(ctx, "SELECT seq, data FROM packets WHERE message = ? AND seq >= ? ORDER BY seq LIMIT ?")
	if err != nil {
		return nil, fmt.Errorf("packets of %s: %w", message, err)
	}
	rows, err := st.QueryContext(ctx, message, from, limit)
	if err != nil {
		return nil, fmt.Errorf("packets of %s: %w", message, err)
	}
	defer rows.Close()
	var ps []Packet
	next := from
	for rows.Next() {
		var p Packet
		if err := rows.Scan(&p.Seq, &p.Data); err != nil {
			return nil, fmt.Errorf("packets of %s: %w", message, err)
		}
		if p.Seq != next {
			break
		}
		ps = append(ps, p)
		next++
	}
	return ps, rows.Err()
}

// CachedPackets returns how many packets of a message are cached from
// packet 0 without a gap.
func (s *Store) CachedPackets(ctx context.Context, message string) (uint32, error) {
	var n, max sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(seq) FROM packets WHERE message = ?", message).Scan(&n, &max)
	if err != nil {
		return 0, fmt.Errorf("cached packets of %s: %w", message, err)
	}
	if !n.Valid || n.Int64 == 0 {
		return 0, nil
	}
	if max.Int64+1 == n.Int64 { // no gap
		return uint32(n.Int64), nil
	}
	ps, err := s.Packets(ctx, message, 0, 0)
	return uint32(len(ps)), err
}

// packet returns one cached packet.
func (s *Store) packet(ctx context.Context, message string, seq uint32) ([]byte, bool, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, "SELECT data FROM packets WHERE message = ? AND seq = ?", message, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("packet %d of %s: %w", seq, message, err)
	}
	return data, true, nil
}

// Playback returns this account's listened state of a message.
func (s *Store) Playback(ctx context.Context, message string) (Playback, error) {
	var p Playback
	var pos int64
	err := s.db.QueryRowContext(ctx, "SELECT listened, position_ms FROM playback WHERE message = ?", message).Scan(&p.Listened, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return Playback{}, nil
	}
	if err != nil {
		return Playback{}, fmt.Errorf("playback of %s: %w", message, err)
	}
	p.Position = time.Duration(pos) * time.Millisecond
	return p, nil
}

// Receipts returns the receipts recorded for a message.
func (s *Store) Receipts(ctx context.Context, message string) ([]Receipt, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT user_id, kind, position_ms, at FROM receipts WHERE message = ? ORDER BY at", message)
	if err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", message, err)
	}
	defer rows.Close()
	var rs []Receipt
	for rows.Next() {
		var r Receipt
		var pos, at int64
		if err := rows.Scan(&r.User, &r.Kind, &pos, &at); err != nil {
			return nil, fmt.Errorf("receipts of %s: %w", message, err)
		}
		r.Position = time.Duration(pos) * time.Millisecond
		r.At = msTime(at)
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// Users returns the users the store knows, by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Name); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// Presence returns the last known presence of every user.
func (s *Store) Presence(ctx context.Context) ([]Presence, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT user_id, state, conversation FROM presence ORDER BY user_id")
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	defer rows.Close()
	var ps []Presence
	for rows.Next() {
		var p Presence
		if err := rows.Scan(&p.User, &p.State, &p.Conversation); err != nil {
			return nil, fmt.Errorf("presence: %w", err)
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// OutboxLen returns how many messages and receipts wait to be sent.
func (s *Store) OutboxLen(ctx context.Context) (messages, receipts int, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM outbox_receipts)").Scan(&messages, &receipts)
	if err != nil {
		return 0, 0, fmt.Errorf("outbox length: %w", err)
	}
	return messages, receipts, nil
}

// unplayedVoice returns recent voice messages from others that are not
// listened to and not fully cached, newest first, at most limit.
func (s *Store) unplayedVoice(ctx context.Context, limit int) ([]string, error) {
	me, err := s.myID(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT m.id FROM messages m LEFT JOIN playback p ON p.message = m.id
		WHERE m.kind = 'voice' AND m.sender != ? AND COALESCE(p.listened, 0) = 0
			AND m.state IN ('complete', 'abandoned')
			AND m.packets > (SELECT COUNT(*) FROM packets k WHERE k.message = m.id)
		ORDER BY m.created DESC LIMIT ?`, me, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

var _ = wire.KindVoice

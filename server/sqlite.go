package server

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/internal/sqlitedb"
	"parley/server/wire"
)

//go:embed migrations/*.sql
var migrations embed.FS

// sqliteStore is the embedded Store: one SQLite file in WAL mode. Every
// transaction is BEGIN IMMEDIATE (_txlock) so writers queue on the busy
// timeout instead of failing on a lock upgrade; reads run outside
// transactions and see committed data only.
type sqliteStore struct {
	db       *sql.DB
	epoch    string
	serverID string
}

// OpenSQLite opens (creating and migrating if needed) the store at path.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	db, err := sqlitedb.Open(path, "journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &sqliteStore{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate store %q: %w", path, err)
	}
	if err := s.initMeta(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("init store %q: %w", path, err)
	}
	return s, nil
}

// migrate applies the embedded migrations (sqlitedb.Migrate). Stores made
// before the migrations were shared with the client counted them in a
// schema_version table: that count becomes the file's user_version first.
func (s *sqliteStore) migrate(ctx context.Context) error {
	current, err := sqlitedb.Version(ctx, s.db)
	if err != nil {
		return err
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).Scan(&tables); err != nil {
		return fmt.Errorf("read legacy schema version: %w", err)
	}
	if current == 0 && tables > 0 {
		var legacy int
		if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&legacy); err != nil {
			return fmt.Errorf("read legacy schema version: %w", err)
		}
		if legacy > 0 {
			if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", legacy)); err != nil {
				return fmt.Errorf("carry legacy schema version %d: %w", legacy, err)
			}
		}
	}
	return sqlitedb.Migrate(ctx, s.db, migrations, "migrations")
}

func (s *sqliteStore) initMeta(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		get := func(key string) (string, error) {
			var v string
			err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				v = ulid.Make().String()
				_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, key, v)
			}
			return v, err
		}
		var err error
		if s.epoch, err = get("epoch"); err != nil {
			return err
		}
		if s.serverID, err = get("server_id"); err != nil {
			return err
		}
		return nil
	})
}

func (s *sqliteStore) EnsureLobby(ctx context.Context, id string, created time.Time) (string, error) {
	var lobby string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE lobby = 1`).Scan(&lobby)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		lobby = id
		_, err = tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, title, lobby, created) VALUES (?, ?, 'Lobby', 1, ?)`,
			id, wire.ConversationGroup, created.UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("ensure lobby: %w", err)
	}
	return lobby, nil
}

func (s *sqliteStore) Epoch() string    { return s.epoch }
func (s *sqliteStore) ServerID() string { return s.serverID }
func (s *sqliteStore) Close() error     { return s.db.Close() }

// tx runs fn in one immediate transaction.
func (s *sqliteStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlitedb.Tx(ctx, s.db, fn)
}

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func appendEvent(ctx context.Context, q queryer, ev *wire.Event, subject string) error {
	ev.Cursor = 0
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `INSERT INTO events (conversation_id, subject_user, body) VALUES (?, ?, ?)`, ev.Conversation, subject, body)
	if err != nil {
		return err
	}
	ev.Cursor, err = res.LastInsertId()
	return err
}

func (s *sqliteStore) CreateUser(ctx context.Context, name, nameKey, passHash string, join []string, now time.Time) (wire.User, []wire.Event, error) {
	u := wire.User{ID: ulid.Make().String(), Name: name}
	var events []wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ? OR name_key = ?`, name, nameKey).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return ErrNameTaken
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, name_key, pass_hash, created) VALUES (?, ?, ?, ?, ?)`, u.ID, name, nameKey, passHash, now.UnixMilli()); err != nil {
			return err
		}
		for _, conv := range join {
			ev, err := addMember(ctx, tx, conv, u.ID, now)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		return nil
	})
	if err != nil {
		return wire.User{}, nil, fmt.Errorf("create user %q: %w", name, err)
	}
	return u, events, nil
}

func (s *sqliteStore) BackfillNameKeys(ctx context.Context, key func(string) string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM users WHERE name_key = ''`)
	if err != nil {
		return fmt.Errorf("backfill name keys: %w", err)
	}
	type pair struct{ id, name string }
	var missing []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.id, &p.name); err != nil {
			rows.Close()
			return fmt.Errorf("backfill name keys: %w", err)
		}
		missing = append(missing, p)
	}
	rows.Close()
	if len(missing) == 0 {
		return nil
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, p := range missing {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET name_key = ? WHERE id = ?`, key(p.name), p.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backfill name keys: %w", err)
	}
	return nil
}

func (s *sqliteStore) UserByName(ctx context.Context, name string) (wire.User, string, error) {
	var u wire.User
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT id, name, pass_hash FROM users WHERE name = ?`, name).Scan(&u.ID, &u.Name, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return u, "", fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, "", fmt.Errorf("user %q: %w", name, err)
	}
	return u, hash, nil
}

func (s *sqliteStore) Users(ctx context.Context) ([]wire.User, error) {
	return queryUsers(ctx, s.db, `SELECT id, name FROM users ORDER BY name`)
}

func (s *sqliteStore) User(ctx context.Context, id string) (wire.User, error) {
	var u wire.User
	err := s.db.QueryRowContext(ctx, `SELECT id, name FROM users WHERE id = ?`, id).Scan(&u.ID, &u.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

func queryUsers(ctx context.Context, q queryer, query string, args ...any) ([]wire.User, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []wire.User{}
	for rows.Next() {
		var u wire.User
		if err := rows.Scan(&u.ID, &u.Name); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func (s *sqliteStore) CreateDevice(ctx context.Context, userID, name string, tokenHash []byte, now time.Time) (wire.Device, error) {
	d := wire.Device{ID: ulid.Make().String(), Name: name, Created: now.UnixMilli(), LastSeen: now.UnixMilli()}
	_, err := s.db.ExecContext(ctx, `INSERT INTO devices (id, user_id, name, token_hash, created, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, userID, name, tokenHash, d.Created, d.LastSeen)
	if err != nil {
		return wire.Device{}, fmt.Errorf("create device for %s: %w", userID, err)
	}
	return d, nil
}

func (s *sqliteStore) DeviceByToken(ctx context.Context, tokenHash []byte, now time.Time) (wire.Device, wire.User, error) {
	var d wire.Device
	var u wire.User
	err := s.db.QueryRowContext(ctx, `SELECT d.id, d.name, d.created, u.id, u.name FROM devices d JOIN users u ON u.id = d.user_id
		WHERE d.token_hash = ? AND d.revoked = 0`, tokenHash).Scan(&d.ID, &d.Name, &d.Created, &u.ID, &u.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return d, u, fmt.Errorf("device by token: %w", ErrNotFound)
	}
	if err != nil {
		return d, u, fmt.Errorf("device by token: %w", err)
	}
	// Record the sign-in, but write (and fsync) only when the stored time
	// is stale: a room of devices reconnecting at once should not queue
	// thousands of commits.
	var lastSeen int64
	if err := s.db.QueryRowContext(ctx, `SELECT last_seen FROM devices WHERE id = ?`, d.ID).Scan(&lastSeen); err != nil {
		return d, u, fmt.Errorf("device %s: %w", d.ID, err)
	}
	d.LastSeen = lastSeen
	if now.UnixMilli()-lastSeen >= lastSeenResolution.Milliseconds() {
		d.LastSeen = now.UnixMilli()
		if _, err := s.db.ExecContext(ctx, `UPDATE devices SET last_seen = ? WHERE id = ?`, d.LastSeen, d.ID); err != nil {
			return d, u, fmt.Errorf("touch device %s: %w", d.ID, err)
		}
	}
	return d, u, nil
}

func (s *sqliteStore) Devices(ctx context.Context, userID string) ([]wire.Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created, last_seen FROM devices WHERE user_id = ? AND revoked = 0 ORDER BY created`, userID)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", userID, err)
	}
	defer rows.Close()
	devices := []wire.Device{}
	for rows.Next() {
		var d wire.Device
		if err := rows.Scan(&d.ID, &d.Name, &d.Created, &d.LastSeen); err != nil {
			return nil, err
		}
		devices = append(devices, d)
	}
	return devices, rows.Err()
}

func (s *sqliteStore) RevokeDevice(ctx context.Context, userID, deviceID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET revoked = 1 WHERE id = ? AND user_id = ? AND revoked = 0`, deviceID, userID)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", deviceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke device %s: %w", deviceID, ErrNotFound)
	}
	return nil
}

// lastSeenResolution is how stale a device's last sign-in time may get
// before a new sign-in writes it.
const lastSeenResolution = 10 * time.Minute

const conversationColumns = `c.id, c.kind, c.title, c.lobby, c.created`

func scanConversation(sc interface{ Scan(...any) error }) (wire.Conversation, error) {
	var c wire.Conversation
	err := sc.Scan(&c.ID, &c.Kind, &c.Title, &c.Lobby, &c.Created)
	return c, err
}

func loadConversation(ctx context.Context, q queryer, id string) (wire.Conversation, error) {
	c, err := scanConversation(q.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("conversation %s: %w", id, err)
	}
	c.Members, err = queryUsers(ctx, q, `SELECT u.id, u.name FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY m.joined, u.name`, id)
	if err != nil {
		return c, fmt.Errorf("members of %s: %w", id, err)
	}
	c.MemberCount = len(c.Members)
	return c, nil
}

// loadConversationMeta loads a conversation without its members, with
// their count.
func loadConversationMeta(ctx context.Context, q queryer, id string) (wire.Conversation, error) {
	c, err := scanConversation(q.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("conversation %s: %w", id, err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE conversation_id = ?`, id).Scan(&c.MemberCount); err != nil {
		return c, fmt.Errorf("members of %s: %w", id, err)
	}
	return c, nil
}

func (s *sqliteStore) Conversation(ctx context.Context, id string) (wire.Conversation, error) {
	return loadConversation(ctx, s.db, id)
}

func (s *sqliteStore) Conversations(ctx context.Context, userID string) ([]wire.Conversation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id FROM conversations c JOIN members m ON m.conversation_id = c.id
		WHERE m.user_id = ? ORDER BY c.lobby DESC, c.created`, userID)
	if err != nil {
		return nil, fmt.Errorf("conversations of %s: %w", userID, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	convs := make([]wire.Conversation, 0, len(ids))
	for _, id := range ids {
		c, err := loadConversationMeta(ctx, s.db, id)
		if err != nil {
			return nil, err
		}
		convs = append(convs, c)
	}
	return convs, nil
}

func (s *sqliteStore) MemberIDs(ctx context.Context, conversationID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM members WHERE conversation_id = ?`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", conversationID, err)
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

func (s *sqliteStore) IsMember(ctx context.Context, conversationID, userID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE conversation_id = ? AND user_id = ?`, conversationID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("membership of %s in %s: %w", userID, conversationID, err)
	}
	return n > 0, nil
}

func (s *sqliteStore) CreateConversation(ctx context.Context, c wire.Conversation, directKey string) (wire.Conversation, *wire.Event, error) {
	var ev *wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if directKey != "" {
			var id string
			err := tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE direct_key = ?`, directKey).Scan(&id)
			if err == nil {
				c, err = loadConversation(ctx, tx, id)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var key any
		if directKey != "" {
			key = directKey
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, title, direct_key, created) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Kind, c.Title, key, c.Created); err != nil {
			return err
		}
		for _, m := range c.Members {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO members (conversation_id, user_id, joined) VALUES (?, ?, ?)`, c.ID, m.ID, c.Created); err != nil {
				return err
			}
		}
		var err error
		if c, err = loadConversation(ctx, tx, c.ID); err != nil {
			return err
		}
		e := wire.ConversationEvent(c)
		if err := appendEvent(ctx, tx, &e, ""); err != nil {
			return err
		}
		ev = &e
		return nil
	})
	if err != nil {
		return wire.Conversation{}, nil, fmt.Errorf("create conversation: %w", err)
	}
	return c, ev, nil
}

// addMember adds userID to a conversation; its event carries the
// conversation without members and the one who joined (a delta, so that
// the event's size does not grow with the conversation).
func addMember(ctx context.Context, tx *sql.Tx, conversationID, userID string, now time.Time) (wire.Event, error) {
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO members (conversation_id, user_id, joined) VALUES (?, ?, ?)`, conversationID, userID, now.UnixMilli()); err != nil {
		return wire.Event{}, err
	}
	c, err := loadConversationMeta(ctx, tx, conversationID)
	if err != nil {
		return wire.Event{}, err
	}
	var u wire.User
	if err := tx.QueryRowContext(ctx, `SELECT id, name FROM users WHERE id = ?`, userID).Scan(&u.ID, &u.Name); err != nil {
		return wire.Event{}, fmt.Errorf("user %s: %w", userID, err)
	}
	ev := wire.ConversationEvent(c)
	ev.Added = []wire.User{u}
	return ev, appendEvent(ctx, tx, &ev, "")
}

func (s *sqliteStore) AddMember(ctx context.Context, conversationID, userID string, now time.Time) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		ev, err = addMember(ctx, tx, conversationID, userID, now)
		return err
	})
	if err != nil {
		return wire.Conversation{}, nil, fmt.Errorf("add %s to %s: %w", userID, conversationID, err)
	}
	return *ev.Info, &ev, nil
}

func (s *sqliteStore) RemoveMember(ctx context.Context, conversationID, userID string) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE conversation_id = ? AND user_id = ?`, conversationID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		c, err := loadConversationMeta(ctx, tx, conversationID)
		if err != nil {
			return err
		}
		ev = wire.ConversationEvent(c)
		ev.Removed = []string{userID}
		return appendEvent(ctx, tx, &ev, userID)
	})
	if err != nil {
		return wire.Conversation{}, nil, fmt.Errorf("remove %s from %s: %w", userID, conversationID, err)
	}
	return *ev.Info, &ev, nil
}

func (s *sqliteStore) RenameConversation(ctx context.Context, conversationID, title string) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET title = ? WHERE id = ?`, title, conversationID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		c, err := loadConversation(ctx, tx, conversationID)
		if err != nil {
			return err
		}
		ev = wire.ConversationEvent(c)
		return appendEvent(ctx, tx, &ev, "")
	})
	if err != nil {
		return wire.Conversation{}, nil, fmt.Errorf("rename %s: %w", conversationID, err)
	}
	return *ev.Info, &ev, nil
}

const messageColumns = `m.id, m.conversation_id, m.seq, m.sender_id, u.name, m.kind, m.created, m.state, m.codec, m.duration_ms, m.packets, m.waveform, m.body`

func scanMessage(sc interface{ Scan(...any) error }) (wire.Message, error) {
	var m wire.Message
	var wave []byte
	err := sc.Scan(&m.ID, &m.Conversation, &m.Seq, &m.Sender.ID, &m.Sender.Name, &m.Kind, &m.Created, &m.State,
		&m.Codec, &m.DurationMs, &m.Packets, &wave, &m.Text)
	if len(wave) > 0 {
		m.Waveform = wave
	}
	return m, err
}

func loadMessage(ctx context.Context, q queryer, id string) (wire.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("message %s: %w", id, err)
	}
	return m, nil
}

func (s *sqliteStore) Message(ctx context.Context, id string) (wire.Message, error) {
	return loadMessage(ctx, s.db, id)
}

func (s *sqliteStore) CreateMessage(ctx context.Context, m wire.Message) (wire.Message, *wire.Event, error) {
	var ev *wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		existing, err := loadMessage(ctx, tx, m.ID)
		if err == nil {
			m = existing
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.QueryRowContext(ctx, `UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`, m.Conversation).Scan(&m.Seq); err != nil {
			return err
		}
		var wave any
		if len(m.Waveform) > 0 {
			wave = m.Waveform
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, kind, created, state, codec, duration_ms, packets, waveform, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.Conversation, m.Seq, m.Sender.ID, m.Kind, m.Created, m.State, m.Codec,
			m.DurationMs, m.Packets, wave, m.Text); err != nil {
			return err
		}
		if m, err = loadMessage(ctx, tx, m.ID); err != nil {
			return err
		}
		e := wire.MessageEvent(m)
		if err := appendEvent(ctx, tx, &e, ""); err != nil {
			return err
		}
		ev = &e
		return nil
	})
	if err != nil {
		return wire.Message{}, nil, fmt.Errorf("create message %s: %w", m.ID, err)
	}
	return m, ev, nil
}

func (s *sqliteStore) FinishMessage(ctx context.Context, id string, state wire.MessageState, packets uint32, durationMs int64, waveform []uint8) (wire.Message, wire.Event, error) {
	var m wire.Message
	var ev wire.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var wave any
		if len(waveform) > 0 {
			wave = waveform
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, packets = ?, duration_ms = ?, waveform = COALESCE(?, waveform) WHERE id = ?`,
			state, packets, durationMs, wave, id); err != nil {
			return err
		}
		if state != wire.StateRecording {
			if _, err := tx.ExecContext(ctx, `DELETE FROM recording_leases WHERE message_id = ?`, id); err != nil {
				return err
			}
		}
		var err error
		if m, err = loadMessage(ctx, tx, id); err != nil {
			return err
		}
		ev = wire.MessageEvent(m)
		return appendEvent(ctx, tx, &ev, "")
	})
	if err != nil {
		return m, ev, fmt.Errorf("finish message %s: %w", id, err)
	}
	return m, ev, nil
}

func (s *sqliteStore) RecordingMessages(ctx context.Context) ([]wire.Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.state = ?`, wire.StateRecording)
	if err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	defer rows.Close()
	var msgs []wire.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

func (s *sqliteStore) ClaimRecording(ctx context.Context, id, node string, now, until time.Time, force bool) (bool, error) {
	held := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state wire.MessageState
		err := tx.QueryRowContext(ctx, `SELECT state FROM messages WHERE id = ?`, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != wire.StateRecording) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var holder string
		var end int64
		err = tx.QueryRowContext(ctx, `SELECT node, until FROM recording_leases WHERE message_id = ?`, id).Scan(&holder, &end)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case holder != node && end >= now.UnixMilli() && !force:
			return nil // another node's, still running
		}
		held = true
		_, err = tx.ExecContext(ctx, `INSERT INTO recording_leases (message_id, node, until) VALUES (?, ?, ?)
			ON CONFLICT (message_id) DO UPDATE SET node = excluded.node, until = excluded.until`, id, node, until.UnixMilli())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim recording %s for %s: %w", id, node, err)
	}
	return held, nil
}

func (s *sqliteStore) DeletePackets(ctx context.Context, messageID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM packets WHERE message_id = ?`, messageID); err != nil {
		return fmt.Errorf("delete packets of %s: %w", messageID, err)
	}
	return nil
}

func (s *sqliteStore) CommitPackets(ctx context.Context, packets []PacketRecord) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO packets (message_id, number, data) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range packets {
			if _, err := stmt.ExecContext(ctx, p.Message, p.Number, p.Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit %d packets: %w", len(packets), err)
	}
	return nil
}

func (s *sqliteStore) PacketCount(ctx context.Context, messageID string) (uint32, error) {
	var n uint32
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM packets WHERE message_id = ?`, messageID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count packets of %s: %w", messageID, err)
	}
	return n, nil
}

func (s *sqliteStore) Packets(ctx context.Context, messageID string, from uint32, limit int) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, data FROM packets WHERE message_id = ? AND number >= ? ORDER BY number LIMIT ?`, messageID, from, limit)
	if err != nil {
		return nil, fmt.Errorf("packets of %s from %d: %w", messageID, from, err)
	}
	defer rows.Close()
	var out [][]byte
	next := from
	for rows.Next() {
		var n uint32
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return nil, err
		}
		if n != next { // packets are committed in order; a gap ends the run
			break
		}
		out = append(out, data)
		next++
	}
	return out, rows.Err()
}

func (s *sqliteStore) PutReceipt(ctx context.Context, r wire.Receipt) (wire.Event, error) {
	ev := wire.Event{Kind: wire.EventReceipt, Conversation: r.Conversation, Receipt: &r}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO receipts (message_id, user_id, kind, device_id, position_ms, at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (message_id, user_id, kind) DO UPDATE SET device_id = excluded.device_id, position_ms = excluded.position_ms, at = excluded.at`,
			r.Message, r.User, r.Kind, r.Device, r.PositionMs, r.At); err != nil {
			return err
		}
		return appendEvent(ctx, tx, &ev, "")
	})
	if err != nil {
		return ev, fmt.Errorf("receipt %s on %s: %w", r.Kind, r.Message, err)
	}
	return ev, nil
}

func (s *sqliteStore) Events(ctx context.Context, userID string, since int64, conversationID string, limit int) ([]wire.Event, error) {
	var rows *sql.Rows
	var err error
	if conversationID != "" {
		rows, err = s.db.QueryContext(ctx, `SELECT cursor, body FROM events WHERE conversation_id = ? AND cursor > ?
			AND EXISTS (SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?) ORDER BY cursor LIMIT ?`,
			conversationID, since, conversationID, userID, limit)
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT cursor, body FROM events WHERE cursor > ?
			AND (conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?) OR subject_user = ?) ORDER BY cursor LIMIT ?`,
			since, userID, userID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("events of %s since %d: %w", userID, since, err)
	}
	defer rows.Close()
	events := []wire.Event{}
	for rows.Next() {
		var cursor int64
		var body []byte
		if err := rows.Scan(&cursor, &body); err != nil {
			return nil, err
		}
		var ev wire.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("event %d: %w", cursor, err)
		}
		ev.Cursor = cursor
		events = append(events, ev)
	}
	return events, rows.Err()
}

func (s *sqliteStore) EventsAfter(ctx context.Context, since int64, limit int) ([]LoggedEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cursor, subject_user, body FROM events WHERE cursor > ? ORDER BY cursor LIMIT ?`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("events since %d: %w", since, err)
	}
	defer rows.Close()
	var events []LoggedEvent
	for rows.Next() {
		var ev LoggedEvent
		var body []byte
		if err := rows.Scan(&ev.Cursor, &ev.Subject, &body); err != nil {
			return nil, fmt.Errorf("events since %d: %w", since, err)
		}
		cursor := ev.Cursor
		if err := json.Unmarshal(body, &ev.Event); err != nil {
			return nil, fmt.Errorf("event %d: %w", cursor, err)
		}
		ev.Cursor = cursor
		events = append(events, ev)
	}
	return events, rows.Err()
}

func (s *sqliteStore) LastCursor(ctx context.Context) (int64, error) {
	var c int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(cursor), 0) FROM events`).Scan(&c); err != nil {
		return 0, fmt.Errorf("last cursor: %w", err)
	}
	return c, nil
}

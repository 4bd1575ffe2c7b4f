// Package pgstore is the server's Store on PostgreSQL (pgx, pgxpool), for
// running several parleyd nodes on one database: parleyd -store
// postgres://… selects it.
//
// The schema is in migrations/, numbered and embedded like the SQLite
// store's; Open applies the missing ones under an advisory lock, so nodes
// that start at the same time migrate once.
//
// Guarantees, the same as the embedded SQLite store's:
//   - a packet is durable when CommitPackets returns (one transaction,
//     committed with the server's synchronous_commit, on by default): the
//     server acks it only after that;
//   - every change members can see appends its event in the same
//     transaction;
//   - the event cursor never lets a reader skip an event: each event's
//     cursor is taken from a single counter row with UPDATE … RETURNING,
//     whose row lock is held until the transaction commits, so event
//     writers are serialised on every node and cursor order is commit
//     order (a bare sequence is not: cursor N+1 can commit before N).
package pgstore

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"parley/server"
	"parley/server/wire"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key under which nodes migrate
// ("parley" in ASCII).
const migrateLock = 0x7061726c6579

// defaultMaxConns is the pool size unless the DSN sets pool_max_conns:
// the commit loop, history reads and sign-ins of one node at once.
const defaultMaxConns = 8

// lastSeenResolution is how stale a device's last sign-in time may get
// before a new sign-in writes it (as in the SQLite store).
const lastSeenResolution = 10 * time.Minute

// Store is the PostgreSQL Store. It is safe for concurrent use, by many
// goroutines and many processes on the same database.
type Store struct {
	pool     *pgxpool.Pool
	epoch    string
	serverID string
}

var _ server.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or a
// key=value string, as pgx takes them), migrates it and makes its meta
// rows (epoch, server id) if they are missing.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	// Acked means committed to disk, whatever the server's default: a
	// commit waits for its WAL flush on this store's connections.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.setUp(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store on %s: %w", cfg.ConnConfig.Host, err)
	}
	return s, nil
}

// setUp migrates and initialises the database on one connection that
// holds the advisory lock for the duration.
func (s *Store) setUp(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	if err := migrate(ctx, conn.Conn()); err != nil {
		return err
	}
	return s.initMeta(ctx, conn.Conn())
}

func migrate(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		}
		if n <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, n)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) initMeta(ctx context.Context, conn *pgx.Conn) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		get := func(key string) (string, error) {
			if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, ulid.Make().String()); err != nil {
				return "", err
			}
			var v string
			err := tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
			return v, err
		}
		var err error
		if s.epoch, err = get("epoch"); err != nil {
			return err
		}
		s.serverID, err = get("server_id")
		return err
	})
	if err != nil {
		return fmt.Errorf("init meta: %w", err)
	}
	return nil
}

// Epoch identifies the database.
func (s *Store) Epoch() string { return s.epoch }

// ServerID identifies the server (every node on the database shares it).
func (s *Store) ServerID() string { return s.serverID }

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what the pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx runs fn in one read-committed transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// isUnique reports whether err is a unique violation, on constraint (any
// if empty).
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}

// appendEvent stores ev with the next cursor. Called last in its
// transaction, it holds the cursor row's lock only until the commit.
func appendEvent(ctx context.Context, tx pgx.Tx, ev *wire.Event, subject string) error {
	ev.Cursor = 0
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var cursor int64
	if err := tx.QueryRow(ctx, `UPDATE event_cursor SET last = last + 1 RETURNING last`).Scan(&cursor); err != nil {
		return fmt.Errorf("next cursor: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (cursor, conversation_id, subject_user, body) VALUES ($1, $2, $3, $4)`,
		cursor, ev.Conversation, subject, body); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	ev.Cursor = cursor
	return nil
}

// CreateUser creates an account and makes it a member of the
// conversations join (the server passes the Lobby), in one transaction.
func (s *Store) CreateUser(ctx context.Context, name, nameKey, passHash string, join []string, now time.Time) (wire.User, []wire.Event, error) {
	u := wire.User{ID: ulid.Make().String(), Name: name}
	var events []wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		events = nil // a retried transaction starts over
		var exists int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE lower(name) = lower($1) OR name_key = $2`, name, nameKey).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return server.ErrNameTaken
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, name, name_key, pass_hash, created) VALUES ($1, $2, $3, $4, $5)`,
			u.ID, name, nameKey, passHash, now.UnixMilli()); err != nil {
			if isUnique(err, "") { // the same name made at the same time elsewhere
				return server.ErrNameTaken
			}
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

// BackfillNameKeys sets the look-alike key of accounts stored without one.
func (s *Store) BackfillNameKeys(ctx context.Context, key func(string) string) error {
	type pair struct{ id, name string }
	rows, err := s.pool.Query(ctx, `SELECT id, name FROM users WHERE name_key = ''`)
	if err != nil {
		return fmt.Errorf("backfill name keys: %w", err)
	}
	missing, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.id, &p.name)
	})
	if err != nil {
		return fmt.Errorf("backfill name keys: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		for _, p := range missing {
			if _, err := tx.Exec(ctx, `UPDATE users SET name_key = $1 WHERE id = $2`, key(p.name), p.id); err != nil {
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

// UserByName finds an account by name in any case.
func (s *Store) UserByName(ctx context.Context, name string) (wire.User, string, error) {
	var u wire.User
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT id, name, pass_hash FROM users WHERE lower(name) = lower($1)`, name).Scan(&u.ID, &u.Name, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, "", fmt.Errorf("user %q: %w", name, server.ErrNotFound)
	}
	if err != nil {
		return u, "", fmt.Errorf("user %q: %w", name, err)
	}
	return u, hash, nil
}

// Users lists every account by name.
func (s *Store) Users(ctx context.Context) ([]wire.User, error) {
	users, err := queryUsers(ctx, s.pool, `SELECT id, name FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return users, nil
}

// User returns one account.
func (s *Store) User(ctx context.Context, id string) (wire.User, error) {
	var u wire.User
	err := s.pool.QueryRow(ctx, `SELECT id, name FROM users WHERE id = $1`, id).Scan(&u.ID, &u.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", id, server.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

func queryUsers(ctx context.Context, q querier, query string, args ...any) ([]wire.User, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.User, error) {
		var u wire.User
		return u, r.Scan(&u.ID, &u.Name)
	})
	if users == nil && err == nil {
		users = []wire.User{}
	}
	return users, err
}

// CreateDevice stores a new device token of userID.
func (s *Store) CreateDevice(ctx context.Context, userID, name string, tokenHash []byte, now time.Time) (wire.Device, error) {
	d := wire.Device{ID: ulid.Make().String(), Name: name, Created: now.UnixMilli(), LastSeen: now.UnixMilli()}
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (id, user_id, name, token_hash, created, last_seen) VALUES ($1, $2, $3, $4, $5, $6)`,
		d.ID, userID, name, tokenHash, d.Created, d.LastSeen)
	if err != nil {
		return wire.Device{}, fmt.Errorf("create device for %s: %w", userID, err)
	}
	return d, nil
}

// DeviceByToken finds a device that is not revoked by its token's hash and
// records the sign-in when the stored time is stale.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash []byte, now time.Time) (wire.Device, wire.User, error) {
	var d wire.Device
	var u wire.User
	err := s.pool.QueryRow(ctx, `SELECT d.id, d.name, d.created, d.last_seen, u.id, u.name FROM devices d JOIN users u ON u.id = d.user_id
		WHERE d.token_hash = $1 AND NOT d.revoked`, tokenHash).Scan(&d.ID, &d.Name, &d.Created, &d.LastSeen, &u.ID, &u.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, u, fmt.Errorf("device by token: %w", server.ErrNotFound)
	}
	if err != nil {
		return d, u, fmt.Errorf("device by token: %w", err)
	}
	if now.UnixMilli()-d.LastSeen >= lastSeenResolution.Milliseconds() {
		d.LastSeen = now.UnixMilli()
		if _, err := s.pool.Exec(ctx, `UPDATE devices SET last_seen = $1 WHERE id = $2`, d.LastSeen, d.ID); err != nil {
			return d, u, fmt.Errorf("touch device %s: %w", d.ID, err)
		}
	}
	return d, u, nil
}

// Devices lists userID's devices that are not revoked, oldest first.
func (s *Store) Devices(ctx context.Context, userID string) ([]wire.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created, last_seen FROM devices WHERE user_id = $1 AND NOT revoked ORDER BY created, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", userID, err)
	}
	devices, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.Device, error) {
		var d wire.Device
		return d, r.Scan(&d.ID, &d.Name, &d.Created, &d.LastSeen)
	})
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", userID, err)
	}
	if devices == nil {
		devices = []wire.Device{}
	}
	return devices, nil
}

// RevokeDevice revokes one of userID's devices (ErrNotFound if it has no
// such device, or it is revoked already).
func (s *Store) RevokeDevice(ctx context.Context, userID, deviceID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET revoked = true WHERE id = $1 AND user_id = $2 AND NOT revoked`, deviceID, userID)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", deviceID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke device %s: %w", deviceID, server.ErrNotFound)
	}
	return nil
}

const conversationColumns = `c.id, c.kind, c.title, c.lobby, c.created`

func scanConversation(row pgx.Row) (wire.Conversation, error) {
	var c wire.Conversation
	err := row.Scan(&c.ID, &c.Kind, &c.Title, &c.Lobby, &c.Created)
	return c, err
}

// loadConversation loads a conversation without its members, with their
// count; members adds them.
func loadConversation(ctx context.Context, q querier, id string, members bool) (wire.Conversation, error) {
	c, err := scanConversation(q.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations c WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("conversation %s: %w", id, server.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("conversation %s: %w", id, err)
	}
	if members {
		c.Members, err = queryUsers(ctx, q, `SELECT u.id, u.name FROM members m JOIN users u ON u.id = m.user_id
			WHERE m.conversation_id = $1 ORDER BY m.joined, u.name`, id)
		c.MemberCount = len(c.Members)
	} else {
		err = q.QueryRow(ctx, `SELECT COUNT(*) FROM members WHERE conversation_id = $1`, id).Scan(&c.MemberCount)
	}
	if err != nil {
		return c, fmt.Errorf("members of %s: %w", id, err)
	}
	return c, nil
}

// Conversation returns a conversation with all its members.
func (s *Store) Conversation(ctx context.Context, id string) (wire.Conversation, error) {
	return loadConversation(ctx, s.pool, id, true)
}

// Conversations returns userID's conversations, Lobby first, without
// their members.
func (s *Store) Conversations(ctx context.Context, userID string) ([]wire.Conversation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+conversationColumns+`, (SELECT COUNT(*) FROM members n WHERE n.conversation_id = c.id)
		FROM conversations c JOIN members m ON m.conversation_id = c.id
		WHERE m.user_id = $1 ORDER BY c.lobby DESC, c.created, c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("conversations of %s: %w", userID, err)
	}
	convs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.Conversation, error) {
		var c wire.Conversation
		return c, r.Scan(&c.ID, &c.Kind, &c.Title, &c.Lobby, &c.Created, &c.MemberCount)
	})
	if err != nil {
		return nil, fmt.Errorf("conversations of %s: %w", userID, err)
	}
	if convs == nil {
		convs = []wire.Conversation{}
	}
	return convs, nil
}

// MemberIDs lists a conversation's members' ids.
func (s *Store) MemberIDs(ctx context.Context, conversationID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id FROM members WHERE conversation_id = $1`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", conversationID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", conversationID, err)
	}
	return ids, nil
}

// IsMember reports whether userID is in a conversation.
func (s *Store) IsMember(ctx context.Context, conversationID, userID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)`, conversationID, userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("membership of %s in %s: %w", userID, conversationID, err)
	}
	return ok, nil
}

// CreateConversation creates c; a direct conversation that exists (by
// directKey, even one made at the same moment on another node) is
// returned unchanged with a nil event.
func (s *Store) CreateConversation(ctx context.Context, c wire.Conversation, directKey string) (wire.Conversation, *wire.Event, error) {
	var ev *wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var key any
		if directKey != "" {
			key = directKey
		}
		// ON CONFLICT waits for a concurrent insert of the same key and
		// then does nothing; the next statement sees that row.
		tag, err := tx.Exec(ctx, `INSERT INTO conversations (id, kind, title, direct_key, created) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (direct_key) DO NOTHING`, c.ID, c.Kind, c.Title, key, c.Created)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var id string
			if err := tx.QueryRow(ctx, `SELECT id FROM conversations WHERE direct_key = $1`, directKey).Scan(&id); err != nil {
				return fmt.Errorf("direct conversation: %w", err)
			}
			c, err = loadConversation(ctx, tx, id, true)
			return err
		}
		for _, m := range c.Members {
			if _, err := tx.Exec(ctx, `INSERT INTO members (conversation_id, user_id, joined) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				c.ID, m.ID, c.Created); err != nil {
				return err
			}
		}
		if c, err = loadConversation(ctx, tx, c.ID, true); err != nil {
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
// conversation without members and the one who joined.
func addMember(ctx context.Context, tx pgx.Tx, conversationID, userID string, now time.Time) (wire.Event, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO members (conversation_id, user_id, joined) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		conversationID, userID, now.UnixMilli()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" { // foreign key: no such conversation or user
			return wire.Event{}, fmt.Errorf("%s: %w", pe.ConstraintName, server.ErrNotFound)
		}
		return wire.Event{}, err
	}
	c, err := loadConversation(ctx, tx, conversationID, false)
	if err != nil {
		return wire.Event{}, err
	}
	var u wire.User
	if err := tx.QueryRow(ctx, `SELECT id, name FROM users WHERE id = $1`, userID).Scan(&u.ID, &u.Name); err != nil {
		return wire.Event{}, fmt.Errorf("user %s: %w", userID, err)
	}
	ev := wire.ConversationEvent(c)
	ev.Added = []wire.User{u}
	return ev, appendEvent(ctx, tx, &ev, "")
}

// AddMember adds userID to a conversation.
func (s *Store) AddMember(ctx context.Context, conversationID, userID string, now time.Time) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		ev, err = addMember(ctx, tx, conversationID, userID, now)
		return err
	})
	if err != nil {
		return wire.Conversation{}, nil, fmt.Errorf("add %s to %s: %w", userID, conversationID, err)
	}
	return *ev.Info, &ev, nil
}

// RemoveMember removes userID from a conversation; the event is visible
// to the one removed too.
func (s *Store) RemoveMember(ctx context.Context, conversationID, userID string) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return server.ErrNotFound
		}
		c, err := loadConversation(ctx, tx, conversationID, false)
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

// RenameConversation sets a conversation's title.
func (s *Store) RenameConversation(ctx context.Context, conversationID, title string) (wire.Conversation, *wire.Event, error) {
	var ev wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE conversations SET title = $1 WHERE id = $2`, title, conversationID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return server.ErrNotFound
		}
		c, err := loadConversation(ctx, tx, conversationID, true)
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

func scanMessage(row pgx.Row) (wire.Message, error) {
	var m wire.Message
	var wave []byte
	var packets int64
	err := row.Scan(&m.ID, &m.Conversation, &m.Seq, &m.Sender.ID, &m.Sender.Name, &m.Kind, &m.Created, &m.State,
		&m.Codec, &m.DurationMs, &packets, &wave, &m.Text)
	m.Packets = uint32(packets)
	if len(wave) > 0 {
		m.Waveform = wave
	}
	return m, err
}

func loadMessage(ctx context.Context, q querier, id string) (wire.Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("message %s: %w", id, server.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("message %s: %w", id, err)
	}
	return m, nil
}

// Message returns a stored message.
func (s *Store) Message(ctx context.Context, id string) (wire.Message, error) {
	return loadMessage(ctx, s.pool, id)
}

// CreateMessage stores m with its conversation's next sequence number (the
// conversation row's lock orders a conversation's messages); a message
// whose id is stored is returned as stored, with a nil event.
func (s *Store) CreateMessage(ctx context.Context, m wire.Message) (wire.Message, *wire.Event, error) {
	var ev *wire.Event
	if existing, err := loadMessage(ctx, s.pool, m.ID); err == nil { // a resume
		return existing, nil, nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`, m.Conversation).Scan(&m.Seq); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("conversation %s: %w", m.Conversation, server.ErrNotFound)
			}
			return err
		}
		// The row lock above serialises this conversation's writers, so
		// a second start of the same id sees the first one's commit.
		existing, err := loadMessage(ctx, tx, m.ID)
		if err == nil {
			m = existing
			return errExisting
		}
		if !errors.Is(err, server.ErrNotFound) {
			return err
		}
		var wave any
		if len(m.Waveform) > 0 {
			wave = m.Waveform
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, kind, created, state, codec, duration_ms, packets, waveform, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, m.ID, m.Conversation, m.Seq, m.Sender.ID, m.Kind, m.Created, m.State, m.Codec,
			m.DurationMs, int64(m.Packets), wave, m.Text); err != nil {
			if isUnique(err, "messages_pkey") { // the id names a message of another conversation
				return errExisting
			}
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
	if errors.Is(err, errExisting) {
		// Rolled back (the sequence number is not used); the stored
		// message is the answer.
		existing, err := loadMessage(ctx, s.pool, m.ID)
		if err != nil {
			return wire.Message{}, nil, fmt.Errorf("create message %s: %w", m.ID, err)
		}
		return existing, nil, nil
	}
	if err != nil {
		return wire.Message{}, nil, fmt.Errorf("create message %s: %w", m.ID, err)
	}
	return m, ev, nil
}

// errExisting rolls back a CreateMessage whose id is stored already.
var errExisting = errors.New("message exists")

// FinishMessage sets a voice message's final state and ends its lease
// (the server deletes a withdrawn message's packets with DeletePackets).
func (s *Store) FinishMessage(ctx context.Context, id string, state wire.MessageState, packets uint32, durationMs int64, waveform []uint8) (wire.Message, wire.Event, error) {
	var m wire.Message
	var ev wire.Event
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var wave any
		if len(waveform) > 0 {
			wave = waveform
		}
		tag, err := tx.Exec(ctx, `UPDATE messages SET state = $1, packets = $2, duration_ms = $3, waveform = COALESCE($4, waveform) WHERE id = $5`,
			state, int64(packets), durationMs, wave, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return server.ErrNotFound
		}
		if state != wire.StateRecording {
			if _, err := tx.Exec(ctx, `DELETE FROM recording_leases WHERE message_id = $1`, id); err != nil {
				return err
			}
		}
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

// RecordingMessages lists the voice messages still recording.
func (s *Store) RecordingMessages(ctx context.Context) ([]wire.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.state = $1 ORDER BY m.id`, wire.StateRecording)
	if err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	return msgs, nil
}

// CommitPackets stores packets in one transaction (one statement); a
// packet stored already is left as it is. They are durable when it
// returns.
func (s *Store) CommitPackets(ctx context.Context, packets []server.PacketRecord) error {
	if len(packets) == 0 {
		return nil
	}
	ids := make([]string, len(packets))
	numbers := make([]int64, len(packets))
	data := make([][]byte, len(packets))
	for i, p := range packets {
		ids[i], numbers[i], data[i] = p.Message, int64(p.Number), p.Data
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO packets (message_id, number, data)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`, ids, numbers, data)
	if err != nil {
		return fmt.Errorf("commit %d packets: %w", len(packets), err)
	}
	return nil
}

// PacketCount counts a message's stored packets.
func (s *Store) PacketCount(ctx context.Context, messageID string) (uint32, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM packets WHERE message_id = $1`, messageID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count packets of %s: %w", messageID, err)
	}
	return uint32(n), nil
}

// Packets returns up to limit packets of a message from packet from on,
// stopping at the first gap.
func (s *Store) Packets(ctx context.Context, messageID string, from uint32, limit int) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, data FROM packets WHERE message_id = $1 AND number >= $2 ORDER BY number LIMIT $3`,
		messageID, int64(from), limit)
	if err != nil {
		return nil, fmt.Errorf("packets of %s from %d: %w", messageID, from, err)
	}
	defer rows.Close()
	var out [][]byte
	next := int64(from)
	for rows.Next() {
		var n int64
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return nil, fmt.Errorf("packets of %s from %d: %w", messageID, from, err)
		}
		if n != next { // packets are committed in order; a gap ends the run
			break
		}
		out = append(out, data)
		next++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("packets of %s from %d: %w", messageID, from, err)
	}
	return out, nil
}

// PutReceipt stores (or moves forward) a receipt and its event.
func (s *Store) PutReceipt(ctx context.Context, r wire.Receipt) (wire.Event, error) {
	ev := wire.Event{Kind: wire.EventReceipt, Conversation: r.Conversation, Receipt: &r}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO receipts (message_id, user_id, kind, device_id, position_ms, at) VALUES ($1, $2, $3, $4, $5, $6)
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

// Events returns userID's visible events after since, in cursor order.
func (s *Store) Events(ctx context.Context, userID string, since int64, conversationID string, limit int) ([]wire.Event, error) {
	var rows pgx.Rows
	var err error
	if conversationID != "" {
		rows, err = s.pool.Query(ctx, `SELECT cursor, body FROM events WHERE conversation_id = $1 AND cursor > $2
			AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $3) ORDER BY cursor LIMIT $4`,
			conversationID, since, userID, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT cursor, body FROM events WHERE cursor > $1
			AND (conversation_id IN (SELECT conversation_id FROM members WHERE user_id = $2) OR subject_user = $2) ORDER BY cursor LIMIT $3`,
			since, userID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("events of %s since %d: %w", userID, since, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.Event, error) {
		var cursor int64
		var body []byte
		if err := r.Scan(&cursor, &body); err != nil {
			return wire.Event{}, err
		}
		var ev wire.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return ev, fmt.Errorf("event %d: %w", cursor, err)
		}
		ev.Cursor = cursor
		return ev, nil
	})
	if err != nil {
		return nil, fmt.Errorf("events of %s since %d: %w", userID, since, err)
	}
	if events == nil {
		events = []wire.Event{}
	}
	return events, nil
}

// EventsAfter returns every event after since, whoever may see it, in
// cursor order: what a node reads to fill a gap the broker left.
func (s *Store) EventsAfter(ctx context.Context, since int64, limit int) ([]server.LoggedEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT cursor, subject_user, body FROM events WHERE cursor > $1 ORDER BY cursor LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", since, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (server.LoggedEvent, error) {
		var le server.LoggedEvent
		var body []byte
		if err := r.Scan(&le.Cursor, &le.Subject, &body); err != nil {
			return le, err
		}
		cursor := le.Cursor
		if err := json.Unmarshal(body, &le.Event); err != nil {
			return le, fmt.Errorf("event %d: %w", cursor, err)
		}
		le.Cursor = cursor
		return le, nil
	})
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", since, err)
	}
	return events, nil
}

// LastCursor is the cursor of the last committed event (0 if none).
func (s *Store) LastCursor(ctx context.Context) (int64, error) {
	var c int64
	if err := s.pool.QueryRow(ctx, `SELECT last FROM event_cursor`).Scan(&c); err != nil {
		return 0, fmt.Errorf("last cursor: %w", err)
	}
	return c, nil
}

// Pool is the store's connection pool (for tests and tools that look at
// the database beside the store).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

package sync

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	gosync "sync"
	"sync/atomic"

	"parley/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// pragmas are set on every connection. synchronous(NORMAL) in WAL mode
// keeps every commit across an application crash (what the outbox
// promises); only a power cut may lose the last commits.
var pragmas = []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)", "synchronous(NORMAL)"}

// Store is the local cache of one account on one server: one SQLite file.
// It is the UI's source of truth and holds the outbox. A Store is safe for
// concurrent use; every method is a short local transaction.
type Store struct {
	db   *sql.DB
	path string

	mu    gosync.Mutex
	stmts map[string]*sql.Stmt // prepared hot queries

	packetTxs atomic.Int64 // transactions that cached received packets
}

// Meta keys.
const (
	metaToken      = "token"
	metaUserID     = "user_id"
	metaUserName   = "user_name"
	metaDeviceID   = "device_id"
	metaServerID   = "server_id"
	metaServerName = "server_name"
	metaEpoch      = "epoch"
	metaCursor     = "cursor"
)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// StorePath returns the file of the store for account username on the
// server known as server (an address or a server id) inside dir.
func StorePath(dir, server, username string) string {
	clean := func(s string) string {
		s = unsafeName.ReplaceAllString(s, "_")
		if len(s) > 80 {
			s = s[:80]
		}
		return s
	}
	return filepath.Join(dir, clean(server)+"__"+clean(username)+".db")
}

// OpenStore opens (creating if needed) the store at path and applies any
// migrations it lacks.
func OpenStore(path string) (*Store, error) {
	db, err := sqlitedb.Open(path, pragmas...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{db: db, path: path, stmts: map[string]*sql.Stmt{}}
	if err := sqlitedb.Migrate(context.Background(), db, migrationFS, "migrations"); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

// Path returns the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	stmts := s.stmts
	s.stmts = map[string]*sql.Stmt{}
	s.mu.Unlock()
	for _, st := range stmts {
		st.Close()
	}
	return s.db.Close()
}

// prepared returns q prepared once: parsing is a large part of a small
// query's cost.
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[q]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.stmts[q]; old != nil {
		st.Close()
		return old, nil
	}
	s.stmts[q] = st
	return st, nil
}

// SchemaVersion returns the applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return sqlitedb.Version(ctx, s.db)
}

// tx runs fn in one immediate transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlitedb.Tx(ctx, s.db, fn)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func getMeta(ctx context.Context, q queryer, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMeta(ctx context.Context, q queryer, key, value string) error {
	_, err := q.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// Token returns the stored device token, or "" if there is none.
func (s *Store) Token(ctx context.Context) (string, error) {
	return getMeta(ctx, s.db, metaToken)
}

// SetToken stores (or, with "", forgets) the device token.
func (s *Store) SetToken(ctx context.Context, token string) error {
	if token == "" {
		_, err := s.db.ExecContext(ctx, "DELETE FROM meta WHERE key = ?", metaToken)
		return err
	}
	return setMeta(ctx, s.db, metaToken, token)
}

// Cursor returns the sync cursor: every event up to it has been applied.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	v, err := getMeta(ctx, s.db, metaCursor)
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// Account is who this store belongs to, as the server last said.
type Account struct {
	UserID     string
	UserName   string
	DeviceID   string
	ServerID   string
	ServerName string
	Epoch      string
}

// Account returns the account the store belongs to; fields are empty
// before the first successful sign-in.
func (s *Store) Account(ctx context.Context) (Account, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, value FROM meta")
	if err != nil {
		return Account{}, err
	}
	defer rows.Close()
	var a Account
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Account{}, err
		}
		switch k {
		case metaUserID:
			a.UserID = v
		case metaUserName:
			a.UserName = v
		case metaDeviceID:
			a.DeviceID = v
		case metaServerID:
			a.ServerID = v
		case metaServerName:
			a.ServerName = v
		case metaEpoch:
			a.Epoch = v
		}
	}
	return a, rows.Err()
}

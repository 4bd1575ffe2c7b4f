// Package sqlitedb is what Parley's two SQLite databases (the server's and
// each client's cache) share: opening a file with per-connection pragmas
// in the DSN, numbered migrations embedded in the program and applied in
// order (the file's user_version says which have run), and immediate
// transactions.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the SQLite file at path with pragmas
// (such as "journal_mode(WAL)") set on every connection, and every
// transaction BEGIN IMMEDIATE, so writers queue on the busy timeout
// instead of failing on a lock upgrade.
func Open(path string, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", path, err)
	}
	return db, nil
}

// Tx runs fn in one transaction: committed if fn returns nil, rolled
// back otherwise.
func Tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Migration is one numbered schema change: a file NNN_name.sql.
type Migration struct {
	Version int
	Name    string
}

// Migrations lists the files of dir in fsys, named NNN_name.sql, in
// version order.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %q is not named NNN_name.sql", e.Name())
		}
		ms = append(ms, Migration{Version: v, Name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Version returns the file's user_version: the last migration applied.
func Version(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate applies the migrations of dir in fsys newer than the file's
// user_version, each in its own transaction with the new user_version.
// A file newer than the program is refused.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) error {
	ms, err := Migrations(fsys, dir)
	if err != nil {
		return err
	}
	current, err := Version(ctx, db)
	if err != nil {
		return err
	}
	if n := len(ms); n > 0 && current > ms[n-1].Version {
		return fmt.Errorf("schema version %d is newer than this program's %d", current, ms[n-1].Version)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		body, err := fs.ReadFile(fsys, dir+"/"+m.Name)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		err = Tx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.Version))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

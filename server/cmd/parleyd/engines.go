package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/server"
	"parley/server/pgstore"
)

// openStore opens the store that -store names: "" is the embedded SQLite
// file in the data folder (nil here: server.New opens it from DBPath), a
// postgres:// or postgresql:// URL the PostgreSQL store that several
// nodes can share.
func openStore(ctx context.Context, spec string) (server.Store, error) {
	switch {
	case spec == "" || spec == "sqlite":
		return nil, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		st, err := pgstore.Open(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("-store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf(`-store must be empty (SQLite in the data folder) or a postgres:// URL, not %q`, redact(spec))
}

// redact hides a URL's password in messages.
func redact(spec string) string {
	if i := strings.Index(spec, "://"); i >= 0 {
		if at := strings.LastIndex(spec, "@"); at > i {
			if colon := strings.Index(spec[i+3:at], ":"); colon >= 0 {
				return spec[:i+3+colon] + ":***" + spec[at:]
			}
		}
	}
	return spec
}

// openBroker checks the broker that -broker names: "" is the in-process
// fan-out (one node).
func openBroker(spec string) error {
	switch {
	case spec == "":
		return nil
	case strings.HasPrefix(spec, "nats://"):
		return fmt.Errorf("-broker %s: the NATS JetStream broker is not in this build yet", spec)
	}
	return fmt.Errorf(`-broker must be empty (in-process) or a nats:// URL, not %q`, redact(spec))
}

// nodeID is this node's id in a cluster (recording leases name it): the
// -node flag, else the id kept in the data folder's node-id file, made
// once (so it is stable across restarts and unique per data folder).
func nodeID(flagValue, data string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	path := filepath.Join(data, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	id := "node-" + ulid.Make().String()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

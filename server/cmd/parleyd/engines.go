package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/server"
	"parley/server/natsbroker"
	"parley/server/pgstore"
)

// checkEngines refuses -store and -broker values that name no engine, and
// a broker without a shared store (nodes on a broker must share one
// database; SQLite is per node), before anything is opened.
func checkEngines(store, broker string) error {
	switch {
	case store != "" && store != "sqlite" && !strings.HasPrefix(store, "postgres://") && !strings.HasPrefix(store, "postgresql://"):
		return fmt.Errorf(`-store must be empty (SQLite in the data folder) or a postgres:// URL, not %q`, redact(store))
	case broker != "" && !strings.HasPrefix(broker, "nats://"):
		return fmt.Errorf(`-broker must be empty (in-process) or a nats:// URL, not %q`, redact(broker))
	case broker != "" && (store == "" || store == "sqlite"):
		return fmt.Errorf("-broker %s needs a shared -store (postgres://…): the nodes must share one database", redact(broker))
	}
	return nil
}

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

// openBroker opens the broker that -broker names, with the presence that
// goes with it: "" is the in-process fan-out and presence (one node; nil
// here: server.New makes them), a nats:// URL NATS JetStream between the
// nodes (this one named node) and presence in its key-value bucket.
func openBroker(ctx context.Context, spec, node string, logger *slog.Logger) (server.Broker, server.Presence, error) {
	switch {
	case spec == "":
		return nil, nil, nil
	case strings.HasPrefix(spec, "nats://"):
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		b, err := natsbroker.New(ctx, natsbroker.Config{URL: spec, NodeID: node, Logger: logger})
		if err != nil {
			return nil, nil, fmt.Errorf("-broker: %w", err)
		}
		p, err := b.Presence(ctx, 0)
		if err != nil {
			b.Close()
			return nil, nil, fmt.Errorf("-broker: %w", err)
		}
		return b, p, nil
	}
	return nil, nil, fmt.Errorf(`-broker must be empty (in-process) or a nats:// URL, not %q`, redact(spec))
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

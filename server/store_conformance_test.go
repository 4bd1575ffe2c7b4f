package server_test

import (
	"context"
	"path/filepath"
	"testing"

	"parley/server"
	"parley/server/storetest"
)

// TestSQLiteConformance runs the store conformance suite (the one the
// PostgreSQL store runs too) against the embedded SQLite store.
func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store {
		st, err := server.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

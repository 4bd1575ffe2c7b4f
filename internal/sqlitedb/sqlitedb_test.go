package sqlitedb

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestMigrationNames(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    []int
		wantErr bool
	}{
		{"in order", []string{"001_a.sql", "002_b.sql"}, []int{1, 2}, false},
		{"sorted by number", []string{"010_c.sql", "002_b.sql", "001_a.sql"}, []int{1, 2, 10}, false},
		{"no number", []string{"init.sql"}, nil, true},
		{"not sql", []string{"001_a.txt"}, nil, true},
		{"zero", []string{"000_a.sql"}, nil, true},
		{"same number twice", []string{"001_a.sql", "001_b.sql"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := Migrations(fsys, "m")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if !tc.wantErr && !equal(got, tc.want) {
				t.Errorf("versions %v, want %v", got, tc.want)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMigrate: migrations run once each, in order, in transactions; a
// failed one leaves the version before it; a newer file is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "t.db"), "journal_mode(WAL)", "foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys := fstest.MapFS{
		"m/001_t.sql":   {Data: []byte("CREATE TABLE t (n INTEGER);")},
		"m/002_row.sql": {Data: []byte("INSERT INTO t VALUES (1);")},
	}
	for range 2 { // the second run applies nothing
		if err := Migrate(ctx, db, fsys, "m"); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("rows = %d (%v), want 1", rows, err)
	}
	fsys["m/003_bad.sql"] = &fstest.MapFile{Data: []byte("INSERT INTO t VALUES (2); INSERT INTO missing VALUES (1);")}
	if err := Migrate(ctx, db, fsys, "m"); err == nil {
		t.Fatal("a failing migration was applied")
	}
	if v, _ := Version(ctx, db); v != 2 {
		t.Errorf("version after a failed migration = %d, want 2", v)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("rows after a failed migration = %d (%v), want 1 (rolled back)", rows, err)
	}
	delete(fsys, "m/003_bad.sql")
	delete(fsys, "m/002_row.sql")
	if err := Migrate(ctx, db, fsys, "m"); err == nil {
		t.Error("a file newer than the migrations was accepted")
	}
}

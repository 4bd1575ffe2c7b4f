package appbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildFyne builds the bare Fyne window against each Fyne and reads
// back from the binary which one it links.
func TestBuildFyne(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		fyne    Fyne
		patched bool
	}{
		{"patched", Patched, true},
		{"upstream", Upstream, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "barefyne")
			if err := Build(root, "./app/testdata/barefyne", out, Options{Fyne: tc.fyne}); err != nil {
				t.Fatal(err)
			}
			got, err := LinksPatchedFyne(out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.patched {
				t.Errorf("links the patched Fyne: %v, want %v", got, tc.patched)
			}
		})
	}
}

// TestBuildError: a package that does not build gives an error that names
// it and carries the compiler's words.
func TestBuildError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Build(dir, ".", filepath.Join(dir, "out"), Options{Fyne: Upstream})
	if err == nil {
		t.Fatal("a broken package built")
	}
	for _, want := range []string{"go build .", "undefined"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

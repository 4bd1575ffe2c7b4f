// Package appbuild builds Parley's programs for tests that run them as
// processes (the app's real-window tests, the end-to-end scenarios) the way
// `make` builds them: with the Makefile's tags and against Fyne with
// third_party/fyne's patches (build/go.work, made by .ci/fyne-fork.sh).
package appbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tags are the build tags `make run` uses (the Makefile's TAGS).
const Tags = "nolibopusfile,migrated_fynedo,no_animations"

// Fyne says which Fyne a build links.
type Fyne int

const (
	// Patched is Fyne with third_party/fyne's patches, as make builds it.
	Patched Fyne = iota
	// Upstream is the Fyne go.mod pins, unpatched (a baseline).
	Upstream
)

// Options are a build's settings beyond its package and output.
type Options struct {
	Tags  string // build tags; "" is Tags
	Fyne  Fyne
	NoCgo bool // CGO_ENABLED=0 (parleyd)
}

// Build builds the package pkg (a path relative to root, the repository)
// into out. For a Patched build it brings build/go.work up to date first
// (workspace).
func Build(root, pkg, out string, o Options) error {
	tags := o.Tags
	if tags == "" {
		tags = Tags
	}
	work := "off"
	if o.Fyne == Patched {
		var err error
		if work, err = workspace(root); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "-tags="+tags, "-o", out, pkg)
	cmd.Dir = root
	// The tags are given here, so GOFLAGS (make's, with the same tags) is not.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK="+work)
	if o.NoCgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (-tags=%s, GOWORK=%s): %v\n%s", pkg, tags, work, err, b)
	}
	return nil
}

// workspace returns root's build/go.work after running .ci/fyne-fork.sh,
// which makes it, or remakes it when go.mod's Fyne or a patch changed, and
// otherwise returns at once.
func workspace(root string) (string, error) {
	work := filepath.Join(root, "build", "go.work")
	cmd := exec.Command(filepath.Join(root, ".ci", "fyne-fork.sh"))
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make the patched Fyne (.ci/fyne-fork.sh): %v\n%s", err, b)
	}
	return work, nil
}

// LinksPatchedFyne reports whether the binary at path was built against
// the patched Fyne: its build information lists Fyne as replaced by the
// workspace's copy.
func LinksPatchedFyne(path string) (bool, error) {
	b, err := exec.Command("go", "version", "-m", path).CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("go version -m %s: %v\n%s", path, err, b)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "dep" && f[1] == "fyne.io/fyne/v2" {
			var next []string // "=>  ./fyne  (devel)" when replaced
			if i+1 < len(lines) {
				next = strings.Fields(lines[i+1])
			}
			return len(next) >= 2 && next[0] == "=>" && next[1] == "./fyne", nil
		}
	}
	return false, fmt.Errorf("%s does not link fyne.io/fyne/v2", path)
}

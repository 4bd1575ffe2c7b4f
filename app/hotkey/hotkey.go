package hotkey

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Event is one edge of the global talk key.
type Event struct {
	Down bool
	// Cancel reports Escape pressed while the key was held: on X11 the
	// active grab takes every key from the window until the release, so
	// the source passes on the one the talk state needs (withdraw).
	Cancel bool
}

// Source is a running global key. Events is closed after Close, or when
// the source ends on its own (display connection lost); Err then says why.
type Source interface {
	// Events delivers presses and releases, auto-repeat removed.
	Events() <-chan Event
	// Name says which mechanism serves the key ("X11 key grab", ...).
	Name() string
	// Err is why the source ended on its own; nil while it runs or after Close.
	Err() error
	// Close stops the source and waits for its goroutines. Idempotent.
	Close() error
}

// Errors of Open. Each leaves the window key as the way to talk.
var (
	// ErrUnsupported: this platform or session has no global key support.
	ErrUnsupported = errors.New("no global talk key on this system")
	// ErrKeyTaken: another program already holds the key globally.
	ErrKeyTaken = errors.New("the talk key is already taken by another program")
	// ErrNoPortal: a Wayland session without a GlobalShortcuts portal.
	ErrNoPortal = errors.New("no desktop portal answered for global shortcuts")
	// ErrUnknownKey: the key has no global equivalent on this platform.
	ErrUnknownKey = errors.New("this talk key cannot be used from other windows")
)

// Key is a talk key as Parley stores it: a Fyne key name ("F8",
// "RightControl", "A") or a scan code ("scan:<n>", X11 keycode on Linux).
type Key struct {
	Name string
	Scan int
}

// ParseKey reads a stored talk key; "" is F8.
func ParseKey(s string) Key {
	if rest, ok := strings.CutPrefix(s, "scan:"); ok {
		if n, err := strconv.Atoi(rest); err == nil {
			return Key{Scan: n}
		}
	}
	if s == "" {
		s = "F8"
	}
	return Key{Name: s}
}

func (k Key) String() string {
	if k.Name != "" {
		return k.Name
	}
	return "scan:" + strconv.Itoa(k.Scan)
}

// Open starts the global key for k with the platform's mechanism.
func Open(k Key) (Source, error) {
	s, err := open(k)
	if err != nil {
		return nil, fmt.Errorf("global talk key %s: %w", k, err)
	}
	return s, nil
}

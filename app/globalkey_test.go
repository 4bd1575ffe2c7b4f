package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"parley/app/hotkey"
	"parley/ui"
)

// chanSource is a hotkey.Source driven by the test.
type chanSource struct {
	ch     chan hotkey.Event
	closed chan struct{}
	err    error
}

func newChanSource() *chanSource {
	return &chanSource{ch: make(chan hotkey.Event), closed: make(chan struct{})}
}
func (s *chanSource) Events() <-chan hotkey.Event { return s.ch }
func (s *chanSource) Name() string                { return "test source" }
func (s *chanSource) Err() error                  { return s.err }
func (s *chanSource) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return nil
}

// TestGlobalKeyWorker drives the worker through open failures, edges, a
// source that ends by itself, switching off, and close.
func TestGlobalKeyWorker(t *testing.T) {
	src := newChanSource()
	opens := map[string]error{"F8": nil, "F9": fmt.Errorf("global talk key F9: %w", hotkey.ErrNoPortal),
		"F10": hotkey.ErrKeyTaken}
	g := newGlobalKey(slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.open = func(k hotkey.Key) (hotkey.Source, error) {
		if err := opens[k.Name]; err != nil {
			return nil, err
		}
		return src, nil
	}
	edges := make(chan bool, 4)
	status := make(chan ui.GlobalKeyStatus, 4)
	g.deliver = func(d bool) { edges <- d }
	g.report = func(s ui.GlobalKeyStatus) { status <- s }
	go g.run()

	next := func() ui.GlobalKeyStatus {
		t.Helper()
		select {
		case s := <-status:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no status")
		}
		return ui.GlobalKeyStatus{}
	}
	g.Set("F9", true)
	if s := next(); s.Active || s.Note != globalKeyNote(hotkey.ErrNoPortal) {
		t.Errorf("no portal: status %+v", s)
	}
	g.Set("F10", true)
	if s := next(); s.Active || s.Note != globalKeyNote(hotkey.ErrKeyTaken) {
		t.Errorf("key taken: status %+v", s)
	}
	g.Set("F8", true)
	if s := next(); !s.Active {
		t.Fatalf("F8: status %+v, want active", s)
	}
	src.ch <- hotkey.Event{Down: true}
	src.ch <- hotkey.Event{Down: false}
	if a, b := <-edges, <-edges; !a || b {
		t.Errorf("edges %v %v, want true false", a, b)
	}
	src.err = errors.New("X display connection closed")
	close(src.ch)
	if s := next(); s.Active {
		t.Errorf("ended source: status %+v, want inactive", s)
	}
	g.Set("F8", false)
	if s := next(); s.Active {
		t.Errorf("off: status %+v", s)
	}
	g.close()
	select {
	case <-src.closed:
	default:
		t.Error("source not closed")
	}
}

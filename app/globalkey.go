package app

import (
	"errors"
	"log/slog"

	"fyne.io/fyne/v2"

	"parley/app/hotkey"
	"parley/ui"
)

// globalKey runs the talk key from other windows (package hotkey) for ui:
// one goroutine owns the hotkey.Source, opens and closes it as Settings
// asks, and hands its edges to the UI thread. Stop with close.
type globalKey struct {
	log  *slog.Logger
	open func(hotkey.Key) (hotkey.Source, error)
	// deliver and report run f-wrapped calls on the UI thread (fyne.Do).
	deliver func(down bool)
	cancel  func()
	report  func(ui.GlobalKeyStatus)

	req  chan globalKeyRequest // holds at most the latest request
	stop chan struct{}
	done chan struct{}
}

type globalKeyRequest struct {
	key string
	on  bool
}

func newGlobalKey(log *slog.Logger) *globalKey {
	return &globalKey{log: log, open: hotkey.Open, cancel: func() {},
		req: make(chan globalKeyRequest, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// attach sends the key's edges and status to u, and starts the worker.
func (g *globalKey) attach(u *ui.UI) {
	g.deliver = func(down bool) { fyne.Do(func() { u.GlobalTalk(down) }) }
	g.cancel = func() { fyne.Do(u.GlobalCancel) }
	g.report = func(s ui.GlobalKeyStatus) { fyne.Do(func() { u.SetGlobalKeyStatus(s) }) }
	go g.run()
}

// Set implements ui.GlobalKey: it replaces any request not yet taken up and
// returns at once. Called from one goroutine (the UI thread).
func (g *globalKey) Set(key string, on bool) {
	select {
	case <-g.req: // superseded
	default:
	}
	g.req <- globalKeyRequest{key: key, on: on}
}

func (g *globalKey) run() {
	defer close(g.done)
	var src hotkey.Source
	var events <-chan hotkey.Event
	closeSrc := func() {
		if src != nil {
			src.Close()
			src, events = nil, nil
		}
	}
	defer closeSrc()
	for {
		select {
		case <-g.stop:
			return
		case r := <-g.req:
			closeSrc()
			if !r.on {
				g.report(ui.GlobalKeyStatus{Note: ui.GlobalKeyWindowOnly})
				continue
			}
			s, err := g.open(hotkey.ParseKey(r.key))
			if err != nil {
				g.log.Info("global talk key unavailable", "key", r.key, "err", err)
				g.report(ui.GlobalKeyStatus{Note: globalKeyNote(err)})
				continue
			}
			src, events = s, s.Events()
			g.log.Info("global talk key", "key", r.key, "via", s.Name())
			g.report(ui.GlobalKeyStatus{Active: true, Note: ui.GlobalKeyEverywhere})
		case e, ok := <-events:
			if !ok {
				err := src.Err()
				g.log.Warn("global talk key ended", "err", err)
				src.Close()
				src, events = nil, nil
				g.report(ui.GlobalKeyStatus{Note: ui.GlobalKeyStopped})
				continue
			}
			if e.Cancel {
				g.log.Debug("escape while the global talk key is held")
				g.cancel()
				continue
			}
			g.log.Debug("talk key edge from other windows", "down", e.Down)
			g.deliver(e.Down)
		}
	}
}

// globalKeyNote is what Settings says about why the global key is off.
func globalKeyNote(err error) ui.GlobalKeyNote {
	switch {
	case errors.Is(err, hotkey.ErrNoPortal):
		return ui.GlobalKeyNoPortal
	case errors.Is(err, hotkey.ErrKeyTaken):
		return ui.GlobalKeyTaken
	case errors.Is(err, hotkey.ErrUnknownKey):
		return ui.GlobalKeyUnknownKey
	default:
		return ui.GlobalKeyUnavailable
	}
}

// close stops the worker and the source it holds, and waits. Call once,
// after attach.
func (g *globalKey) close() {
	close(g.stop)
	<-g.done
}

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	gosync "sync"
	"time"

	"parley/audio"
	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// livePolicy says which live messages start playing by themselves.
type livePolicy struct {
	// AutoPlay plays live messages of the open conversation as they
	// start. Off, live messages only show (the user plays them).
	AutoPlay bool
	// OtherConversations also plays live messages of conversations that
	// are not open ("Play live messages from other conversations").
	OtherConversations bool
	// Mixed plays several talkers at once; otherwise a live message
	// starts only while nothing else plays.
	Mixed bool
}

// Reasons a live message is not played (logged at debug level; tests
// compare them).
var (
	errLiveMuted     = errors.New("incoming audio is muted")
	errLiveOff       = errors.New("auto-play of live messages is off")
	errLiveElsewhere = errors.New("live message of a conversation that is not open")
	errLiveBusy      = errors.New("something else is playing")
)

// livePolicyOf is the live policy the preferences ask for: the open
// conversation's live messages always auto-play, the others with
// AutoPlayLive; one talker at a time.
func livePolicyOf(p ui.Prefs) livePolicy {
	return livePolicy{AutoPlay: true, OtherConversations: p.AutoPlayLive}
}

// liveRouter is the one owner of live playback (DESIGN invariant 8): it
// takes sync's incoming live streams straight from sync.Client.Incoming
// and starts audio playback by its policy, on the goroutine that reads
// Incoming. No hint, UI debounce or droppable queue is on that path: the
// UI only shows what the player reports. The conversation open in the
// window and the policy are set by ui (OpenConversation) and by settings.
type liveRouter struct {
	log *slog.Logger
	sys *audioSys
	pl  *player

	opened chan struct{} // cap 1: OpenConversation changed open

	mu       gosync.Mutex
	policy   livePolicy
	open     string // conversation open in the window
	played   int    // live messages started
	declined int    // live messages not started (policy or busy)

	mutedConvs map[string]bool // the account's muted conversations (mute.go); guarded by mu

	// waiting are live messages declined only because their conversation
	// was not open (run's goroutine only). When it opens while they are
	// still being spoken they start, from their first word, caught up at
	// 1.5x (a device that connects mid-transmission gets voice.live before
	// its window has opened a conversation).
	waiting []sync.Incoming
}

// maxWaitingLive bounds the live messages kept for their conversation to
// open; the oldest goes first (it is in the store, playable by hand).
const maxWaitingLive = 8

func newLiveRouter(sys *audioSys, pl *player, policy livePolicy, log *slog.Logger) *liveRouter {
	return &liveRouter{log: log, sys: sys, pl: pl, policy: policy, opened: make(chan struct{}, 1)}
}

// setPolicy replaces the policy; it applies to live messages that start
// afterwards.
func (r *liveRouter) setPolicy(p livePolicy) {
	r.mu.Lock()
	r.policy = p
	r.mu.Unlock()
}

// OpenConversation records the conversation shown in the window ("" for
// none) and wakes the router for live messages waiting for it. ui calls it
// on its thread; it only takes a mutex and never blocks.
func (r *liveRouter) OpenConversation(id string) {
	r.mu.Lock()
	r.open = id
	r.mu.Unlock()
	wake(r.opened)
}

// run routes acc's incoming live messages until ctx ends. One goroutine
// per account, owned by the messenger.
func (r *liveRouter) run(ctx context.Context, in <-chan sync.Incoming) {
	defer func() {
		for _, w := range r.waiting {
			w.Source.Close()
		}
		r.waiting = nil
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case inc := <-in:
			r.handle(inc, r.route(inc))
		case <-r.opened:
			r.retryWaiting(ctx)
		}
	}
}

// handle counts a routing decision and keeps or releases the message.
func (r *liveRouter) handle(inc sync.Incoming, err error) {
	r.mu.Lock()
	if err != nil {
		r.declined++
	} else {
		r.played++
	}
	r.mu.Unlock()
	switch {
	case err == nil:
	case errors.Is(err, errLiveElsewhere):
		if len(r.waiting) == maxWaitingLive {
			r.waiting[0].Source.Close()
			r.waiting = r.waiting[1:]
		}
		r.waiting = append(r.waiting, inc)
		r.log.Debug("live message waits for its conversation to open", "message", inc.Message.ID)
	default:
		inc.Source.Close() // its feed goes; the message stays playable from the store
		r.log.Debug("live message not played", "message", inc.Message.ID, "why", err)
	}
}

// retryWaiting routes again the waiting live messages of the conversation
// now open, if they are still being spoken; those that ended are let go.
func (r *liveRouter) retryWaiting(ctx context.Context) {
	r.mu.Lock()
	open := r.open
	r.mu.Unlock()
	keep := r.waiting[:0]
	var retry []sync.Incoming
	for _, w := range r.waiting {
		switch {
		case !r.stillLive(ctx, w.Message.ID):
			w.Source.Close()
		case w.Message.Conversation == open:
			retry = append(retry, w)
		default:
			keep = append(keep, w)
		}
	}
	clear(r.waiting[len(keep):])
	r.waiting = keep
	for _, w := range retry {
		r.mu.Lock()
		r.declined-- // counted again below
		r.mu.Unlock()
		r.handle(w, r.route(w))
	}
}

// stillLive reports whether a message is still being recorded, by the
// current account's store.
func (r *liveRouter) stillLive(ctx context.Context, message string) bool {
	acc := r.pl.msgr.current()
	if acc == nil {
		return false
	}
	m, err := acc.c.Store().Message(ctx, message)
	return err == nil && m.State == wire.StateRecording
}

// route decides about one live message and starts it. It returns why it
// did not play it.
func (r *liveRouter) route(in sync.Incoming) error {
	r.mu.Lock()
	pol, open, convMuted := r.policy, r.open, r.mutedConvs[in.Message.Conversation]
	r.mu.Unlock()
	if convMuted {
		return errLiveConversationMuted
	}
	if err := decideLive(pol, open, r.sys.muted.Load(), in.Message.Conversation); err != nil {
		return err
	}
	return r.pl.playLive(in, pol.Mixed)
}

// decideLive says whether policy plays a live message of conversation
// while open is shown: nil, or why not.
func decideLive(pol livePolicy, open string, muted bool, conversation string) error {
	switch {
	case muted:
		return errLiveMuted
	case !pol.AutoPlay:
		return errLiveOff
	case conversation != open && !pol.OtherConversations:
		return errLiveElsewhere
	}
	return nil
}

// counts returns how many live messages were started and declined.
func (r *liveRouter) counts() (played, declined int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.played, r.declined
}

// traceOn reports whether the latency trace was asked for (-trace or
// PARLEY_TRACE=1) and turns it on in audio.
func traceOn(cfg Config) bool {
	if cfg.Trace {
		audio.EnableTrace(true)
	}
	return cfg.Trace
}

// syncTrace is the sync.Config.Trace hook feeding audio's trace: pushed
// (encoded and stored) -> sent is the send stage, sent -> received the
// server stage (joined when talker and listener run in one process).
func syncTrace() func(stage, message string, seq uint32, at time.Time) {
	if !audio.TraceEnabled() {
		return nil
	}
	return func(stage, message string, seq uint32, at time.Time) {
		switch stage {
		case sync.TracePushed:
			audio.TraceMark(audio.StageEncode, message, seq, at)
		case sync.TraceSent:
			audio.TraceMark(audio.StageSend, message, seq, at)
		case sync.TraceReceived:
			audio.TraceMark(audio.StageServer, message, seq, at)
		}
	}
}

// printTrace writes the per-stage table to w (stderr in the app), each
// line prefixed "parley: ", when the trace is on.
func printTrace(w io.Writer) {
	if !audio.TraceEnabled() {
		return
	}
	stats := audio.TraceReport()
	if len(stats) == 0 {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(audio.FormatTrace(stats), "\n"), "\n") {
		fmt.Fprintln(w, "parley: "+line)
	}
}

var traceOut io.Writer = os.Stderr

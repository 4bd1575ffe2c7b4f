package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"parley/audio"
	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// resumeSlack is how far a Play position may be from a paused player's
// position for Play to resume it instead of starting over.
const resumeSlack = 100 * time.Millisecond

// player is ui.Player over the audio engine: one audio.Player shown to ui
// at a time (cur), fed by sync (a live source the live router hands over,
// or OpenMessage for stored and growing messages), plus, when the live
// policy mixes talkers, further live players (extra) that play alongside
// and are not shown. A goroutine per audio player turns its events into
// the Playback ui reads and HintPlayback.
//
// p.mu guards the fields below it and is never held while calling into an
// audio.Player (its commands wait for the player's goroutine, which may be
// waiting for watch, which takes p.mu) or posting a hint: state is copied
// under the lock and acted on after it.
type player struct {
	sys   *audioSys
	msgr  *messenger
	hints *hintBus
	log   *slog.Logger

	mu    gosync.Mutex
	cur   *audio.Player
	live  bool
	gen   int // bumps with every audio player; stale events compare it
	pb    ui.Playback
	extra map[*audio.Player]string // mixed live players -> message
	wg    gosync.WaitGroup
}

func newPlayer(sys *audioSys, msgr *messenger, hints *hintBus, log *slog.Logger) *player {
	return &player{sys: sys, msgr: msgr, hints: hints, log: log, extra: map[*audio.Player]string{}}
}

// Play implements ui.Player. At ui.LiveEdge it joins a live message where
// it is now (not while incoming audio is muted, and not again once the
// user has it in the player); the live router starts live messages by
// itself, this is for the user pressing play on one.
func (p *player) Play(message string, from time.Duration, speed float64) error {
	live := from == ui.LiveEdge
	if speed <= 0 || live {
		speed = 1
	}
	p.mu.Lock()
	same := p.pb.Message == message && p.cur != nil
	if live && (same || p.sys.muted.Load()) {
		p.mu.Unlock()
		return nil
	}
	if same && !p.live && p.pb.State == ui.PlayPaused && absDuration(from-p.pb.Position) <= resumeSlack {
		cur, old := p.cur, p.pb.Speed
		p.pb.State, p.pb.Speed = ui.PlayPlaying, speed
		p.mu.Unlock()
		if speed != old {
			if err := cur.SetSpeed(speed); err != nil {
				return err
			}
		}
		cur.Resume()
		return nil
	}
	p.mu.Unlock()

	acc := p.msgr.current()
	if acc == nil {
		return errors.New("play: not signed in")
	}
	ctx := context.Background()
	var s *sync.PacketSource
	var err error
	cfg := audio.PlayerConfig{Live: live, Speed: speed}
	if live {
		// Join where the message is now.
		n, cerr := acc.c.Store().CachedPackets(ctx, message)
		if cerr != nil {
			return fmt.Errorf("play %s: %w", message, cerr)
		}
		s, err = acc.c.OpenMessage(ctx, message, n)
	} else if m, merr := acc.c.Store().Message(ctx, message); merr == nil && m.State == wire.StateRecording {
		// Still being spoken: from where asked, caught up at liveCatchUp
		// to the live edge, then live (issue 10, item 5). A live player
		// does not seek; the message can be sought once it is complete.
		cfg = audio.PlayerConfig{Live: true, Speed: 1, CatchUp: liveCatchUp}
		s, err = acc.c.OpenMessage(ctx, message, uint32(max(0, from)/audio.FrameDuration))
	} else {
		s, err = acc.c.OpenMessage(ctx, message, 0)
		cfg.StartAt = max(0, from)
	}
	if err != nil {
		return fmt.Errorf("play %s: %w", message, err)
	}
	return p.start(message, packetSource{s}, cfg, max(0, from))
}

// liveCatchUp is the speed at which a live message joined late is played
// until it reaches the live edge: 1.5x keeps speech easy to follow (the
// time stretcher keeps the pitch) and catches up a backlog B in 2B.
const liveCatchUp = 1.5

// playLive plays a live message the router handed over: as the shown
// player if nothing else plays, else (mixed) alongside the live message
// playing. It returns errLiveBusy when it does not play it.
func (p *player) playLive(in sync.Incoming, mixed bool) error {
	p.mu.Lock()
	busy := p.cur != nil && p.pb.State == ui.PlayPlaying
	alongside := busy && p.live && mixed
	p.mu.Unlock()
	if busy && !alongside {
		return errLiveBusy
	}
	// A device that connects (or a listener who is handed the message)
	// while it is being spoken gets it from its first packet: the part
	// recorded before comes from the store and is played off at
	// liveCatchUp until the live edge (issue 10, item 5).
	cfg := audio.PlayerConfig{Live: true, Speed: 1, CatchUp: liveCatchUp}
	if !alongside {
		return p.start(in.Message.ID, packetSource{in.Source}, cfg, 0)
	}
	eng, err := p.sys.engine()
	if err != nil {
		return err
	}
	ap, err := eng.Play(packetSource{in.Source}, cfg)
	if err != nil {
		return fmt.Errorf("play %s: %w", in.Message.ID, userError(err))
	}
	p.mu.Lock()
	p.extra[ap] = in.Message.ID
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		p.watchExtra(ap)
	}()
	return nil
}

// start replaces the shown player with one playing src.
func (p *player) start(message string, src audio.PacketSource, cfg audio.PlayerConfig, from time.Duration) error {
	eng, err := p.sys.engine()
	if err != nil {
		return err
	}
	p.stopCurrent()
	ap, err := eng.Play(src, cfg)
	if err != nil {
		return fmt.Errorf("play %s: %w", message, userError(err))
	}
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.cur, p.live = ap, cfg.Live
	p.pb = ui.Playback{Message: message, State: ui.PlayPlaying, Position: from, Speed: cfg.Speed}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		p.watch(ap, gen, cfg.Live)
	}()
	return nil
}

// watch turns the audio player's events into Playback and hints until the
// player is closed.
func (p *player) watch(ap *audio.Player, gen int, live bool) {
	for ev := range ap.Events() {
		p.mu.Lock()
		if p.gen != gen {
			p.mu.Unlock()
			continue
		}
		switch ev.Kind {
		case audio.PlayerStarted, audio.PlayerResumed:
			p.pb.State = ui.PlayPlaying
		case audio.PlayerPaused:
			p.pb.State = ui.PlayPaused
		case audio.PlayerFinished:
			p.pb.State = ui.PlayFinished
			if ev.Err != nil && !errors.Is(ev.Err, context.Canceled) {
				p.log.Warn("playback", "message", p.pb.Message, "err", ev.Err)
			}
		}
		if ev.Kind != audio.PlayerPaused || ev.Position > 0 {
			p.pb.Position = ev.Position
		}
		msg := p.pb.Message
		p.mu.Unlock()
		if live && ev.Kind == audio.PlayerStarted {
			logLiveStart(p.log, msg, ap.StartTimes())
		}
		if live && ev.Kind == audio.PlayerFinished {
			printTrace(traceOut)
			if audio.TraceEnabled() {
				fmt.Fprintf(traceOut, "parley: trace: jitter %+v\n", ap.JitterStats())
			}
		}
		p.hints.post(ui.Hint{Kind: ui.HintPlayback, Message: msg})
	}
}

// watchExtra closes a mixed live player once it has finished.
func (p *player) watchExtra(ap *audio.Player) {
	for ev := range ap.Events() {
		if ev.Kind == audio.PlayerStarted {
			p.mu.Lock()
			msg := p.extra[ap]
			p.mu.Unlock()
			logLiveStart(p.log, msg, ap.StartTimes())
		}
		if ev.Kind == audio.PlayerFinished {
			p.mu.Lock()
			_, mine := p.extra[ap]
			delete(p.extra, ap)
			p.mu.Unlock()
			if mine {
				ap.Close() // closes Events: the loop ends
			}
		}
	}
}

// logLiveStart logs how long a live message took from its first packet's
// arrival to the jitter buffer and to the speaker's mixer.
func logLiveStart(log *slog.Logger, message string, st audio.StartTimes) {
	if st.Arrived.IsZero() {
		return
	}
	log.Info("live playback started", "message", message,
		"arrival_to_jitter", st.Pushed.Sub(st.Arrived), "arrival_to_mixer", st.Played.Sub(st.Arrived))
}

// stopCurrent closes the shown audio player, if any, and waits for it.
func (p *player) stopCurrent() {
	p.mu.Lock()
	cur := p.cur
	p.cur = nil
	p.gen++
	if p.pb.State == ui.PlayPlaying || p.pb.State == ui.PlayPaused {
		p.pb.State = ui.PlayStopped
	}
	p.mu.Unlock()
	if cur != nil {
		cur.Close()
	}
}

// stopLive stops every live message (incoming audio was muted).
func (p *player) stopLive() {
	p.mu.Lock()
	live := p.live && p.cur != nil
	extra := p.takeExtraLocked()
	p.mu.Unlock()
	for _, ap := range extra {
		ap.Close()
	}
	if live {
		p.stopCurrent()
		p.hints.tryPost(ui.Hint{Kind: ui.HintPlayback})
	}
}

func (p *player) takeExtraLocked() []*audio.Player {
	var out []*audio.Player
	for ap := range p.extra {
		out = append(out, ap)
	}
	clear(p.extra)
	return out
}

// Pause implements ui.Player.
func (p *player) Pause() error {
	p.mu.Lock()
	cur, gen := p.cur, p.gen
	if cur == nil || p.pb.State != ui.PlayPlaying {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	cur.Pause() // waits for the player's goroutine: not under p.mu
	p.mu.Lock()
	if p.gen == gen {
		p.pb.State = ui.PlayPaused
		p.pb.Position = cur.Position()
	}
	p.mu.Unlock()
	return nil
}

// Seek implements ui.Player.
func (p *player) Seek(position time.Duration) error {
	p.mu.Lock()
	cur, gen, live, message := p.cur, p.gen, p.live, p.pb.Message
	p.mu.Unlock()
	if cur == nil {
		return nil
	}
	if live {
		// A live player does not seek: play the message again from
		// there (caught up to the live edge while it is still spoken).
		return p.Play(message, max(0, position), 1)
	}
	if err := cur.Seek(position); err != nil {
		return err
	}
	p.mu.Lock()
	if p.gen == gen {
		p.pb.Position = position
		if p.pb.State == ui.PlayFinished {
			p.pb.State = ui.PlayPlaying
		}
	}
	p.mu.Unlock()
	return nil
}

// SetSpeed implements ui.Player.
func (p *player) SetSpeed(speed float64) error {
	p.mu.Lock()
	cur, gen, live := p.cur, p.gen, p.live
	p.mu.Unlock()
	if cur == nil || live {
		return nil
	}
	if err := cur.SetSpeed(speed); err != nil {
		return err
	}
	p.mu.Lock()
	if p.gen == gen {
		p.pb.Speed = speed
	}
	p.mu.Unlock()
	return nil
}

// Playback implements ui.Player.
func (p *player) Playback() ui.Playback {
	p.mu.Lock()
	defer p.mu.Unlock()
	pb := p.pb
	if p.cur != nil && pb.State == ui.PlayPlaying {
		pb.Position = p.cur.Position()
	}
	return pb
}

// close stops playback and waits for the event goroutines.
func (p *player) close() {
	p.mu.Lock()
	extra := p.takeExtraLocked()
	p.mu.Unlock()
	for _, ap := range extra {
		ap.Close()
	}
	p.stopCurrent()
	p.wg.Wait()
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

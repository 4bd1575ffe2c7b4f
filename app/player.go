package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"parley/audio"
	"parley/ui"
)

// resumeSlack is how far a Play position may be from a paused player's
// position for Play to resume it instead of starting over.
const resumeSlack = 100 * time.Millisecond

// player is ui.Player over the audio engine: one audio.Player at a time,
// fed by sync (a live source from sync.Incoming, or OpenMessage for stored
// and growing messages). A goroutine per audio player turns its events
// into the Playback ui reads and HintPlayback.
type player struct {
	sys   *audioSys
	msgr  *messenger
	hints *hintBus
	log   *slog.Logger

	mu   gosync.Mutex
	cur  *audio.Player
	live bool
	gen  int // bumps with every audio player; stale events compare it
	pb   ui.Playback
	wg   gosync.WaitGroup
}

func newPlayer(sys *audioSys, msgr *messenger, hints *hintBus, log *slog.Logger) *player {
	return &player{sys: sys, msgr: msgr, hints: hints, log: log}
}

// Play implements ui.Player. At ui.LiveEdge it joins a live message (not
// while incoming audio is muted, and not again once the user has it in the
// player).
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
		cur := p.cur
		p.pb.State = ui.PlayPlaying
		if speed != p.pb.Speed {
			p.pb.Speed = speed
			if err := cur.SetSpeed(speed); err != nil {
				p.mu.Unlock()
				return err
			}
		}
		p.mu.Unlock()
		cur.Resume()
		return nil
	}
	p.mu.Unlock()

	eng, err := p.sys.engine()
	if err != nil {
		return err
	}
	acc := p.msgr.current()
	if acc == nil {
		return errors.New("play: not signed in")
	}
	var src audio.PacketSource
	cfg := audio.PlayerConfig{Live: live, Speed: speed}
	if live {
		if s := p.msgr.liveSource(message); s != nil {
			src = packetSource{s}
		} else {
			// Join where the message is now.
			ctx := context.Background()
			n, err := acc.c.Store().CachedPackets(ctx, message)
			if err != nil {
				return fmt.Errorf("play %s: %w", message, err)
			}
			s, err := acc.c.OpenMessage(ctx, message, n)
			if err != nil {
				return fmt.Errorf("play %s: %w", message, err)
			}
			src = packetSource{s}
		}
	} else {
		s, err := acc.c.OpenMessage(context.Background(), message, 0)
		if err != nil {
			return fmt.Errorf("play %s: %w", message, err)
		}
		src = packetSource{s}
		cfg.StartAt = max(0, from)
	}
	p.stopCurrent()
	ap, err := eng.Play(src, cfg)
	if err != nil {
		return fmt.Errorf("play %s: %w", message, userError(err))
	}
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.cur, p.live = ap, live
	p.pb = ui.Playback{Message: message, State: ui.PlayPlaying, Position: max(0, from), Speed: speed}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		p.watch(ap, gen)
	}()
	return nil
}

// watch turns the audio player's events into Playback and hints until the
// player is closed.
func (p *player) watch(ap *audio.Player, gen int) {
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
		p.hints.post(ui.Hint{Kind: ui.HintPlayback, Message: msg})
	}
}

// stopCurrent closes the audio player, if any, and waits for it.
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

// stopLive stops a live message (incoming audio was muted).
func (p *player) stopLive() {
	p.mu.Lock()
	live := p.live && p.cur != nil
	p.mu.Unlock()
	if live {
		p.stopCurrent()
		p.hints.tryPost(ui.Hint{Kind: ui.HintPlayback})
	}
}

// Pause implements ui.Player.
func (p *player) Pause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.pb.State != ui.PlayPlaying {
		return nil
	}
	p.cur.Pause()
	p.pb.State = ui.PlayPaused
	p.pb.Position = p.cur.Position()
	return nil
}

// Seek implements ui.Player.
func (p *player) Seek(position time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return nil
	}
	if p.live {
		return fmt.Errorf("seek: %w", audio.ErrNotSeekable)
	}
	if err := p.cur.Seek(position); err != nil {
		return err
	}
	p.pb.Position = position
	if p.pb.State == ui.PlayFinished {
		p.pb.State = ui.PlayPlaying
	}
	return nil
}

// SetSpeed implements ui.Player.
func (p *player) SetSpeed(speed float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.live {
		return nil
	}
	if err := p.cur.SetSpeed(speed); err != nil {
		return err
	}
	p.pb.Speed = speed
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
	p.stopCurrent()
	p.wg.Wait()
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

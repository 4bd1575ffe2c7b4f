package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// PlayerConfig configures a Player. Zero values select the defaults.
type PlayerConfig struct {
	// Live plays through a jitter buffer at the pace packets arrive (a
	// message being spoken right now). Otherwise the source is a stored or
	// growing message played at the device's pace: seek and speed work and
	// a source that blocks at its live tail simply pauses playback.
	Live bool
	// Jitter bounds the live jitter buffer's delay.
	Jitter JitterConfig
	// Speed is 1 (default), 1.5 or 2, anything in 0.5..2; pitch is kept.
	Speed float64
	// CatchUp (live only; 0: off, else 1.25..2) plays a backlog faster:
	// a listener who joins a message that is being spoken hears it from
	// the start at this speed, pitch kept and pauses shortened, until the
	// playout reaches the live edge, and from there on live at 1x. Packets
	// with a zero Arrived are taken as backlog (read from a store, not off
	// the network as they were sent) and do not count as network jitter;
	// any excess of more than catchUpEnter frames over the jitter target,
	// a backlog or a long output stall, is played off this way instead
	// of by dropping packets.
	CatchUp float64
	// SkipSilence shortens pauses longer than 200 ms (stored messages).
	SkipSilence bool
	// StartAt starts a stored message at this position.
	StartAt time.Duration
	// PositionInterval is how often position events are sent; default 100 ms.
	PositionInterval time.Duration
}

// PlayerEventKind says what a PlayerEvent reports.
type PlayerEventKind int

const (
	// PlayerStarted: audio of the message began (again, after a seek past
	// the end or a replay).
	PlayerStarted PlayerEventKind = iota
	// PlayerPosition: periodic position while playing.
	PlayerPosition
	// PlayerPaused and PlayerResumed acknowledge Pause and Resume.
	PlayerPaused
	PlayerResumed
	// PlayerFinished: the whole message has been played (or the source
	// failed: Err is set). A Seek afterwards plays again.
	PlayerFinished
)

var playerEventNames = [...]string{"started", "position", "paused", "resumed", "finished"}

func (k PlayerEventKind) String() string { return playerEventNames[k] }

// PlayerEvent is sent on a Player's Events channel. Position is the message
// time being heard.
type PlayerEvent struct {
	Kind     PlayerEventKind
	Position time.Duration
	Err      error
}

// Player plays one message through the engine's mixer. Its methods are safe
// for concurrent use; they hand commands to the player's goroutine, which
// owns the decoder, the time stretcher and the jitter buffer. Events must
// be read: position events are dropped when the reader is behind, the other
// kinds wait for it (or for Close). Close stops the goroutines, removes the
// player from the mixer and closes the Events channel.
type Player struct {
	mix    *mixer
	cfg    PlayerConfig
	src    PacketSource
	v      *voice
	events chan PlayerEvent
	cmds   chan playerCmd
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	pos    atomic.Int64 // nanoseconds
	once   sync.Once

	// packets fetched so far (stored mode)
	mu         sync.Mutex
	cache      [][]byte
	eof        bool
	srcErr     error
	cacheSig   chan struct{}
	arrived    chan struct{} // live: a packet was pushed or the input closed
	jb         *JitterBuffer // live mode
	skipped    atomic.Int64  // live: silent frames discarded to shrink the delay
	lateFrames atomic.Int64  // live: frames the loop wrote after the mixer had emptied the voice
	start      StartTimes    // live: guarded by mu

	// loop-owned state
	dec       *Decoder
	str       *stretcher
	speed     float64
	skip      bool
	next      int           // next packet to decode (stored)
	mediaFed  time.Duration // message time at the end of what was fed to the stretcher
	silentRun int
	lastSent  time.Duration
	catching  bool  // live: playing the excess off at the catch-up speed
	low       int   // live: the low water, in samples (see lowWater)
	quietRun  int   // live: silent frames in a row, up to the one decoded
	starvedAt int64 // live: v.starved when the last frame was decoded
	started   bool
	pcm       [FrameSamples]int16
	silence   [FrameSamples]int16
}

type playerCmd struct {
	kind  int // cmdSeek, cmdSpeed, cmdSkip, cmdPause, cmdResume
	d     time.Duration
	speed float64
	on    bool
}

const (
	cmdSeek = iota
	cmdSpeed
	cmdSkip
	cmdPause
	cmdResume
)

const (
	maxMessagePackets = 1 << 20 // ~5.8 hours; guards the cache against a bogus Seq
	silenceRMS        = 0.0056  // -45 dBFS
	silenceKeepFrames = 10      // 200 ms of each pause survive skip-silence
	spareKeepFrames   = 10      // live: spare delay is shed only in a pause longer than 200 ms
)

// Play starts playing src. The player is running when Play returns.
func (e *Engine) Play(src PacketSource, cfg PlayerConfig) (*Player, error) {
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Speed < 0.5 || cfg.Speed > 2 {
		return nil, fmt.Errorf("play: %w", ErrBadSpeed)
	}
	if cfg.CatchUp != 0 && (cfg.CatchUp < 1.25 || cfg.CatchUp > 2) {
		return nil, fmt.Errorf("play: catch-up speed %v: %w", cfg.CatchUp, ErrBadSpeed)
	}
	if cfg.PositionInterval <= 0 {
		cfg.PositionInterval = 100 * time.Millisecond
	}
	dec, err := NewDecoder()
	if err != nil {
		return nil, fmt.Errorf("play: %w", err)
	}
	capacity := 5 * FrameSamples // 100 ms ahead for stored messages
	if cfg.Live {
		// Live: the loop writes a frame only once the voice is down to
		// its low water (see liveLoop), so the capacity only has to hold
		// that and one frame, or a catch-up burst of the stretcher.
		capacity = 3 * FrameSamples
	}
	v := newVoice(capacity)
	v.stored = !cfg.Live
	ctx, cancel := context.WithCancel(context.Background())
	p := &Player{
		mix:      e.mix,
		cfg:      cfg,
		src:      src,
		v:        v,
		events:   make(chan PlayerEvent, 32),
		cmds:     make(chan playerCmd),
		ctx:      ctx,
		cancel:   cancel,
		cacheSig: make(chan struct{}, 1),
		arrived:  make(chan struct{}, 1),
		dec:      dec,
		str:      newStretcher(cfg.Speed),
		speed:    cfg.Speed,
		skip:     cfg.SkipSilence,
	}
	if cfg.Live {
		p.jb = NewJitterBuffer(cfg.Jitter)
	} else if cfg.StartAt > 0 {
		p.next = int(cfg.StartAt / FrameDuration)
		p.mediaFed = time.Duration(p.next) * FrameDuration
		p.pos.Store(int64(p.mediaFed))
	}
	e.mix.add(p.v)
	if err := e.wakePlayback(); err != nil {
		e.mix.remove(p.v)
		cancel()
		return nil, fmt.Errorf("play: %w", err)
	}
	p.wg.Add(2)
	go p.fetch()
	if cfg.Live {
		go p.liveLoop()
	} else {
		go p.storedLoop()
	}
	return p, nil
}

// Events returns the event channel, closed by Close.
func (p *Player) Events() <-chan PlayerEvent { return p.events }

// Position is the message time being heard now.
func (p *Player) Position() time.Duration { return time.Duration(p.pos.Load()) }

// Duration is the length of the message fetched so far and whether the
// message is complete.
func (p *Player) Duration() (d time.Duration, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(len(p.cache)) * FrameDuration, p.eof
}

// JitterStats reports the live jitter buffer's counters (zero for stored).
func (p *Player) JitterStats() JitterStats {
	if p.jb == nil {
		return JitterStats{}
	}
	s := p.jb.Stats()
	s.Skipped = int(p.skipped.Load())
	s.LateWrites = int(p.lateFrames.Load())
	return s
}

// StartTimes are the moments a live player's first packet passed its
// stages (zero until it did).
type StartTimes struct {
	Arrived time.Time // read off the network (Packet.Arrived)
	Pushed  time.Time // in the jitter buffer
	Played  time.Time // decoded and handed to the mixer
}

// StartTimes reports when the first live packet arrived, reached the
// jitter buffer and was played (zero for stored messages).
func (p *Player) StartTimes() StartTimes {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.start
}

// Pause stops output; the position holds. What the device already has
// queued still plays: one period for a live stream, storedLead (40 ms)
// for a replay.
func (p *Player) Pause() { _ = p.send(playerCmd{kind: cmdPause}) }

// Resume continues after Pause.
func (p *Player) Resume() { _ = p.send(playerCmd{kind: cmdResume}) }

// Seek jumps to message time d (stored messages; a position beyond what
// has arrived of a growing message waits for it).
func (p *Player) Seek(d time.Duration) error {
	if p.cfg.Live {
		return fmt.Errorf("seek: %w", ErrNotSeekable)
	}
	d = max(0, d)
	if err := p.send(playerCmd{kind: cmdSeek, d: d}); err != nil {
		return fmt.Errorf("seek: %w", err)
	}
	// The loop has taken the command; report the new position at once.
	p.pos.Store(int64(d / FrameDuration * FrameDuration))
	return nil
}

// SetSpeed changes the playback rate (0.5..2) keeping the pitch.
func (p *Player) SetSpeed(speed float64) error {
	if p.cfg.Live {
		return fmt.Errorf("set speed: %w", ErrNotSeekable)
	}
	if speed < 0.5 || speed > 2 {
		return fmt.Errorf("set speed %v: %w", speed, ErrBadSpeed)
	}
	return p.send(playerCmd{kind: cmdSpeed, speed: speed})
}

// SetSkipSilence turns shortening of long pauses on or off.
func (p *Player) SetSkipSilence(on bool) { _ = p.send(playerCmd{kind: cmdSkip, on: on}) }

func (p *Player) send(c playerCmd) error {
	select {
	case p.cmds <- c:
		return nil
	case <-p.ctx.Done():
		return ErrClosed
	}
}

// Close stops playback and waits for the player's goroutines. Idempotent.
func (p *Player) Close() error {
	p.once.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.mix.remove(p.v)
		close(p.events)
	})
	return nil
}

// fetch pulls packets from the source into the cache or jitter buffer.
func (p *Player) fetch() {
	defer p.wg.Done()
	for {
		pkt, err := p.src.Next(p.ctx)
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.eof = true
			if !errors.Is(err, io.EOF) {
				p.srcErr = fmt.Errorf("play: read packets: %w", err)
			}
			p.mu.Unlock()
			if p.jb != nil {
				p.jb.CloseInput()
				notify(p.arrived)
			}
			notify(p.cacheSig)
			return
		}
		if p.jb != nil {
			now := time.Now()
			if p.cfg.CatchUp > 0 && pkt.Arrived.IsZero() {
				p.jb.PushBacklog(pkt, now)
			} else {
				p.jb.Push(pkt, now)
			}
			if !pkt.Arrived.IsZero() {
				Trace(StageReceive, now.Sub(pkt.Arrived))
			}
			p.mu.Lock()
			if p.start.Pushed.IsZero() {
				p.start.Arrived, p.start.Pushed = pkt.Arrived, now
			}
			p.mu.Unlock()
			notify(p.arrived)
			continue
		}
		if pkt.Seq >= maxMessagePackets || len(pkt.Data) == 0 {
			continue
		}
		p.mu.Lock()
		for len(p.cache) <= int(pkt.Seq) {
			p.cache = append(p.cache, nil)
		}
		p.cache[pkt.Seq] = pkt.Data
		p.mu.Unlock()
		notify(p.cacheSig)
	}
}

type packetState int

const (
	packetHave    packetState = iota
	packetMissing             // lost: a later packet exists or the message ended
	packetWait                // not arrived yet
	packetEnd                 // past the end of a complete message
)

func (p *Player) packetAt(i int) ([]byte, packetState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case i < len(p.cache) && p.cache[i] != nil:
		return p.cache[i], packetHave
	case i < len(p.cache):
		return nil, packetMissing
	case p.eof:
		return nil, packetEnd
	}
	return nil, packetWait
}

// storedLoop decodes a stored or growing message at the device's pace.
func (p *Player) storedLoop() {
	defer p.wg.Done()
	p.event(PlayerEvent{Kind: PlayerStarted, Position: p.mediaFed})
	p.started = true
	for {
		data, st := p.packetAt(p.next)
		switch st {
		case packetWait:
			select {
			case <-p.cacheSig:
			case c := <-p.cmds:
				p.apply(c)
			case <-p.ctx.Done():
				return
			}
			continue
		case packetEnd:
			if !p.finish() {
				return
			}
			continue
		case packetHave:
			if _, err := p.dec.Decode(data, p.pcm[:]); err != nil {
				_ = p.dec.Conceal(p.pcm[:])
			}
		case packetMissing:
			if next, st := p.packetAt(p.next + 1); st == packetHave {
				_ = p.dec.DecodeFEC(next, p.pcm[:])
			} else {
				_ = p.dec.Conceal(p.pcm[:])
			}
		}
		p.next++
		p.mediaFed = time.Duration(p.next) * FrameDuration
		if p.skip && p.silentFrame() {
			continue
		}
		if !p.emit(p.str.write(p.pcm[:])) && p.ctx.Err() != nil {
			return
		}
	}
}

// silentFrame tracks pauses and reports whether this frame is skipped.
func (p *Player) silentFrame() bool {
	if measureLevel(p.pcm[:]).RMS >= silenceRMS {
		p.silentRun = 0
		return false
	}
	p.silentRun++
	return p.silentRun > silenceKeepFrames
}

// finish plays out what is buffered, reports the end and waits for a seek
// (returns true) or Close (false).
func (p *Player) finish() bool {
	if !p.emit(p.str.flush()) {
		return p.ctx.Err() == nil
	}
	for p.v.buffered() > 0 {
		select {
		case <-p.v.space:
			p.updatePosition()
		case c := <-p.cmds:
			if p.apply(c) {
				return true
			}
		case <-p.ctx.Done():
			return false
		}
	}
	p.mu.Lock()
	err := p.srcErr
	p.mu.Unlock()
	p.pos.Store(int64(p.mediaFed))
	p.event(PlayerEvent{Kind: PlayerFinished, Position: p.mediaFed, Err: err})
	p.started = false
	for {
		select {
		case c := <-p.cmds:
			if p.apply(c) {
				p.event(PlayerEvent{Kind: PlayerStarted, Position: p.mediaFed})
				p.started = true
				return true
			}
		case <-p.ctx.Done():
			return false
		}
	}
}

// emit hands output to the mixer, serving commands while the voice is full.
// It returns false if a seek discarded the pipeline or the player closes.
func (p *Player) emit(out []int16) bool {
	for {
		n := p.v.write(out)
		if n > 0 {
			p.mix.poke()
		}
		out = out[n:]
		p.updatePosition()
		if len(out) == 0 {
			return true
		}
		select {
		case <-p.v.space:
		case c := <-p.cmds:
			if p.apply(c) {
				return false
			}
		case <-p.ctx.Done():
			return false
		}
	}
}

// apply executes a command; it reports whether the pipeline was reset.
func (p *Player) apply(c playerCmd) bool {
	switch c.kind {
	case cmdPause:
		p.v.setPaused(true)
		p.event(PlayerEvent{Kind: PlayerPaused, Position: p.Position()})
	case cmdResume:
		p.v.setPaused(false)
		p.mix.poke()
		p.event(PlayerEvent{Kind: PlayerResumed, Position: p.Position()})
	case cmdSpeed:
		p.speed = c.speed
		p.str.setSpeed(c.speed)
	case cmdSkip:
		p.skip = c.on
		p.silentRun = 0
	case cmdSeek:
		p.next = int(c.d / FrameDuration)
		p.mediaFed = time.Duration(p.next) * FrameDuration
		_ = p.dec.Reset()
		p.str.reset()
		p.v.flush()
		p.silentRun = 0
		p.pos.Store(int64(p.mediaFed))
		p.lastSent = -time.Hour
		p.updatePosition()
		return true
	}
	return false
}

// updatePosition recomputes the audible position: what was fed, less what
// still waits in the stretcher and the voice buffer.
func (p *Player) updatePosition() {
	queued := float64(p.str.pending()) + float64(p.v.buffered())*p.speed
	pos := max(0, p.mediaFed-samplesToDuration(int64(queued)))
	p.pos.Store(int64(pos))
	if d := pos - p.lastSent; d >= p.cfg.PositionInterval || d < 0 {
		p.lastSent = pos
		p.tryEvent(PlayerEvent{Kind: PlayerPosition, Position: pos})
	}
}

// liveLoop plays a live stream through the jitter buffer, one slot per
// 20 ms of device time: it takes the next slot only when the voice is down
// to its low water (lowWater), so a frame waits in the voice no longer
// than the device needs to be safe from running dry, and the rest of the
// delay is the jitter buffer's target. Before playout starts it writes
// nothing and waits for the jitter buffer: the first packet plays as soon
// as the target allows, not at the next tick of a silence clock. A packet
// that is not there when the voice is down to its low water is waited
// for until shortly before the device needs it (waitDue), and only then
// concealed.
//
// A frame that decodes to silence while more than the jitter buffer's
// target is queued is not played: pauses between words absorb delay added
// by output stalls (see JitterBuffer). With CatchUp, an excess of
// catchUpEnter frames or more is played through the time stretcher at the
// catch-up speed, pauses kept to silenceKeepFrames, until the excess is
// gone; then the stretcher is flushed and playout goes on at 1x.
func (p *Player) liveLoop() {
	defer p.wg.Done()
	stalls := 0
	tracing := TraceEnabled()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()
	waited := true // playout (re)starts: the voice has run dry
	for {
		if !p.waitLowWater() {
			return
		}
		p.checkLate(!waited)
		if !waited && !p.jb.Due() && !p.waitDue(wait) {
			return
		}
		now := time.Now()
		f := p.jb.Pop(now)
		out := p.pcm[:]
		switch f.Kind {
		case FrameWait:
			waited = true
			if !p.waitPlayable(wait, f.Wait) {
				return
			}
			continue
		case FrameNormal:
			if _, err := p.dec.Decode(f.Data, p.pcm[:]); err != nil {
				_ = p.dec.Conceal(p.pcm[:])
			}
			if tracing {
				Trace(StageJitter, now.Sub(f.Pushed))
				Trace(StageDecode, time.Since(now))
				Trace(StageMixer, samplesToDuration(int64(p.v.buffered())))
			}
			if p.cfg.CatchUp > 0 {
				switch {
				case !p.catching && f.Excess >= catchUpEnter:
					p.catching = true
					p.jb.SetCatchUp(true)
					p.str.reset()
					p.str.setSpeed(p.cfg.CatchUp)
					p.silentRun = 0
				case p.catching && f.Excess == 0:
					p.catching = false
					p.jb.SetCatchUp(false)
					if !p.emit(p.str.flush()) {
						return
					}
					p.str.reset()
				}
			}
			quiet := measureLevel(p.pcm[:]).RMS < silenceRMS
			silent := (p.catching || f.Excess > 0) && quiet
			if p.catching && silent && p.silentFrame() || !p.catching && silent {
				p.skipped.Add(1)
				p.jb.Shed(FrameDuration)
				p.mediaFed = time.Duration(f.Seq+1) * FrameDuration
				stalls = 0
				continue
			}
			if p.catching && !silent {
				p.silentRun = 0
			}
			if quiet {
				p.quietRun++
			} else {
				p.quietRun = 0
			}
			if cut := p.spareCut(f.Spare); p.quietRun > spareKeepFrames && !p.catching && cut > 0 {
				// Delay no packet needed lately, taken off a pause
				// between sentences, past its first 200 ms: a pause
				// between words keeps its length.
				out = p.pcm[:FrameSamples-cut]
				p.jb.Shed(samplesToDuration(int64(cut)))
			}
		case FrameFEC:
			_ = p.dec.DecodeFEC(f.Data, p.pcm[:])
		case FrameConceal:
			_ = p.dec.Conceal(p.pcm[:])
		case FrameStall:
			if stalls < 2 {
				_ = p.dec.Conceal(p.pcm[:])
			} else {
				out = p.silence[:]
			}
		case FrameEnd:
			if p.catching {
				p.emit(p.str.flush())
			}
			p.liveEnd()
			return
		}
		if f.Kind == FrameStall {
			stalls++
		} else if f.Kind != FrameWait {
			stalls = 0
			if !p.started {
				p.started = true
				p.mu.Lock()
				p.start.Played = time.Now()
				p.mu.Unlock()
				p.event(PlayerEvent{Kind: PlayerStarted, Position: time.Duration(f.Seq) * FrameDuration})
			}
			p.mediaFed = time.Duration(f.Seq+1) * FrameDuration
		}
		if waited {
			// Every later frame goes in behind the low water: so does
			// the first, or the jitter buffer's margin would be short
			// by the low water.
			waited = false
			if n := min(p.lowWater()-p.v.buffered(), FrameSamples); n > 0 && !p.emit(p.silence[:n]) {
				return
			}
		}
		if p.catching {
			out = p.str.write(out)
		}
		if !p.emit(out) {
			return
		}
	}
}

// spareCut is how much of a silent frame to leave out to shed spare delay
// (JitterFrame.Spare): whole device periods of it, since the mixer takes a
// voice's samples a period at a time and a part period would leave the
// voice short at the next wake.
func (p *Player) spareCut(spare time.Duration) int {
	period := int(p.mix.lead.Load())
	if period <= 0 {
		return 0
	}
	return min(FrameSamples, int(durationToSamples(spare))/period*period)
}

// waitLowWater waits, serving commands, until the voice holds no more
// than its low water. It returns false when the player closes.
func (p *Player) waitLowWater() bool {
	for p.v.buffered() > p.lowWater() {
		select {
		case <-p.v.space:
		case c := <-p.cmds:
			p.apply(c)
		case <-p.ctx.Done():
			return false
		}
	}
	return true
}

// lowWater is how much a live voice holds, at most, when the next frame is
// decoded. It starts at nothing: the mixer takes a voice's samples right
// after each device callback, so a voice it has just emptied has a whole
// device period, as the mixer itself does, to decode and write the next
// frame. Each time the loop was late for that anyway (the mixer found the
// voice empty between two frames: a scheduling delay on a loaded machine)
// it rises by one mixer chunk, up to the output lead, where the loop has
// two periods. While catching up, the stretcher's output does not come in
// whole periods, so the voice keeps the lead.
func (p *Player) lowWater() int {
	lead := int(p.mix.lead.Load())
	if p.catching {
		return lead
	}
	return min(p.low, lead)
}

// checkLate raises the low water when the mixer has found the voice empty
// since the last frame while it was playing (not waiting for packets).
func (p *Player) checkLate(playing bool) {
	starved := p.v.starved.Load()
	if playing && starved > p.starvedAt {
		p.low = min(p.low+mixChunk, int(p.mix.lead.Load()))
		p.lateFrames.Add(1)
	}
	p.starvedAt = starved
}

// waitDue gives a late packet the time the device leaves before it needs
// the next frame, instead of concealing it at once: the voice has just
// been emptied by the mixer's fill after a device callback, so the next
// fill that needs samples comes one device period later; the wait ends
// stallMargin before that. Once the loop has been late for the mixer (the
// low water rose), or while catching up, there is no time to give. It
// returns false when the player closes.
func (p *Player) waitDue(t *time.Timer) bool {
	grace := samplesToDuration(p.mix.lead.Load()) - stallMargin
	if p.low > 0 || p.catching || grace <= 0 {
		return true
	}
	t.Reset(grace)
	defer t.Stop()
	for !p.jb.Due() {
		select {
		case <-p.arrived:
		case <-t.C:
			return true
		case c := <-p.cmds:
			p.apply(c)
		case <-p.ctx.Done():
			return false
		}
	}
	return true
}

// stallMargin is how long before the mixer needs a live voice's next
// frame the loop stops waiting for its packet and conceals it: time to
// decode and for the loop to be scheduled.
const stallMargin = 3 * time.Millisecond

// waitPlayable waits, serving commands, until a packet arrives, the input
// closes or, when the jitter buffer holds packets but its target delay has
// not passed yet, for that delay (in). It returns false when the player
// closes.
func (p *Player) waitPlayable(t *time.Timer, in time.Duration) bool {
	var fire <-chan time.Time
	if in > 0 {
		t.Reset(in)
		fire = t.C
		defer t.Stop()
	}
	for {
		select {
		case <-p.arrived:
			return true
		case <-fire:
			return true
		case c := <-p.cmds:
			p.apply(c)
		case <-p.ctx.Done():
			return false
		}
	}
}

// catchUpEnter is the excess over the jitter target, in frames, from
// which a CatchUp player plays faster (100 ms: less is shed by skipping
// silent frames and the jitter buffer's drops, unheard).
const catchUpEnter = 5

func (p *Player) liveEnd() {
	for p.v.buffered() > 0 {
		select {
		case <-p.v.space:
			p.updatePosition()
		case c := <-p.cmds:
			p.apply(c)
		case <-p.ctx.Done():
			return
		}
	}
	p.mu.Lock()
	err := p.srcErr
	p.mu.Unlock()
	p.pos.Store(int64(p.mediaFed))
	p.event(PlayerEvent{Kind: PlayerFinished, Position: p.mediaFed, Err: err})
	for {
		select {
		case c := <-p.cmds:
			p.apply(c)
		case <-p.ctx.Done():
			return
		}
	}
}

// event delivers an important event, waiting for the reader or Close.
func (p *Player) event(ev PlayerEvent) {
	select {
	case p.events <- ev:
	case <-p.ctx.Done():
	}
}

// tryEvent delivers a position event if there is room.
func (p *Player) tryEvent(ev PlayerEvent) {
	select {
	case p.events <- ev:
	default:
	}
}

package app

import (
	"context"
	"log/slog"
	gosync "sync"

	"parley/audio"
	"parley/sync"
)

// maxLiveWaves bounds the live messages whose growing waveform is kept: a
// message whose end never came (its sender's device vanished) is dropped
// with the least recently read.
const maxLiveWaves = 16

// liveWaveStep is how many packets a growing waveform grows by at once:
// a second, so that it grows when the elapsed time ticks, in the same
// redraw. Each redraw repaints the whole window; measured with make cpu
// (listening live, Xvfb's software GL), growing at ui's 12.5 Hz took a
// listener from 19 % to 37 % of a core, nearly all of it painting.
const liveWaveStep = 50

// liveWaves gives voice messages that are still arriving a waveform that
// grows with them, from what was received: the packets sync cached,
// decoded in order (audio.WaveMeter) when ui reads the message. ui reads at
// most 12.5 times a second (its hint loop coalesces), so the decoding
// follows at that pace, off the UI thread, with no goroutine of its own.
// Once the message is complete it has the sender's stored waveform, which
// the growing one ends as.
//
// The packets of one message are decoded by one reader at a time: a
// reader that finds the message's meter busy waits for that reader, then
// reads what came after it.
type liveWaves struct {
	log *slog.Logger

	mu    gosync.Mutex
	waves map[string]*liveWave
	tick  uint64 // read counter, for least recently read
}

// liveWave is the growing waveform of one message. While busy is set a
// reader decodes into meter (outside mu; meter and next are then its
// alone) and closes busy when done.
type liveWave struct {
	meter  *audio.WaveMeter
	next   uint32 // packets decoded: the next one to read
	drawn  uint32 // packets points covers: whole steps of next
	points []byte
	read   uint64
	busy   chan struct{}
}

func newLiveWaves(log *slog.Logger) *liveWaves {
	return &liveWaves{log: log, waves: map[string]*liveWave{}}
}

// fill gives each message of ms still being recorded without a waveform
// the waveform of its packets so far (in whole liveWaveSteps), and its
// length so far (Packets, for the elapsed time), reading new packets from
// st. It forgets the messages
// that ended.
func (l *liveWaves) fill(ctx context.Context, st *sync.Store, ms []sync.Message) {
	for i := range ms {
		m := &ms[i]
		if m.Kind != sync.KindVoice {
			continue
		}
		if m.State != sync.StateRecording || len(m.Waveform) > 0 {
			l.forget(m.ID)
			continue
		}
		l.grow(ctx, st, m)
	}
}

// grow decodes m's packets not yet decoded and sets m's waveform.
func (l *liveWaves) grow(ctx context.Context, st *sync.Store, m *sync.Message) {
	w := l.checkOut(m.ID)
	if w == nil {
		return
	}
	ps, err := st.Packets(ctx, m.ID, w.next, 0)
	if err != nil {
		l.log.Debug("live waveform: read packets", "message", m.ID, "err", err)
	}
	for _, p := range ps {
		if err := w.meter.Add(p.Data); err != nil {
			l.log.Debug("live waveform", "message", m.ID, "err", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w.next += uint32(len(ps))
	if drawn := w.next - w.next%liveWaveStep; drawn != w.drawn || w.points == nil {
		w.drawn, w.points = drawn, w.meter.PointsOf(int(drawn))
	}
	close(w.busy)
	w.busy = nil
	showWave(m, w)
}

// checkOut returns message's wave, made if new, marked busy for the
// caller, once no other reader has it; nil if no decoder could be made.
func (l *liveWaves) checkOut(message string) *liveWave {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tick++
	for {
		w := l.waves[message]
		if w == nil {
			l.mu.Unlock()
			meter, err := audio.NewWaveMeter()
			l.mu.Lock()
			if err != nil {
				l.log.Warn("live waveform", "message", message, "err", err)
				return nil
			}
			if l.waves[message] != nil { // another reader made it meanwhile
				continue
			}
			if len(l.waves) >= maxLiveWaves {
				l.evict()
			}
			w = &liveWave{meter: meter}
			l.waves[message] = w
		}
		if w.busy != nil {
			done := w.busy
			l.mu.Unlock()
			<-done // the other reader's store read and decoding
			l.mu.Lock()
			continue
		}
		w.read = l.tick
		w.busy = make(chan struct{})
		return w
	}
}

// showWave copies w's points and length so far into m (mu held).
func showWave(m *sync.Message, w *liveWave) {
	m.Waveform = w.points
	m.Packets = max(m.Packets, w.next)
}

// evict drops the least recently read wave that no reader holds (mu held).
func (l *liveWaves) evict() {
	var oldest string
	for id, w := range l.waves {
		if w.busy == nil && (oldest == "" || w.read < l.waves[oldest].read) {
			oldest = id
		}
	}
	delete(l.waves, oldest)
}

// forget drops message's wave, if any.
func (l *liveWaves) forget(message string) {
	l.mu.Lock()
	delete(l.waves, message)
	l.mu.Unlock()
}

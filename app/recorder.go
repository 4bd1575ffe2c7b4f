package app

import (
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"parley/audio"
	"parley/sync"
	"parley/ui"
)

// recorder is ui.Recorder: the audio recorder's packets go into a
// sync.VoiceSend as they are encoded (the outbox first, so recording works
// offline), and Stop ends the message with its duration and waveform.
// The microphone is kept open (warm) from start-up so that the first
// syllable is not lost.
type recorder struct {
	sys  *audioSys
	msgr *messenger
	log  *slog.Logger
	// newRecorder opens the audio recorder; tests replace it with a
	// file-fed one.
	newRecorder func(*audio.Engine) (*audio.Recorder, error)

	mu    gosync.Mutex
	rec   *audio.Recorder
	clean audio.PreprocessConfig // microphone clean-up, from Settings
	// onDemand: the microphone is open only while talking (Settings "Keep
	// the microphone ready" off), so the system's in-use indicator goes off.
	onDemand bool
	cur      *transmission
	closed   bool
	wg       gosync.WaitGroup // one send goroutine per transmission
}

// micWarmup bounds how long warm waits for the microphone to deliver.
const micWarmup = 5 * time.Second

// transmission is one message being recorded; its send goroutine waits on
// end once the packet channel is drained.
type transmission struct {
	id  string
	end chan endRequest
}

type endRequest struct {
	cancel bool
	rec    audio.Recording
}

func newRecorder(sys *audioSys, msgr *messenger, log *slog.Logger) *recorder {
	r := &recorder{sys: sys, msgr: msgr, log: log, clean: audio.DefaultPreprocess}
	r.newRecorder = func(e *audio.Engine) (*audio.Recorder, error) {
		return e.NewRecorder(audio.RecorderConfig{Preprocess: r.clean}) // r.mu held by open
	}
	return r
}

// setClean switches the microphone clean-up stages, on the open
// microphone at once and on any opened later.
func (r *recorder) setClean(c audio.PreprocessConfig) {
	r.mu.Lock()
	r.clean = c
	rec := r.rec
	r.mu.Unlock()
	if rec != nil {
		rec.SetPreprocess(c)
	}
}

// setKeepReady chooses between a warm microphone (open all session, no
// first syllable lost) and one opened only while talking. Turning it off
// releases an idle microphone at once; turning it on opens it.
func (r *recorder) setKeepReady(on bool) {
	r.mu.Lock()
	r.onDemand = !on
	var idle *audio.Recorder
	if !on && r.cur == nil {
		idle, r.rec = r.rec, nil
	}
	warm := on && !r.closed && r.rec == nil
	if warm {
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if idle != nil {
		if err := idle.Close(); err != nil {
			r.log.Warn("close microphone", "err", err)
		}
		r.log.Info("microphone closed until the next transmission")
	}
	if warm {
		go func() {
			defer r.wg.Done()
			r.warm()
		}()
	}
}

// cleanOf reads the clean-up stages from the settings.
func cleanOf(p ui.Prefs) audio.PreprocessConfig {
	return audio.PreprocessConfig{Denoise: p.NoiseSuppression, AGC: p.AutoGain, VAD: p.VoiceGate}
}

// warm opens the microphone once the engine is up. It runs on a goroutine
// of the app's; failures are logged (Start tries again and reports them).
func (r *recorder) warm() {
	if _, err := r.sys.wait(); err != nil {
		return
	}
	rec, err := r.open()
	if err != nil {
		r.log.Warn("microphone", "err", err)
		return
	}
	t := time.NewTimer(micWarmup)
	defer t.Stop()
	select {
	case <-rec.Flowing():
		r.log.Info("microphone open")
	case <-t.C:
		r.log.Warn("microphone open but silent so far", "after", micWarmup)
	}
}

// open returns the audio recorder, opening it if needed.
func (r *recorder) open() (*audio.Recorder, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, audio.ErrClosed
	}
	if r.rec != nil {
		return r.rec, nil
	}
	eng, err := r.sys.engine()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ui.ErrNoMicrophone, err)
	}
	rec, err := r.newRecorder(eng)
	if err != nil {
		return nil, fmt.Errorf("open microphone: %w", userError(err))
	}
	r.rec = rec
	return rec, nil
}

// Start implements ui.Recorder.
func (r *recorder) Start(conversation string) (string, error) {
	acc := r.msgr.current()
	if acc == nil {
		return "", errors.New("start talking: not signed in")
	}
	rec, err := r.open()
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	busy := r.cur != nil
	r.mu.Unlock()
	if busy {
		return "", audio.ErrRecording
	}
	vs, err := acc.c.StartVoice(conversation)
	if err != nil {
		return "", fmt.Errorf("start talking: %w", err)
	}
	packets, err := rec.Start()
	if err != nil {
		if cerr := vs.Cancel(); cerr != nil {
			r.log.Warn("drop voice message", "err", cerr)
		}
		return "", fmt.Errorf("start talking: %w", userError(err))
	}
	t := &transmission{id: vs.ID(), end: make(chan endRequest, 1)}
	r.mu.Lock()
	r.cur = t
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.send(vs, packets, t)
	}()
	return t.id, nil
}

// send pushes every packet into the outbox, then ends the message the way
// Stop or Cancel asked.
func (r *recorder) send(vs *sync.VoiceSend, packets <-chan audio.Packet, t *transmission) {
	var pushErr error
	for p := range packets {
		if pushErr != nil {
			continue // keep draining: the recorder waits for its reader
		}
		if err := vs.Push(p.Data); err != nil {
			pushErr = err
			r.log.Warn("store voice packet", "message", t.id, "packet", p.Seq, "err", err)
		}
	}
	e := <-t.end
	var err error
	if e.cancel {
		err = vs.Cancel()
	} else {
		err = vs.End(e.rec.Duration, e.rec.Waveform)
	}
	if err != nil && !errors.Is(err, sync.ErrVoiceEnded) {
		r.log.Warn("end voice message", "message", t.id, "err", err)
	}
}

func (r *recorder) end(cancel bool) error {
	r.mu.Lock()
	t, rec := r.cur, r.rec
	r.cur = nil
	r.mu.Unlock()
	if t == nil {
		return nil
	}
	summary, err := rec.Stop()
	if errors.Is(err, audio.ErrNotRecording) {
		err = nil // a file source that ran out ended it already
	}
	t.end <- endRequest{cancel: cancel, rec: summary}
	r.mu.Lock()
	release := r.onDemand && r.rec == rec
	if release {
		r.rec = nil
	}
	r.mu.Unlock()
	if release { // every packet is out (Stop closed the channel): the device can go
		if cerr := rec.Close(); cerr != nil {
			r.log.Warn("close microphone", "err", cerr)
		}
	}
	return err
}

// Stop implements ui.Recorder.
func (r *recorder) Stop() error { return r.end(false) }

// Cancel implements ui.Recorder: sync withdraws the message (members
// online may have heard part of it live; nobody gets it later).
func (r *recorder) Cancel() error { return r.end(true) }

// Level implements ui.Recorder: the input level on a -60..0 dBFS scale.
func (r *recorder) Level() float32 {
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	if rec == nil {
		return 0
	}
	db := rec.Level().DBFS()
	return float32(min(1, max(0, (db+60)/60)))
}

// close ends any transmission, waits for its send goroutine and releases
// the microphone.
func (r *recorder) close() error {
	err := r.Stop()
	r.wg.Wait()
	r.mu.Lock()
	r.closed = true
	rec := r.rec
	r.rec = nil
	r.mu.Unlock()
	if rec != nil {
		return errors.Join(err, rec.Close())
	}
	return err
}

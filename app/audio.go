package app

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	gosync "sync"
	"sync/atomic"

	"parley/audio"
	"parley/ui"
)

// errAudioStarting is returned while the audio engine is still opening.
var errAudioStarting = errors.New("audio is still starting")

// audioSys owns the audio engine. It opens it on a goroutine so that the
// window does not wait for the audio system, and applies device choices.
type audioSys struct {
	log   *slog.Logger
	ready chan struct{} // closed once eng or err is set
	eng   *audio.Engine
	err   error

	muted     atomic.Bool   // tray "mute incoming"
	cueVolume atomic.Uint64 // math.Float64bits of 0..1

	current [2]string // devices in use; applyDevices only
	wg      gosync.WaitGroup
	devices chan [2]string // latest wanted (input, output); capacity 1
	stop    chan struct{}
}

func startAudio(cfg audio.Config, log *slog.Logger) *audioSys {
	s := &audioSys{log: log, ready: make(chan struct{}), devices: make(chan [2]string, 1), stop: make(chan struct{}),
		current: [2]string{cfg.CaptureDeviceID, cfg.PlaybackDeviceID}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.eng, s.err = audio.New(cfg)
		if s.err != nil {
			log.Warn("audio unavailable", "err", s.err)
		}
		close(s.ready)
		if s.err == nil {
			s.applyDevices()
		}
	}()
	return s
}

// engine returns the engine if it is open, without waiting.
func (s *audioSys) engine() (*audio.Engine, error) {
	select {
	case <-s.ready:
		if s.err != nil {
			return nil, userError(s.err)
		}
		return s.eng, nil
	default:
		return nil, errAudioStarting
	}
}

// wait returns the engine once the open attempt is over.
func (s *audioSys) wait() (*audio.Engine, error) {
	<-s.ready
	if s.err != nil {
		return nil, userError(s.err)
	}
	return s.eng, nil
}

// setDevices asks for other devices ("" = system default); it returns at
// once and the engine switches on its own goroutine.
func (s *audioSys) setDevices(input, output string) {
	select {
	case <-s.devices:
	default:
	}
	s.devices <- [2]string{input, output}
}

// applyDevices runs for the engine's life, switching devices on request.
func (s *audioSys) applyDevices() {
	cur := s.current
	for {
		select {
		case <-s.stop:
			return
		case want := <-s.devices:
			if want[0] != cur[0] {
				if err := s.eng.SetCaptureDevice(want[0]); err != nil {
					s.log.Warn("switch microphone", "device", want[0], "err", err)
				}
			}
			if want[1] != cur[1] {
				if err := s.eng.SetPlaybackDevice(want[1]); err != nil {
					s.log.Warn("switch speaker", "device", want[1], "err", err)
				}
			}
			cur = want
		}
	}
}

// cue plays a ui cue through the mixer (not while muted, and not at
// volume zero: the audio engine mixes cues at one fixed level).
func (s *audioSys) cue(c ui.Cue) {
	if s.cueVolumeValue() <= 0 {
		return
	}
	if c == ui.CueMessage && s.muted.Load() {
		return
	}
	eng, err := s.engine()
	if err != nil {
		return
	}
	ac := audio.CueTxStart
	switch c {
	case ui.CueTalkStop, ui.CueTalkCancel:
		ac = audio.CueTxEnd
	case ui.CueMessage:
		ac = audio.CueMessage
	}
	if err := eng.PlayCue(ac); err != nil {
		s.log.Debug("cue", "err", err)
	}
}

func (s *audioSys) setCueVolume(v float64) { s.cueVolume.Store(floatBits(v)) }

func (s *audioSys) cueVolumeValue() float64 { return floatFromBits(s.cueVolume.Load()) }

// close stops the device goroutine and closes the engine; players and the
// recorder must be closed first.
func (s *audioSys) close() error {
	close(s.stop)
	s.wg.Wait()
	if s.eng != nil {
		return s.eng.Close()
	}
	return nil
}

// devices is ui.Devices over the engine's device list.
type devices struct{ sys *audioSys }

func (d devices) list() (in, out []ui.Device, err error) {
	eng, err := d.sys.engine()
	if err != nil {
		return nil, nil, err
	}
	capture, playback, err := eng.ListDevices()
	if err != nil {
		return nil, nil, fmt.Errorf("list audio devices: %w", userError(err))
	}
	for _, c := range capture {
		in = append(in, ui.Device{ID: c.ID, Name: c.Name})
	}
	for _, p := range playback {
		out = append(out, ui.Device{ID: p.ID, Name: p.Name})
	}
	return in, out, nil
}

// Inputs implements ui.Devices.
func (d devices) Inputs() ([]ui.Device, error) {
	in, _, err := d.list()
	return in, err
}

// Outputs implements ui.Devices.
func (d devices) Outputs() ([]ui.Device, error) {
	_, out, err := d.list()
	return out, err
}

func floatBits(v float64) uint64     { return math.Float64bits(v) }
func floatFromBits(b uint64) float64 { return math.Float64frombits(b) }

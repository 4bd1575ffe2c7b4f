package app

import (
	"parley/ui"
)

// settings is ui.Settings in Fyne preferences; saving applies what takes
// effect at once (devices, cue volume). The host switch is applied by ui
// through Host, the language at the next start.
type settings struct {
	store  ui.PreferencesSettings
	sys    *audioSys
	rec    *recorder   // nil in tests without a microphone
	router *liveRouter // nil: no live policy to update
}

// Load implements ui.Settings.
func (s settings) Load() ui.Prefs { return s.store.Load() }

// Save implements ui.Settings. It returns at once: device switches run on
// the audio system's goroutine.
func (s settings) Save(p ui.Prefs) error {
	if err := s.store.Save(p); err != nil {
		return err
	}
	s.sys.setCueVolume(p.CueVolume)
	if s.router != nil {
		s.router.setPolicy(livePolicyOf(p))
	}
	s.sys.setDevices(p.InputDevice, p.OutputDevice)
	if s.rec != nil {
		s.rec.setClean(cleanOf(p))
		s.rec.setKeepReady(p.KeepMicReady)
	}
	return nil
}

package ui

import (
	"time"

	"fyne.io/fyne/v2"
)

// Prefs are the user's settings.
type Prefs struct {
	InputDevice  string  // Device.ID, "" = system default
	OutputDevice string  // Device.ID, "" = system default
	TalkKey      string  // fyne.KeyName, or "scan:<code>" for keys without a name
	AutoPlayLive bool    // play live messages of other conversations too
	CueVolume    float64 // 0..1
	DefaultSpeed float64 // 1, 1.5 or 2
	Language     string  // "" = system, "en", "zh"
	HostServer   bool    // run the bundled server
	// GlobalTalkKey: the talk key works while other windows have the focus.
	GlobalTalkKey bool
	// Microphone clean-up stages (speexdsp): noise suppression, automatic
	// gain, and quieting the pauses between words.
	NoiseSuppression, AutoGain, VoiceGate bool
	// TalkTailMs holds a release back (0..500 ms) so the last syllable is
	// sent; TapToLock: a double tap of the talk key locks talking on.
	TalkTailMs int
	TapToLock  bool
	// KeepMicReady keeps the microphone open all session (no first
	// syllable lost), its stream paused between messages (audio's
	// Recorder corks it after 2 s idle); off, it is opened only while
	// talking.
	KeepMicReady bool
	LastServer   string // host:port
	LastUser     string
	// LastConversation is the conversation open when the app last
	// showed one; it opens again at start.
	LastConversation string
	// WindowWidth and WindowHeight are the window's size when it last
	// closed; 0 means the default size.
	WindowWidth, WindowHeight float64
	// WindowX and WindowY are where the window's frame was, on the
	// screen, when it last lost focus (Deps.Placement); WindowPlaced is
	// false until then (the window manager places it).
	WindowX, WindowY int
	WindowPlaced     bool
}

// DefaultPrefs are the settings of a fresh install.
func DefaultPrefs() Prefs {
	return Prefs{TalkKey: string(fyne.KeyF8), CueVolume: 0.5, DefaultSpeed: 1, GlobalTalkKey: true,
		NoiseSuppression: true, AutoGain: true, VoiceGate: true,
		TalkTailMs: int(DefaultTalkTail / time.Millisecond), TapToLock: true, KeepMicReady: true}
}

// Settings stores Prefs. Save is called on the UI thread and must return
// quickly; an implementation may apply device changes as it saves.
type Settings interface {
	Load() Prefs
	Save(Prefs) error
}

// PreferencesSettings is a Settings stored in Fyne preferences.
type PreferencesSettings struct {
	P fyne.Preferences
}

// Load implements Settings.
func (s PreferencesSettings) Load() Prefs {
	d := DefaultPrefs()
	p := s.P
	return Prefs{
		InputDevice:      p.StringWithFallback("input", d.InputDevice),
		OutputDevice:     p.StringWithFallback("output", d.OutputDevice),
		TalkKey:          p.StringWithFallback("talkKey", d.TalkKey),
		AutoPlayLive:     p.BoolWithFallback("autoPlayLive", d.AutoPlayLive),
		CueVolume:        p.FloatWithFallback("cueVolume", d.CueVolume),
		DefaultSpeed:     p.FloatWithFallback("defaultSpeed", d.DefaultSpeed),
		Language:         p.StringWithFallback("language", d.Language),
		HostServer:       p.BoolWithFallback("hostServer", d.HostServer),
		GlobalTalkKey:    p.BoolWithFallback("globalTalkKey", d.GlobalTalkKey),
		NoiseSuppression: p.BoolWithFallback("noiseSuppression", d.NoiseSuppression),
		AutoGain:         p.BoolWithFallback("autoGain", d.AutoGain),
		VoiceGate:        p.BoolWithFallback("voiceGate", d.VoiceGate),
		TalkTailMs:       p.IntWithFallback("talkTailMs", d.TalkTailMs),
		TapToLock:        p.BoolWithFallback("tapToLock", d.TapToLock),
		KeepMicReady:     p.BoolWithFallback("keepMicReady", d.KeepMicReady),
		LastServer:       p.StringWithFallback("lastServer", d.LastServer),
		LastUser:         p.StringWithFallback("lastUser", d.LastUser),
		LastConversation: p.StringWithFallback("lastConversation", d.LastConversation),
		WindowWidth:      p.FloatWithFallback("windowWidth", d.WindowWidth),
		WindowHeight:     p.FloatWithFallback("windowHeight", d.WindowHeight),
		WindowX:          p.IntWithFallback("windowX", d.WindowX),
		WindowY:          p.IntWithFallback("windowY", d.WindowY),
		WindowPlaced:     p.BoolWithFallback("windowPlaced", d.WindowPlaced),
	}
}

// Save implements Settings.
func (s PreferencesSettings) Save(v Prefs) error {
	p := s.P
	p.SetString("input", v.InputDevice)
	p.SetString("output", v.OutputDevice)
	p.SetString("talkKey", v.TalkKey)
	p.SetBool("autoPlayLive", v.AutoPlayLive)
	p.SetFloat("cueVolume", v.CueVolume)
	p.SetFloat("defaultSpeed", v.DefaultSpeed)
	p.SetString("language", v.Language)
	p.SetBool("hostServer", v.HostServer)
	p.SetBool("globalTalkKey", v.GlobalTalkKey)
	p.SetBool("noiseSuppression", v.NoiseSuppression)
	p.SetBool("autoGain", v.AutoGain)
	p.SetBool("voiceGate", v.VoiceGate)
	p.SetInt("talkTailMs", v.TalkTailMs)
	p.SetBool("tapToLock", v.TapToLock)
	p.SetBool("keepMicReady", v.KeepMicReady)
	p.SetString("lastServer", v.LastServer)
	p.SetString("lastUser", v.LastUser)
	p.SetString("lastConversation", v.LastConversation)
	p.SetFloat("windowWidth", v.WindowWidth)
	p.SetFloat("windowHeight", v.WindowHeight)
	p.SetInt("windowX", v.WindowX)
	p.SetInt("windowY", v.WindowY)
	p.SetBool("windowPlaced", v.WindowPlaced)
	return nil
}

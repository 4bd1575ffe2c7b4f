package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"parley/assets"
	"parley/sync"
)

// levelRefresh is how often the talk panel re-reads the input level.
const levelRefresh = 50 * time.Millisecond

// UI is Parley's window: connect, sign-in, main and settings screens over one
// shared banner for errors. Its exported methods run on the UI thread (or
// from lifecycle callbacks, which Fyne calls there).
type UI struct {
	app   fyne.App
	win   fyne.Window
	d     Deps
	prefs Prefs

	talk *talkState
	keys *keyRouter

	// async runs f off the UI thread; tests run it inline.
	async func(f func())
	// now is the clock (day separators say Today and Yesterday).
	now func() time.Time
	// after runs f off the UI thread after d and returns a cancel (a
	// transient note's end); tests replace it.
	after func(d time.Duration, f func()) (cancel func())
	// hintInterval is the least time between two applications of hints:
	// a live message changes 50 times a second, the display needs ~12.
	hintInterval time.Duration
	// levelInterval is how often the talk panel re-reads the input level
	// while talking; 0 stops the ticker (tests, whose driver would run its
	// fyne.Do at once on the ticker's goroutine).
	levelInterval time.Duration

	banner     *widget.Label
	bannerBox  *fyne.Container
	screenHost *fyne.Container
	root       *fyne.Container

	connect  *connectScreen
	signIn   *signInScreen
	main     *mainScreen
	picker   *userPicker // the user picker last opened
	devices  *devicesScreen
	screen   string // "connect", "signin", "main", "settings"
	notified map[string]bool

	foreground bool

	globalHeld   bool // the global talk key is down (globalkey.go)
	globalStatus GlobalKeyStatus
	globalNote   *widget.Label // in Settings, while shown
	filesSending int           // audio files being imported (filesend.go)
	stopHints    chan struct{}
	hintsDone    chan struct{}
	stopLevel    chan struct{}

	// trustOpen is set while the trust prompt (trustDialog) is shown.
	trustOpen      bool
	trustDialog    dialog.Dialog
	trustDismissed string // fingerprint whose prompt was cancelled
}

// New builds Parley's window on a; it shows nothing until Show. The caller
// (app/) also wires the lifecycle: ExitedForeground and EnteredForeground.
func New(a fyne.App, d Deps) *UI {
	u := newUI(a, d, func(f func()) { go f() })
	if d.Hints != nil {
		go u.hintLoop(d.Hints)
	} else {
		close(u.hintsDone)
	}
	return u
}

func newUI(a fyne.App, d Deps, async func(func())) *UI {
	if d.Settings == nil {
		d.Settings = PreferencesSettings{P: a.Preferences()}
	}
	u := &UI{app: a, d: d, async: async, now: time.Now, after: afterFunc, hintInterval: hintInterval, levelInterval: levelRefresh, notified: map[string]bool{},
		foreground: true, stopHints: make(chan struct{}), hintsDone: make(chan struct{})}
	u.prefs = d.Settings.Load()
	u.win = a.NewWindow("Parley")
	u.win.Resize(windowSize(u.prefs))

	u.talk = newTalkState(d.Recorder, d.MaxTalk)
	u.talk.fail = u.showError
	u.talk.changed = u.talkChanged
	if d.Cue != nil {
		u.talk.cue = d.Cue
	}
	u.applyHands()
	u.keys = &keyRouter{key: parseTalkKey(u.prefs.TalkKey), talk: u.talk}
	installCanvasKeys(u.win.Canvas(), u.keys)

	u.banner = widget.NewLabel("")
	u.banner.Wrapping = fyne.TextWrapWord
	u.banner.Importance = widget.DangerImportance
	dismiss := widget.NewButtonWithIcon("", theme.CancelIcon(), func() { u.showError(nil) })
	dismiss.Importance = widget.LowImportance
	u.bannerBox = container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), dismiss, u.banner)
	u.bannerBox.Hide()
	u.screenHost = container.NewStack()
	u.root = container.NewBorder(u.bannerBox, nil, nil, nil, u.screenHost)
	u.win.SetContent(u.root)

	u.connect = newConnectScreen(u)
	u.signIn = newSignInScreen(u)
	u.main = newMainScreen(u)
	u.talk.conversation = func() string { return u.main.current }
	u.installFileDrop()

	st := d.Messenger.Status()
	switch {
	case st.User != "" && st.State != sync.StateStopped:
		u.showMain()
	case st.Server != "" && st.State != sync.StateStopped:
		u.showSignIn()
	default:
		u.showConnect()
	}
	return u
}

// afterFunc is time.AfterFunc with a cancel.
func afterFunc(d time.Duration, f func()) func() {
	t := time.AfterFunc(d, f)
	return func() { t.Stop() }
}

// Window is the main window, for app/ (tray, close intercept).
func (u *UI) Window() fyne.Window { return u.win }

// Show shows the window, where it was last time when that is known.
func (u *UI) Show() {
	u.win.Show()
	if pl := u.d.Placement; pl != nil && u.prefs.WindowPlaced {
		u.place(pl, u.prefs.WindowX, u.prefs.WindowY, placeTries)
	}
}

// placeTries is how many times Show puts the window where it was: the
// toolkit may still place a window it has only just mapped (seen under
// Xvfb: the move made before the map was undone).
const placeTries = 4

// place moves the window to x, y and looks again a little later, moving
// it back while it is elsewhere, tries times in all.
func (u *UI) place(pl WindowPlacement, x, y, tries int) {
	if err := pl.Move(u.win, x, y); err != nil && u.d.Logger != nil {
		u.d.Logger.Info("window position not restored", "err", err)
	}
	if tries <= 1 {
		return
	}
	afterFunc(250*time.Millisecond, func() {
		fyne.Do(func() {
			if px, py, ok := pl.Position(u.win); !ok || px != x || py != y {
				u.place(pl, x, y, tries-1)
			}
		})
	})
}

// ExitedForeground stops a transmission when the window loses focus; wire it
// to app.Lifecycle().SetOnExitedForeground. Idempotent.
func (u *UI) ExitedForeground() {
	u.foreground = false
	// A hide or a quit takes the focus first: remember where the window is.
	u.rememberPosition()
	if !u.globalHeld { // the global key's own release ends its transmission
		u.talk.Stop()
	}
	u.main.talkBtn.reset()
}

// EnteredForeground notes that the window has focus again (notifications are
// only sent while it has not).
func (u *UI) EnteredForeground() {
	u.foreground = true
	u.main.markSeen()
}

// Close stops the hint loop and any transmission and waits for the loop.
// Call it on the UI thread before the app quits.
func (u *UI) Close() {
	u.talk.End()
	if u.main.noteCancel != nil { // a transient note's timer
		u.main.noteCancel()
	}
	u.rememberWindow()
	select {
	case <-u.stopHints:
	default:
		close(u.stopHints)
	}
	<-u.hintsDone
}

// applyLanguage makes the language setting take effect now: the bundles
// are reloaded and the screens rebuilt in it (their texts are looked up
// when they are built), then the settings screen shows again. Fyne's own
// dialogs follow from the next one opened.
func (u *UI) applyLanguage() {
	if _, err := assets.LoadTranslations(u.prefs.Language); err != nil {
		u.showError(err)
		return
	}
	u.connect = newConnectScreen(u)
	u.signIn = newSignInScreen(u)
	u.main = newMainScreen(u)
	u.devices = nil
	u.main.refreshStatus()
	u.reloadConversations()
	u.showSettings()
}

// Window sizes: the default and the smallest one remembered.
var (
	defaultWindowSize = fyne.NewSize(900, 620)
	minWindowSize     = fyne.NewSize(480, 360)
)

// windowSize is the remembered window size, or the default.
func windowSize(p Prefs) fyne.Size {
	if p.WindowWidth < float64(minWindowSize.Width) || p.WindowHeight < float64(minWindowSize.Height) {
		return defaultWindowSize
	}
	return fyne.NewSize(float32(p.WindowWidth), float32(p.WindowHeight))
}

// rememberWindow saves the window's size for the next start (its
// position is saved as focus goes: rememberPosition).
func (u *UI) rememberWindow() {
	sz := u.win.Canvas().Size()
	if sz.Width < minWindowSize.Width || sz.Height < minWindowSize.Height {
		return
	}
	w, h := float64(sz.Width), float64(sz.Height)
	if w != u.prefs.WindowWidth || h != u.prefs.WindowHeight {
		u.prefs.WindowWidth, u.prefs.WindowHeight = w, h
		u.savePrefs()
	}
}

// rememberPosition saves where the window is, when Deps.Placement knows.
// It runs at every loss of focus: Fyne quits and hides only after one,
// and by the time the app has stopped its window is gone.
func (u *UI) rememberPosition() {
	pl := u.d.Placement
	if pl == nil {
		return
	}
	x, y, ok := pl.Position(u.win)
	if !ok || (u.prefs.WindowPlaced && x == u.prefs.WindowX && y == u.prefs.WindowY) {
		return
	}
	u.prefs.WindowX, u.prefs.WindowY, u.prefs.WindowPlaced = x, y, true
	u.savePrefs()
}

// showError is the one way an error reaches the user: a banner in their words.
func (u *UI) showError(err error) {
	if err == nil {
		if u.bannerBox.Visible() {
			u.bannerBox.Hide()
			u.root.Refresh()
		}
		return
	}
	if u.d.Logger != nil {
		u.d.Logger.Info("error shown", "screen", u.screen, "err", err)
	}
	u.banner.SetText(userMessage(err, u.screen))
	u.bannerBox.Show()
	u.root.Refresh() // Border lays out only visible objects: place the banner
}

func (u *UI) setScreen(name string, content fyne.CanvasObject) {
	u.screen = name
	u.screenHost.Objects = []fyne.CanvasObject{content}
	u.screenHost.Refresh()
}

func (u *UI) showConnect() {
	u.setScreen("connect", u.connect.content)
	u.connect.refresh()
}

func (u *UI) showSignIn() {
	u.signIn.refresh()
	u.setScreen("signin", u.signIn.content)
}

func (u *UI) showMain() {
	u.showError(nil)
	u.setScreen("main", u.main.content)
	u.main.refreshStatus()
	u.reloadConversations()
	u.win.Canvas().Focus(u.main.entry)
}

func (u *UI) savePrefs() {
	if err := u.d.Settings.Save(u.prefs); err != nil {
		u.showError(err)
	}
}

// hintInterval is the least time between two applications of hints (at
// most 12.5 a second): what a growing live waveform and a moving playhead
// need, and a tenth of the refreshes a live message would otherwise cause.
const hintInterval = 80 * time.Millisecond

// hintLoop drains hints, coalescing bursts, and applies them. It owns no
// widgets: it re-reads through the interfaces and hands results to fyne.Do.
// A hint after a quiet spell is applied at once; hints that follow within
// hintInterval are gathered and applied together when it has passed.
func (u *UI) hintLoop(hints <-chan Hint) {
	defer close(u.hintsDone)
	var last time.Time
	for {
		var batch []Hint
		select {
		case <-u.stopHints:
			return
		case h, ok := <-hints:
			if !ok {
				return
			}
			batch = append(batch, h)
		}
		if wait := u.hintInterval - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
		gather:
			for {
				select {
				case <-u.stopHints:
					t.Stop()
					return
				case h, ok := <-hints:
					if !ok {
						break gather
					}
					batch = append(batch, h)
				case <-t.C:
					break gather
				}
			}
			t.Stop()
		}
		last = time.Now()
	drain:
		for len(batch) < 256 {
			select {
			case h, ok := <-hints:
				if !ok {
					break drain
				}
				batch = append(batch, h)
			default:
				break drain
			}
		}
		for _, h := range coalesce(batch) {
			u.handleHint(h)
		}
	}
}

// coalesce drops repeated hints, keeping first-seen order.
func coalesce(hs []Hint) []Hint {
	seen := make(map[Hint]bool, len(hs))
	out := hs[:0:0]
	for _, h := range hs {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// handleHint re-reads what h names. It may run on the hint goroutine; every
// widget change goes through fyne.Do.
func (u *UI) handleHint(h Hint) {
	m := u.d.Messenger
	switch h.Kind {
	case HintConnection:
		fyne.Do(func() {
			u.main.refreshStatus()
			st := m.Status()
			u.askTrustStatus(st.Err)
			if u.screen != "signin" && u.screen != "connect" && st.User == "" && st.Server != "" {
				// Signed out by the server (revoked, expired): say why
				// where the user signs in again.
				u.showSignIn()
				if st.Err != nil {
					u.showError(st.Err)
				}
			}
		})
	case HintConversations, HintPresence:
		u.reloadConversations()
		fyne.Do(func() {
			u.main.members.reload()
			if u.talk.Talking() {
				u.main.loadAudience()
			}
		})
	case HintConversation:
		u.reloadConversations()
		fyne.Do(func() {
			if h.Conversation == u.main.current {
				u.reloadMessages()
			}
		})
	case HintMessage:
		msg, err := m.Message(h.Message)
		if err != nil {
			return
		}
		fyne.Do(func() { u.main.messageChanged(msg) })
	case HintServers:
		fyne.Do(u.connect.refreshServers)
	case HintHost:
		fyne.Do(u.connect.refresh)
	case HintPlayback:
		fyne.Do(u.main.playbackChanged)
	}
}

// reloadConversations reads the conversation list off the UI thread.
func (u *UI) reloadConversations() {
	u.async(func() {
		convs, err := u.d.Messenger.Conversations()
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			u.main.setConversations(convs)
		})
	})
}

// reloadMessages reads the open conversation off the UI thread.
func (u *UI) reloadMessages() {
	conv := u.main.current
	if conv == "" {
		return
	}
	u.async(func() {
		msgs, err := u.d.Messenger.Messages(conv, 0, pageSize)
		fyne.Do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			if conv == u.main.current {
				u.main.setMessages(msgs)
			}
		})
	})
}

// talkChanged redraws the talk panel and runs the level meter while talking.
func (u *UI) talkChanged() {
	if u.talk.Talking() && u.main.toNewest() { // the new message shows with the newest
		u.reloadMessages()
	}
	if u.talk.Talking() {
		u.main.loadAudience()
	}
	u.main.refreshTalk()
	if i, ok := u.main.pos(u.talk.message); ok { // its bubble says live while sending
		u.main.refreshMessage(u.main.msgs[i])
	}
	if u.talk.Talking() && u.stopLevel == nil && u.levelInterval > 0 {
		stop := make(chan struct{})
		u.stopLevel = stop
		go func() {
			t := time.NewTicker(u.levelInterval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fyne.Do(func() {
						if u.stopLevel == stop {
							u.main.refreshTalk()
						}
					})
				}
			}
		}()
	}
	if !u.talk.Talking() {
		if u.stopLevel != nil {
			close(u.stopLevel)
			u.stopLevel = nil
		}
		if !u.main.talkBtn.pressed {
			u.main.talkBtn.Refresh()
		}
		switch u.talk.lastReason {
		case stopTooLong:
			u.main.flashNote(lang.L("Maximum length reached — message sent."))
		case stopCancelled:
			u.main.flashNote(lang.L("Cancelled — the message was withdrawn."))
		case stopReleased:
			u.main.setNote("")
		}
		u.reloadMessages()
	}
}

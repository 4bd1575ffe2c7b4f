package app

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	gosync "sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/systray"
	xdraw "golang.org/x/image/draw"

	"parley/assets"
	"parley/ui"
)

// background is Parley's life outside its window. The close button hides
// the window (Parley keeps receiving, playing live audio and hosting); the
// first time, a notification says where it went. Quit lives in the tray
// menu and the app menu and, while this computer hosts the server, asks
// first. The tray icon shows talking and unplayed messages; its tooltip
// names the account and server (two instances are told apart).
type background struct {
	a     fyne.App
	win   fyne.Window
	host  *host
	prefs fyne.Preferences
	sys   *audioSys
	pl    *player
	notes notifier
	log   *slog.Logger

	// icons by trayState, made once at install.
	icons [3]fyne.Resource

	mu       gosync.Mutex // guards the state below (set from any goroutine)
	talking  bool
	unplayed int
	account  string // "alice on 10.0.0.5:7447"
	asking   bool   // the quit question is up (UI thread)

	// The tray worker applies state changes off the UI thread: the tray is
	// a D-Bus service on Linux, and a slow bus must not delay a key release.
	changed chan struct{} // capacity 1: coalesces
	stop    chan struct{}
	done    chan struct{}
}

type trayState int

const (
	trayIdle trayState = iota
	trayUnplayed
	trayTalking
)

// toldHiddenKey remembers that the first close was explained.
const toldHiddenKey = "toldHidden"

// install wires the window and the tray. UI thread, before Run.
func (b *background) install() {
	b.icons = [3]fyne.Resource{assets.Icon, badgeIcon("unplayed", color.NRGBA{0x1e, 0x88, 0xe5, 0xff}), badgeIcon("talking", color.NRGBA{0xe5, 0x39, 0x35, 0xff})}
	b.win.SetCloseIntercept(b.closeWindow)
	quit := fyne.NewMenuItem(lang.L("Quit"), b.quit)
	quit.IsQuit = true
	b.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Parley", fyne.NewMenuItem(lang.L("Hide window"), b.closeWindow), fyne.NewMenuItemSeparator(), quit)))
	desk, ok := b.a.(desktop.App)
	if !ok {
		return
	}
	var menu *fyne.Menu
	show := fyne.NewMenuItem(lang.L("Show Parley"), func() {
		b.win.Show()
		b.win.RequestFocus()
	})
	mute := fyne.NewMenuItem(lang.L("Mute incoming"), nil)
	mute.Action = func() {
		on := !b.sys.muted.Load()
		b.sys.muted.Store(on)
		mute.Checked = on
		if on {
			b.pl.stopLive()
		}
		menu.Refresh()
	}
	trayQuit := fyne.NewMenuItem(lang.L("Quit"), b.quit)
	trayQuit.IsQuit = true
	menu = fyne.NewMenu("Parley", show, mute, fyne.NewMenuItemSeparator(), trayQuit)
	desk.SetSystemTrayMenu(menu)
	desk.SetSystemTrayIcon(assets.Icon)
	b.changed, b.stop, b.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go b.trayLoop()
	b.refresh()
}

// trayLoop applies the tray state when it changed, until close.
func (b *background) trayLoop() {
	defer close(b.done)
	var shownState trayState
	shownTip := ""
	for {
		select {
		case <-b.stop:
			return
		case <-b.changed:
		}
		st, tip := b.trayNow()
		if st != shownState {
			systray.SetIcon(b.icons[st].Content()) // PNG, as Fyne hands it on Linux and Windows
			shownState = st
		}
		if tip != shownTip {
			systray.SetTooltip(tip) // Fyne 2.8 has no tooltip call of its own
			shownTip = tip
		}
	}
}

// close stops the tray worker. Idempotent; safe without install.
func (b *background) close() {
	if b.stop == nil {
		return
	}
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
}

// closeWindow hides the window instead of quitting. UI thread.
func (b *background) closeWindow() {
	b.win.Hide()
	if !b.prefs.Bool(toldHiddenKey) {
		b.prefs.SetBool(toldHiddenKey, true)
		b.notes.notify("", lang.L("Parley is still running in the system tray and keeps receiving messages. Quit it from the tray menu."))
		b.log.Info("window hidden; told where Parley went")
	}
}

// quit quits, asking first while this computer hosts the server. UI thread.
func (b *background) quit() {
	if b.host == nil || !b.host.Running() {
		b.a.Quit()
		return
	}
	if b.asking {
		return
	}
	b.asking = true
	b.win.Show()
	b.win.RequestFocus()
	d := dialog.NewConfirm(lang.L("Quit Parley?"),
		lang.L("This computer hosts the server: everyone using it loses the connection until Parley runs here again."),
		func(ok bool) {
			b.asking = false
			if ok {
				b.log.Info("quit while hosting, confirmed")
				b.a.Quit()
			}
		}, b.win)
	d.SetConfirmText(lang.L("Quit and stop the server"))
	d.SetDismissText(lang.L("Keep running"))
	d.Show()
}

// setTalking, setUnplayed and setAccount update the tray; any goroutine.
func (b *background) setTalking(on bool) {
	b.mu.Lock()
	b.talking = on
	b.mu.Unlock()
	b.refresh()
}

func (b *background) setUnplayed(n int) {
	b.mu.Lock()
	b.unplayed = n
	b.mu.Unlock()
	b.refresh()
}

func (b *background) setAccount(user, server string) {
	b.mu.Lock()
	b.account = ""
	if user != "" {
		b.account = fmt.Sprintf(lang.L("%s on %s"), user, server)
	}
	b.mu.Unlock()
	b.refresh()
}

// tooltip and state are what the tray should show now.
func (b *background) trayNow() (trayState, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, tip := trayIdle, "Parley"
	if b.account != "" {
		tip += " — " + b.account
	}
	switch {
	case b.talking:
		st, tip = trayTalking, tip+" — "+lang.L("talking")
	case b.unplayed > 0:
		st = trayUnplayed
		tip += " — " + fmt.Sprintf(lang.L("%d unplayed"), b.unplayed)
	}
	return st, tip
}

// refresh asks the tray worker to apply the state; any goroutine.
func (b *background) refresh() {
	if b.changed == nil {
		return
	}
	select {
	case b.changed <- struct{}{}:
	default: // a refresh is pending already
	}
}

// badgeIcon is the app icon, 128 px, with a coloured dot in its lower
// right corner.
func badgeIcon(name string, c color.NRGBA) fyne.Resource {
	src, err := png.Decode(bytes.NewReader(assets.Icon.Content()))
	if err != nil {
		return assets.Icon
	}
	const size = 128
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	xdraw.CatmullRom.Scale(img, img.Bounds(), src, src.Bounds(), xdraw.Over, nil)
	cx, cy, r := size*3/4, size*3/4, size/5
	for y := cy - r - 2; y <= cy+r+2; y++ {
		for x := cx - r - 2; x <= cx+r+2; x++ {
			d := (x-cx)*(x-cx) + (y-cy)*(y-cy)
			switch {
			case d <= r*r:
				img.SetNRGBA(x, y, c)
			case d <= (r+2)*(r+2):
				img.SetNRGBA(x, y, color.NRGBA{0xff, 0xff, 0xff, 0xff}) // ring: visible on dark and light panels
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return assets.Icon
	}
	return fyne.NewStaticResource("parley-"+name+".png", buf.Bytes())
}

// talkWatch is the ui.Recorder that tells the tray about transmissions.
type talkWatch struct {
	ui.Recorder
	bg *background
}

func (w talkWatch) Start(conv string) (string, error) {
	id, err := w.Recorder.Start(conv)
	if err == nil {
		w.bg.setTalking(true)
		w.bg.log.Debug("talk start", "message", id)
	}
	return id, err
}

func (w talkWatch) Stop() error {
	w.bg.setTalking(false)
	w.bg.log.Debug("talk stop")
	return w.Recorder.Stop()
}

func (w talkWatch) Cancel() error {
	w.bg.setTalking(false)
	w.bg.log.Debug("talk cancel")
	return w.Recorder.Cancel()
}

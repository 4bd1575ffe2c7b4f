package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/lang"

	"parley/assets"
	"parley/audio"
	"parley/server/discovery"
	"parley/ui"
)

// Run starts Parley's window and blocks until the user quits. Components
// start in this order and close in reverse: audio, host, discovery,
// messenger (sync), recorder, player, ui.
func Run(cfg Config) error {
	start := time.Now()
	log := cfg.logger()
	traceOn(cfg)
	if cfg.DataDir != "" {
		if err := isolatePreferences(cfg.DataDir); err != nil {
			return err
		}
	}
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(assets.Icon)
	store := ui.PreferencesSettings{P: a.Preferences()}
	prefs := store.Load()
	if code, err := assets.LoadTranslations(prefs.Language); err != nil {
		log.Warn("translations", "err", err)
	} else {
		log.Debug("translations", "language", code, "setting", prefs.Language)
	}
	root := cfg.DataDir
	if root == "" {
		root = a.Storage().RootURI().Path()
	}
	dirs, err := newPaths(root)
	if err != nil {
		return err
	}
	backend, err := cfg.backend()
	if err != nil {
		return err
	}

	sys := startAudio(audio.Config{Backend: backend, CaptureDeviceID: prefs.InputDevice,
		PlaybackDeviceID: prefs.OutputDevice, Logger: log.With("component", "audio")}, log)
	sys.setCueVolume(prefs.CueVolume)
	hints := newHintBus()
	interfaces := discovery.ParseInterfaces(cfg.MDNSInterfaces)
	h := &host{dir: dirs.server, name: "Parley on " + deviceName(), listenIP: cfg.HostAddr, portFlag: cfg.HostPort,
		rotateCert: cfg.RotateCert, prefs: a.Preferences(), interfaces: interfaces, log: log, hints: hints}
	if cfg.Host && !prefs.HostServer {
		prefs.HostServer = true
		if err := store.Save(prefs); err != nil {
			return err
		}
	}
	if prefs.HostServer {
		if err := h.Start(); err != nil {
			log.Error("host a server", "err", err)
		}
	}
	disc := startBrowser(interfaces, log, hints)

	var focused atomic.Bool
	focused.Store(true)
	msgr := newMessenger(dirs.accounts, deviceName(), log, hints)
	var u *ui.UI // set below, before a notification can be clicked
	notes := newNotifier(a, func(conv string) {
		fyne.Do(func() { u.OpenConversation(conv) })
	}, log.With("component", "notify"))
	pl := newPlayer(sys, msgr, hints, log)
	router := newLiveRouter(sys, pl, livePolicyOf(prefs), log)
	msgr.router = router
	msgr.newMessages = func(conv, title string, voice, text int) {
		sys.cue(ui.CueMessage)
		if notifyWanted(focused.Load(), router.openConversation(), conv, sys.muted.Load()) {
			notes.notify(conv, newMessagesText(title, voice, text))
		}
	}
	signInAtStart(cfg, &prefs, store, msgr, h, log)
	bg := &background{a: a, host: h, prefs: a.Preferences(), sys: sys, notes: notes, log: log.With("component", "background")}
	msgr.unplayedChanged = func(user, server string, n int) {
		bg.setAccount(user, server)
		bg.setUnplayed(n)
	}

	var wg gosync.WaitGroup
	rec := newRecorder(sys, msgr, log)
	rec.setClean(cleanOf(prefs))
	rec.setKeepReady(prefs.KeepMicReady) // opens the microphone now when kept ready
	gk := newGlobalKey(log.With("component", "hotkey"))
	place := newWindowPlacement()

	u = ui.New(a, ui.Deps{
		Messenger: msgr,
		Recorder:  talkWatch{Recorder: rec, bg: bg},
		Player:    pl,
		Discovery: disc,
		Host:      h,
		Devices:   devices{sys},
		Settings:  settings{store: store, sys: sys, rec: rec, router: router},
		Hints:     hints.ch,
		Cue:       sys.cue,
		Logger:    log.With("component", "ui"),
		Focus: func(conv string) {
			router.OpenConversation(conv)
			notes.withdraw(conv) // it is in front of the user now
			log.Info("conversation shown", "conversation", conv)
		},
		GlobalKey: gk,
		Files:     fileSender{msgr: msgr, log: log.With("component", "files")},
		Muter:     msgr,
		Notify:    notes.notify,
		Placement: place,
	})
	gk.attach(u)
	gk.Set(prefs.TalkKey, prefs.GlobalTalkKey)
	win := u.Window()
	win.SetMaster()
	a.Lifecycle().SetOnExitedForeground(func() {
		focused.Store(false)
		u.ExitedForeground()
	})
	a.Lifecycle().SetOnEnteredForeground(func() {
		focused.Store(true)
		u.EnteredForeground()
	})
	bg.win, bg.pl = win, pl
	bg.install()
	u.Show()
	if cfg.ReportStartup {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reportStartup(start, msgr)
		}()
	}

	a.Run()
	// The UI closes here, not in Lifecycle's OnStopped: Fyne 2.8.1 queues
	// that hook while it drains its call queue for the last time, and a
	// hook that lands after the drain never runs, so Run never returned
	// (seen under load at SIGTERM, twice in three e2e runs: the main
	// goroutine in WaitForEvents, the event queue's in
	// runOnMainWithWait). Once Run has returned Fyne runs every call
	// inline.
	u.Close()

	hints.close() // ui has stopped reading: release every producer
	gk.close()
	place.close()
	bg.close()
	notes.close()
	var errs []error
	errs = append(errs, rec.close())
	wg.Wait()
	pl.close()
	errs = append(errs, msgr.Close())
	disc.close()
	errs = append(errs, h.Stop(), sys.close())
	printTrace(traceOut)
	return errors.Join(errs...)
}

// signInAtStart signs in as the command line asks, or restores the last
// account from its stored token (offline-first: the cached history shows
// even when the server is unreachable).
func signInAtStart(cfg Config, prefs *ui.Prefs, store ui.PreferencesSettings, m *messenger, h *host, log *slog.Logger) {
	server := cfg.Server
	if server == "" && cfg.Host && h.Running() {
		server = h.Address()
	}
	if cfg.User != "" && server != "" {
		if cfg.Password == "" && m.restore(server, cfg.User) {
			return
		}
		if err := m.Connect(server); err != nil {
			log.Error("connect", "server", server, "err", err)
			return
		}
		prefs.LastServer = server
		var err error
		if cfg.SignUp {
			err = m.SignUp(cfg.User, cfg.Password)
		} else {
			err = m.SignIn(cfg.User, cfg.Password)
		}
		if err != nil {
			log.Error("sign in", "server", server, "user", cfg.User, "err", err)
		} else {
			prefs.LastUser = cfg.User
		}
		if err := store.Save(*prefs); err != nil {
			log.Warn("save preferences", "err", err)
		}
		return
	}
	if prefs.LastServer == "" {
		return
	}
	if prefs.LastUser != "" && m.restore(prefs.LastServer, prefs.LastUser) {
		return
	}
	m.choose(prefs.LastServer)
}

// notifyWanted says whether new messages in conv raise a notification:
// not while everything is muted, and not when the user is looking at them
// (the window in focus with conv open); hidden, unfocused, or another
// conversation open, they do.
func notifyWanted(focused bool, open, conv string, muted bool) bool {
	return !muted && (!focused || open != conv)
}

// newMessagesText is the notification for messages that arrived in a
// conversation.
func newMessagesText(title string, voice, text int) string {
	data := map[string]any{"Conversation": title, "Voice": voice, "Text": text}
	switch {
	case voice > 0 && text > 0:
		return lang.L("{{.Voice}} voice and {{.Text}} text messages in {{.Conversation}}", data)
	case voice > 1:
		return lang.L("{{.Voice}} new voice messages in {{.Conversation}}", data)
	case voice == 1:
		return lang.L("New voice message in {{.Conversation}}", data)
	case text > 1:
		return lang.L("{{.Text}} new messages in {{.Conversation}}", data)
	default:
		return lang.L("New message in {{.Conversation}}", data)
	}
}

// reportStartup prints, once the signed-in account's first conversation
// has been read and handed to the window (or at once without an account),
// the time since start and the resident memory.
func reportStartup(start time.Time, m *messenger) {
	n := -1
	if m.current() != nil {
		select {
		case n = <-m.firstRead:
		case <-time.After(30 * time.Second):
		}
	}
	fyne.DoAndWait(func() {}) // the window has applied what was read (fyne.Do is FIFO)
	fyne.DoAndWait(func() {
		fmt.Fprintf(os.Stderr, "parley: startup: usable after %d ms, %d messages listed, rss %.1f MB, go heap %.1f MB\n",
			time.Since(start).Milliseconds(), n, float64(rssBytes())/(1<<20), float64(heapBytes())/(1<<20))
	})
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func heapBytes() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func deviceName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "desktop"
	}
	return h
}

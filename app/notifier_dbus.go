//go:build linux || freebsd || netbsd || openbsd

package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"github.com/godbus/dbus/v5"
)

// The freedesktop notification service (Desktop Notifications
// Specification 1.2).
const (
	notifyService = "org.freedesktop.Notifications"
	notifyPath    = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface   = "org.freedesktop.Notifications"
	// notifyCallTimeout bounds one Notify call: a desktop that does not
	// answer costs that notification, not the next ones.
	notifyCallTimeout = 5 * time.Second
	// notifyQueue is how many notifications may wait for the bus; more
	// are dropped (and logged) rather than block the caller.
	notifyQueue = 16
)

// newNotifier is the D-Bus notifier on the session bus, or Fyne's when
// there is no session bus. open is called (on the notifier's goroutine)
// with the conversation of a clicked notification.
func newNotifier(a fyne.App, open func(conversation string), log *slog.Logger) notifier {
	n, err := newDBusNotifier(open, fyneNotifier{a}, log)
	if err != nil {
		log.Info("notifications through Fyne (clicks do not open the conversation)", "err", err)
		return fyneNotifier{a}
	}
	return n
}

// dbusNotifier talks to org.freedesktop.Notifications on its own session
// bus connection. One goroutine (run) owns the bus calls and the maps
// between notification ids and conversations: notify only queues.
type dbusNotifier struct {
	conn     *dbus.Conn
	obj      dbus.BusObject
	open     func(conversation string)
	fallback notifier
	log      *slog.Logger

	requests chan notification
	signals  chan *dbus.Signal
	stop     chan struct{}
	done     chan struct{}

	// Owned by run.
	byConv map[string]uint32 // conversation -> its shown notification
	byID   map[uint32]string // shown notification -> conversation
}

// notification is a request to run: show text, or withdraw the
// conversation's notification.
type notification struct {
	conversation, text string
	withdraw           bool
}

func newDBusNotifier(open func(string), fallback notifier, log *slog.Logger) (*dbusNotifier, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("notifications: connect to the session bus: %w", err)
	}
	n := &dbusNotifier{conn: conn, obj: conn.Object(notifyService, notifyPath), open: open, fallback: fallback, log: log,
		requests: make(chan notification, notifyQueue), signals: make(chan *dbus.Signal, 16),
		stop: make(chan struct{}), done: make(chan struct{}),
		byConv: map[string]uint32{}, byID: map[uint32]string{}}
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyIface)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notifications: watch %s signals: %w", notifyIface, err)
	}
	conn.Signal(n.signals)
	go n.run()
	return n, nil
}

// notify implements notifier. It never blocks: with notifyQueue
// notifications waiting for the bus, this one is dropped.
func (n *dbusNotifier) notify(conversation, text string) {
	select {
	case n.requests <- notification{conversation: conversation, text: text}:
	default:
		n.log.Warn("notification dropped: the desktop does not keep up", "conversation", conversation)
	}
}

// withdraw implements notifier; like notify, it never blocks.
func (n *dbusNotifier) withdraw(conversation string) {
	select {
	case n.requests <- notification{conversation: conversation, withdraw: true}:
	default:
	}
}

// close implements notifier.
func (n *dbusNotifier) close() {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.done
}

func (n *dbusNotifier) run() {
	defer close(n.done)
	defer n.conn.Close() // after the last call; closes signals too
	for {
		select {
		case <-n.stop:
			n.conn.RemoveSignal(n.signals)
			return
		case r := <-n.requests:
			if r.withdraw {
				n.closeShown(r.conversation)
			} else {
				n.send(r)
			}
		case sig, ok := <-n.signals:
			if !ok {
				<-n.stop // the bus went away: wait to be closed
				return
			}
			n.signal(sig)
		}
	}
}

// send calls Notify, replacing the conversation's previous notification.
// A desktop without a notification server gets Fyne's try instead.
func (n *dbusNotifier) send(r notification) {
	replaces := n.byConv[r.conversation] // 0 (none) for Parley's own notes
	ctx, cancel := context.WithTimeout(context.Background(), notifyCallTimeout)
	defer cancel()
	hints := map[string]dbus.Variant{
		"desktop-entry": dbus.MakeVariant(AppID),
		"category":      dbus.MakeVariant("im.received"),
	}
	var id uint32
	err := n.obj.CallWithContext(ctx, notifyIface+".Notify", 0,
		"Parley", replaces, "", "Parley", r.text, []string{"default", lang.L("Open")}, hints, int32(-1)).Store(&id)
	if err != nil {
		n.log.Warn("notify over D-Bus", "conversation", r.conversation, "err", err)
		n.fallback.notify(r.conversation, r.text)
		return
	}
	if replaces != 0 && replaces != id {
		delete(n.byID, replaces)
	}
	n.byID[id] = r.conversation
	if r.conversation != "" {
		n.byConv[r.conversation] = id
	}
	n.log.Debug("notified", "conversation", r.conversation, "id", id, "replaces", replaces)
}

// closeShown closes conversation's shown notification (CloseNotification).
func (n *dbusNotifier) closeShown(conversation string) {
	id, ok := n.byConv[conversation]
	if !ok {
		return
	}
	delete(n.byConv, conversation)
	delete(n.byID, id)
	ctx, cancel := context.WithTimeout(context.Background(), notifyCallTimeout)
	defer cancel()
	if err := n.obj.CallWithContext(ctx, notifyIface+".CloseNotification", 0, id).Err; err != nil {
		n.log.Debug("close notification", "conversation", conversation, "id", id, "err", err)
	}
}

// signal handles ActionInvoked (a click: open the conversation) and
// NotificationClosed (forget the notification).
func (n *dbusNotifier) signal(sig *dbus.Signal) {
	if len(sig.Body) < 2 {
		return
	}
	id, ok := sig.Body[0].(uint32)
	if !ok {
		return
	}
	conv, ours := n.byID[id]
	if !ours {
		return // another application's notification
	}
	switch sig.Name {
	case notifyIface + ".ActionInvoked":
		action, _ := sig.Body[1].(string)
		n.log.Info("notification clicked", "conversation", conv, "action", action)
		n.open(conv)
	case notifyIface + ".NotificationClosed":
		delete(n.byID, id)
		if n.byConv[conv] == id {
			delete(n.byConv, conv)
		}
	}
}

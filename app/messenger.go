package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// Timings of the messenger.
const (
	// connectTimeout bounds the reachability check of Connect.
	connectTimeout = 5 * time.Second
	// signInTimeout bounds SignIn and SignUp (argon2id on the server is
	// part of it).
	signInTimeout = 30 * time.Second
	// requestTimeout bounds requests that need the server.
	requestTimeout = 15 * time.Second
	// liveQuiet is how long after a live start no "new message"
	// notification is sent for the conversation (ui announced the talker).
	liveQuiet = 10 * time.Minute
)

// messenger is ui.Messenger over the sync engine: one sync.Client (one
// account on one server) at a time, its store read for the UI, its hints
// translated into ui hints (translate.go). Its account's incoming live streams go
// straight to the live router (live.go), not through hints.
type messenger struct {
	dir    string // accounts folder: one store per server and account
	device string
	log    *slog.Logger
	hints  *hintBus
	// newMessages is called (on the pump goroutine) when messages that
	// wait for the user arrived: voice ones in a conversation that was not
	// just live, and text ones.
	newMessages func(conversation, title string, voice, text int)
	// unplayedChanged is called (on the pump goroutine) with the account
	// and its total of waiting messages (unplayed voice and unread text)
	// after each count.
	unplayedChanged func(user, server string, total int)
	// router takes the account's incoming live streams; nil closes them
	// unplayed (set before the first account starts).
	router *liveRouter
	// firstRead receives the length of the first Messages answer, once.
	firstRead chan int
	readOnce  gosync.Once

	mu       gosync.Mutex
	server   string
	acc      *account
	status   ui.ConnStatus
	liveConv map[string]time.Time
	waiting  map[string]waitCount // nil until the first count after sign-in

	// pins is the pin file of every server's certificate (trust.go).
	pins     *sync.PinFile
	pinsOnce gosync.Once
	pinsErr  error
}

// account is one running sync.Client and the goroutines the messenger
// runs for it (account.go): Run, the hint pump and the live router.
type account struct {
	c        *sync.Client
	server   string
	user     string
	cancel   context.CancelFunc
	wg       gosync.WaitGroup
	state    chan struct{} // signalled at every connection change
	signedIn bool          // guarded by messenger.mu
	waves    *liveWaves    // growing waveforms of its live messages
}

func newMessenger(dir, device string, log *slog.Logger, hints *hintBus) *messenger {
	return &messenger{dir: dir, device: device, log: log, hints: hints,
		newMessages: func(string, string, int, int) {}, unplayedChanged: func(string, string, int) {}, firstRead: make(chan int, 1),
		liveConv: map[string]time.Time{}}
}

// normalizeAddress turns what a user typed into host:port.
func normalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"wss://", "https://", "ws://", "http://"} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/v1/ws"), "/")
	if s == "" {
		return "", fmt.Errorf("server address %q: %w", s, ui.ErrBadAddress)
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(strings.Trim(s, "[]"), strconv.Itoa(DefaultHostPort))
	}
	return s, nil
}

// Status implements ui.Messenger.
func (m *messenger) Status() ui.ConnStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

func (m *messenger) current() *account {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.acc == nil || !m.acc.signedIn {
		return nil
	}
	return m.acc
}

// store returns the signed-in account's store and user.
func (m *messenger) store() (*sync.Store, *sync.Client, error) {
	acc := m.current()
	if acc == nil {
		return nil, nil, ui.ErrNotSignedIn
	}
	return acc.c.Store(), acc.c, nil
}

// Connect implements ui.Messenger: it checks that a Parley server answers
// at address and makes it the server to sign in to.
func (m *messenger) Connect(address string) error {
	addr, err := normalizeAddress(address)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := m.checkServer(ctx, addr); err != nil { // over TLS, pinned (trust.go)
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	m.stopAccount()
	m.mu.Lock()
	m.server = addr
	m.status = ui.ConnStatus{State: sync.StateConnecting, Server: addr}
	m.mu.Unlock()
	m.hints.post(ui.Hint{Kind: ui.HintConnection})
	return nil
}

// choose makes address the server to sign in to, without checking it
// (the remembered server at start).
func (m *messenger) choose(address string) {
	addr, err := normalizeAddress(address)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.server = addr
	m.status = ui.ConnStatus{State: sync.StateConnecting, Server: addr}
	m.mu.Unlock()
}

// SignIn implements ui.Messenger.
func (m *messenger) SignIn(username, password string) error {
	return m.signIn(username, password, false)
}

// SignUp implements ui.Messenger: it creates the account (or signs in if
// it exists with this password).
func (m *messenger) SignUp(username, password string) error {
	err := m.signIn(username, password, true)
	if errors.Is(err, ui.ErrWrongPassword) {
		return fmt.Errorf("sign up %s: %w", username, ui.ErrUsernameTaken)
	}
	return err
}

func (m *messenger) signIn(username, password string, register bool) error {
	username = strings.TrimSpace(username)
	m.mu.Lock()
	server := m.server
	m.mu.Unlock()
	if server == "" {
		return errors.New("sign in: no server chosen")
	}
	pins, err := m.pinStore()
	if err != nil {
		return fmt.Errorf("sign in %s: %w", username, err)
	}
	m.stopAccount()
	path := sync.StorePath(m.dir, server, username)
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	c, err := sync.New(sync.Config{URL: server, StorePath: path, Pins: pins, Username: username, Password: password,
		Register: register, DeviceName: m.device, AutoDeliver: true, Logger: m.log.With("account", username),
		Trace: syncTrace()})
	if err != nil {
		return fmt.Errorf("sign in %s: %w", username, err)
	}
	acc := m.startAccount(c, server, username, false)
	err = m.awaitSignIn(acc)
	if err != nil {
		m.stopAccount()
		if fresh {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
		return fmt.Errorf("sign in %s at %s: %w", username, server, userError(err))
	}
	m.mu.Lock()
	acc.signedIn = true
	m.status = m.statusOf(acc)
	m.mu.Unlock()
	m.hints.post(ui.Hint{Kind: ui.HintConnection})
	m.hints.post(ui.Hint{Kind: ui.HintConversations})
	return nil
}

// awaitSignIn waits until acc's client is signed in or has failed.
func (m *messenger) awaitSignIn(acc *account) error {
	timeout := time.NewTimer(signInTimeout)
	defer timeout.Stop()
	for {
		st, err := acc.c.State()
		switch st {
		case sync.StateSyncing, sync.StateOnline:
			return nil
		case sync.StateStopped:
			if err == nil {
				err = sync.ErrClosed
			}
			return err
		case sync.StateOffline:
			if err != nil {
				return err
			}
		}
		select {
		case <-acc.state:
		case <-timeout.C:
			return fmt.Errorf("%w: no answer in %v", sync.ErrServerUnreachable, signInTimeout)
		}
	}
}

// restore signs in with the token stored for user at server, without
// waiting for the network: the cached history shows at once. It reports
// false when there is no stored sign-in.
func (m *messenger) restore(server, user string) bool {
	server, err := normalizeAddress(server)
	if err != nil || user == "" {
		return false
	}
	path := sync.StorePath(m.dir, server, user)
	if _, err := os.Stat(path); err != nil {
		return false
	}
	pins, err := m.pinStore()
	if err != nil {
		m.log.Warn("restore account", "user", user, "server", server, "err", err)
		return false
	}
	c, err := sync.New(sync.Config{URL: server, StorePath: path, Pins: pins, Username: user, DeviceName: m.device,
		AutoDeliver: true, Logger: m.log.With("account", user), Trace: syncTrace()})
	if err != nil {
		m.log.Warn("restore account", "user", user, "server", server, "err", err)
		return false
	}
	if tok, err := c.Store().Token(context.Background()); err != nil || tok == "" {
		c.Close()
		return false
	}
	m.stopAccount()
	m.mu.Lock()
	m.server = server
	m.mu.Unlock()
	acc := m.startAccount(c, server, user, true)
	m.mu.Lock()
	m.status = m.statusOf(acc)
	m.mu.Unlock()
	return true
}

// statusOf is the ui status of acc. Call with m.mu held.
func (m *messenger) statusOf(acc *account) ui.ConnStatus {
	st, err := acc.c.State()
	s := ui.ConnStatus{Server: acc.server, Err: userError(err)}
	if acc.signedIn {
		s.User = acc.user
	}
	s.State = st
	switch st {
	case sync.StateOffline:
		if !acc.signedIn {
			s.State = sync.StateConnecting // still trying the first sign-in
		}
	case sync.StateStopped:
		if err != nil && !sync.Retryable(err) {
			s.User = "" // the sign-in is gone (revoked, signed out, password changed)
		}
	}
	return s
}

// Conversations implements ui.Messenger: the store's conversations the
// account is in.
func (m *messenger) Conversations() ([]ui.Conversation, error) {
	acc := m.current()
	if acc == nil {
		return nil, nil
	}
	convs, err := acc.c.Store().Conversations(context.Background())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(convs, func(c sync.Conversation) bool { return !c.Member }), nil
}

// Messages implements ui.Messenger.
func (m *messenger) Messages(conversation string, before int64, limit int) ([]ui.Message, error) {
	acc := m.current()
	if acc == nil {
		return nil, nil
	}
	ctx, st := context.Background(), acc.c.Store()
	ms, err := st.Messages(ctx, conversation, before, limit)
	if err != nil {
		return nil, err
	}
	acc.waves.fill(ctx, st, ms)
	m.readOnce.Do(func() { m.firstRead <- len(ms) })
	return ms, nil
}

// Message implements ui.Messenger.
func (m *messenger) Message(id string) (ui.Message, error) {
	acc := m.current()
	if acc == nil {
		return ui.Message{}, ui.ErrNotSignedIn
	}
	ctx, st := context.Background(), acc.c.Store()
	msg, err := st.Message(ctx, id)
	if err != nil {
		return ui.Message{}, err
	}
	one := []ui.Message{msg}
	acc.waves.fill(ctx, st, one)
	return one[0], nil
}

// SendText implements ui.Messenger.
func (m *messenger) SendText(conversation, text string) (ui.Message, error) {
	st, c, err := m.store()
	if err != nil {
		return ui.Message{}, err
	}
	id, err := c.SendText(conversation, text)
	if err != nil {
		return ui.Message{}, fmt.Errorf("send text: %w", err)
	}
	return st.Message(context.Background(), id)
}

// MarkListened implements ui.Messenger. done records the position as the
// message's end, which is what "listened to the end" means everywhere
// (position ≥ duration).
func (m *messenger) MarkListened(message string, position time.Duration, done bool) error {
	st, c, err := m.store()
	if err != nil {
		return err
	}
	if done {
		if msg, err := st.Message(context.Background(), message); err == nil {
			position = max(position, msg.Length())
		}
	}
	if err := c.MarkListened(message, position); err != nil {
		return fmt.Errorf("mark listened: %w", err)
	}
	return nil
}

// MarkSeen implements ui.Messenger.
func (m *messenger) MarkSeen(conversation string) error {
	_, c, err := m.store()
	if err != nil {
		return err
	}
	if _, err := c.MarkSeen(conversation); err != nil {
		return fmt.Errorf("mark seen: %w", err)
	}
	return nil
}

// CreateDirect implements ui.Messenger.
func (m *messenger) CreateDirect(username string) (ui.Conversation, error) {
	return m.create(wire.ConversationDirect, "", []string{username})
}

// CreateGroup implements ui.Messenger.
func (m *messenger) CreateGroup(title string, members []string) (ui.Conversation, error) {
	return m.create(wire.ConversationGroup, title, members)
}

func (m *messenger) create(kind wire.ConversationKind, title string, names []string) (ui.Conversation, error) {
	acc := m.current()
	if acc == nil {
		return ui.Conversation{}, fmt.Errorf("create conversation: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	users, err := acc.c.ListUsers(ctx)
	if err != nil {
		return ui.Conversation{}, fmt.Errorf("create conversation: %w", userError(err))
	}
	byName := map[string]string{}
	for _, u := range users {
		byName[strings.ToLower(u.Name)] = u.ID
	}
	ids := make([]string, 0, len(names))
	for _, n := range names {
		id, ok := byName[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return ui.Conversation{}, fmt.Errorf("create conversation: %w", &ui.InputError{Field: ui.FieldMembers, Problem: ui.ProblemUnknown, Value: n})
		}
		ids = append(ids, id)
	}
	c, err := acc.c.CreateConversation(ctx, kind, title, ids)
	if err != nil {
		return ui.Conversation{}, fmt.Errorf("create conversation: %w", userError(err))
	}
	return c, nil
}

// SignOut implements ui.Messenger.
func (m *messenger) SignOut() error {
	acc := m.current()
	if acc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	err := acc.c.SignOut(ctx)
	m.stopAccount()
	m.hints.post(ui.Hint{Kind: ui.HintConnection})
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

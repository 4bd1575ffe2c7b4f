// Package server is Parley's bundled server: accounts and device tokens,
// conversations, durable voice and text messages, live fan-out of voice
// packets while they are recorded, history sync, receipts and presence,
// over the protocol in package wire.
//
// A Server is an http.Handler (/v1/ws, /healthz) usable
// in-process (the desktop app's "Host a server" switch, tests through
// httptest) or headless (cmd/parleyd). State lives behind two small
// interfaces: Store (embedded SQLite by default) and Broker (in-memory
// fan-out by default), so other engines can slot in.
//
// TLS is at the listener: parleyd and the app's host serve the handler
// only on ListenTLS, with the certificate LoadCertificate keeps in the
// data folder (tls.go); clients pin its fingerprint.
//
// Durability: a packet is acked (voice.ack) only after the transaction
// that stores it has committed; the commit loop batches whatever is queued
// into one transaction.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/server/wire"
)

// closeTimeout bounds how long Close waits for connections to end before
// it cuts them.
const closeTimeout = 5 * time.Second

// Server is the Parley server. Create it with New; it is safe for
// concurrent use. Close stops it.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    MetaStore
	packets  PacketStore
	broker   Broker
	presence Presence
	nodeID   string
	metrics  *metrics
	mux      *http.ServeMux
	upgrader websocket.Upgrader

	eventMu gosync.Mutex // serializes event appends with their publication
	events  *eventOrder  // delivers events to local sessions in cursor order
	lobbyID string

	local *localSessions // this node's signed-in sessions

	liveMu gosync.Mutex
	live   map[string]*liveMessage // recordings this node owns
	// pending bounds the out-of-order packets each user makes us hold.
	pending *pendingBudget

	viewsMu gosync.Mutex
	views   map[string]*liveView // recordings this node fans out

	streamSeq atomic.Uint32
	connSeq   atomic.Uint64
	commits   chan commitJob

	sessMu   gosync.Mutex
	sessions map[*session]struct{}
	sessWG   gosync.WaitGroup

	pw     *passwords
	signin *signinLimiter

	closing       chan struct{}
	stopJanitor   chan struct{}
	janitorDone   chan struct{}
	committerDone chan struct{}
	stopEvents    context.CancelFunc
	eventsDone    chan struct{}
	closeOnce     gosync.Once
	closeErr      error
}

// New opens the store and starts the server's background work.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	store := cfg.Store
	if store == nil {
		if cfg.DBPath == "" {
			return nil, errors.New("new server: DBPath is required")
		}
		var err error
		if store, err = OpenSQLite(context.Background(), cfg.DBPath); err != nil {
			return nil, fmt.Errorf("new server: %w", err)
		}
	}
	packets := cfg.Packets
	if packets == nil {
		var ok bool
		if packets, ok = store.(PacketStore); !ok {
			store.Close()
			return nil, errors.New("new server: the store keeps no packets and Packets is not set")
		}
	}
	broker, presence, nodeID := cfg.Broker, cfg.Presence, cfg.NodeID
	if broker == nil {
		broker = newHub()
	}
	if presence == nil {
		presence = newMemPresence()
	}
	if nodeID == "" {
		if cfg.Broker != nil {
			closeStores(store, packets)
			return nil, errors.New("new server: NodeID is required with a shared Broker")
		}
		// One node: the same one on every run, so it keeps the leases
		// of the recordings an earlier run left.
		nodeID = store.ServerID()
	}
	srv := &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		store:       store,
		packets:     packets,
		broker:      broker,
		presence:    presence,
		nodeID:      nodeID,
		metrics:     newMetrics(),
		local:       newLocalSessions(),
		live:        make(map[string]*liveMessage),
		views:       make(map[string]*liveView),
		pending:     newPendingBudget(wire.MaxPendingBytes),
		commits:     make(chan commitJob, 4096),
		sessions:    make(map[*session]struct{}),
		closing:     make(chan struct{}),
		stopJanitor: make(chan struct{}),
		janitorDone: make(chan struct{}),
		eventsDone:  make(chan struct{}),
		pw:          newPasswords(cfg.PasswordTime, cfg.PasswordMemoryKiB, 2),
		signin:      newSigninLimiter(cfg),

		committerDone: make(chan struct{}),
		upgrader: websocket.Upgrader{
			// Clients are desktop apps, not pages: there is no origin to check.
			CheckOrigin:     func(*http.Request) bool { return true },
			WriteBufferPool: &gosync.Pool{},
		},
	}
	if err := srv.open(context.Background()); err != nil {
		closeStores(store, packets)
		return nil, fmt.Errorf("new server: %w", err)
	}
	srv.mux = http.NewServeMux()
	srv.mux.HandleFunc("/v1/ws", srv.serveWS)
	srv.mux.HandleFunc("/healthz", srv.serveHealth)
	go srv.commitLoop()
	go srv.janitor()
	eventsCtx, stopEvents := context.WithCancel(context.Background())
	srv.stopEvents = stopEvents
	go func() {
		defer close(srv.eventsDone)
		srv.events.run(eventsCtx)
	}()
	srv.log.Info("server ready", "name", cfg.Name, "epoch", store.Epoch(), "node", nodeID, "db", cfg.DBPath)
	return srv, nil
}

// open prepares the stored state (the Lobby, name keys), starts the
// broker and takes over the recordings an earlier run left.
func (srv *Server) open(ctx context.Context) error {
	var err error
	if srv.lobbyID, err = srv.store.EnsureLobby(ctx, ulid.Make().String(), srv.now()); err != nil {
		return err
	}
	if err := srv.store.BackfillNameKeys(ctx, nameKey); err != nil {
		return err
	}
	last, err := srv.store.LastCursor(ctx)
	if err != nil {
		return err
	}
	srv.events = newEventOrder(srv, last)
	if err := srv.broker.Start(ctx, node{srv}); err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	// Messages left recording by an earlier run wait for their senders
	// to resume them; the janitor abandons those that do not come back.
	recording, err := srv.store.RecordingMessages(ctx)
	if err != nil {
		srv.broker.Close()
		return err
	}
	for _, m := range recording {
		if _, _, err := srv.liveFor(ctx, m, false); err != nil && !errors.Is(err, errNotOwner) {
			srv.broker.Close()
			return fmt.Errorf("reload message %s: %w", m.ID, err)
		}
	}
	return nil
}

// closeStores closes the metadata and packet stores (once if they are
// the same).
func closeStores(store MetaStore, packets PacketStore) error {
	err := store.Close()
	if any(packets) != any(store) {
		err = errors.Join(err, packets.Close())
	}
	return err
}

// MetricsHandler serves the server's Prometheus metrics. It is not part
// of the public handler: operational endpoints get a listener of their
// own (parleyd's -metrics-addr, loopback by default).
func (srv *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(srv.metrics.registry, promhttp.HandlerOpts{})
}

// ServeHTTP implements http.Handler.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.mux.ServeHTTP(w, r) }

// Epoch returns the database's epoch.
func (srv *Server) Epoch() string { return srv.store.Epoch() }

// Name returns the server's display name.
func (srv *Server) Name() string { return srv.cfg.Name }

func (srv *Server) now() time.Time { return srv.cfg.Now() }

func (srv *Server) nextStream() uint32 { return srv.streamSeq.Add(1) }

func (srv *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	select {
	case <-srv.closing:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	srv.sessMu.Lock()
	n := len(srv.sessions)
	srv.sessMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "ok", "name": srv.cfg.Name, "epoch": srv.store.Epoch(),
		"protocol": wire.ProtocolVersion, "connections": n})
}

// serveWS upgrades the connection and reads its hello on the handler's
// goroutine, then hands the session to goroutines the Server owns (sessWG)
// and returns: a WebSocket that lives for hours then holds neither the
// handler's grown stack nor net/http's per-request buffers.
func (srv *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	srv.sessMu.Lock()
	select {
	case <-srv.closing:
		srv.sessMu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	srv.sessWG.Add(1)
	srv.sessMu.Unlock()
	handedOver := false
	defer func() {
		if !handedOver {
			srv.sessWG.Done()
		}
	}()

	conn, err := srv.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s := newSession(srv, conn)
	s.addr = remoteIP(r)
	srv.sessMu.Lock()
	srv.sessions[s] = struct{}{}
	select {
	case <-srv.closing:
		s.close(wire.CloseGoingAway, "server shutting down")
	default:
	}
	srv.sessMu.Unlock()
	srv.metrics.connections.Inc()

	written := make(chan struct{})
	go func() {
		defer close(written)
		s.writeLoop()
	}()
	if !s.readHello() {
		srv.endSession(s, written)
		return
	}
	handedOver = true
	go func() {
		defer srv.sessWG.Done()
		s.readLoop()
		srv.endSession(s, written)
	}()
}

// remoteIP is the client's IP address (without the port).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// endSession closes a session whose reader has returned, waits for its
// writer (closed when written is) and its tasks, and forgets it.
func (srv *Server) endSession(s *session, written <-chan struct{}) {
	s.close(wire.CloseNormal, "")
	s.linger()
	<-written
	s.conn.Close()
	s.tasks.Wait()
	if s.user.ID != "" {
		srv.leave(s)
	}
	srv.sessMu.Lock()
	delete(srv.sessions, s)
	srv.sessMu.Unlock()
	srv.metrics.connections.Dec()
}

// Close closes every connection with CloseGoingAway (after flushing what
// was queued to it), commits what is queued, and closes the store. It is
// bounded: connections that do not end within a few seconds are cut.
// Close is idempotent.
func (srv *Server) Close() error {
	srv.closeOnce.Do(func() {
		srv.sessMu.Lock()
		close(srv.closing)
		sessions := make([]*session, 0, len(srv.sessions))
		for s := range srv.sessions {
			sessions = append(sessions, s)
		}
		srv.sessMu.Unlock()
		for _, s := range sessions {
			s.close(wire.CloseGoingAway, "server shutting down")
		}
		ended := make(chan struct{})
		go func() {
			srv.sessWG.Wait()
			close(ended)
		}()
		select {
		case <-ended:
		case <-time.After(closeTimeout):
			srv.log.Warn("connections did not end in time; cutting them")
			for _, s := range sessions {
				s.conn.Close()
			}
			<-ended
		}
		// Nothing queues commits any more but the janitor: stop it, then
		// let the committer drain the queue.
		close(srv.stopJanitor)
		<-srv.janitorDone
		close(srv.commits)
		<-srv.committerDone
		srv.stopEvents()
		<-srv.eventsDone
		srv.closeErr = errors.Join(srv.broker.Close(), closeStores(srv.store, srv.packets))
		srv.log.Info("server closed")
	})
	return srv.closeErr
}

// authenticate checks a hello's credentials from the client at addr (an
// IP address) and returns the welcome.
func (srv *Server) authenticate(ctx context.Context, a wire.Auth, addr string) (wire.Welcome, error) {
	w := wire.Welcome{Protocol: wire.ProtocolVersion, ServerID: srv.store.ServerID(), ServerName: srv.cfg.Name, Epoch: srv.store.Epoch()}
	device := a.Device
	if device == "" {
		device = "device"
	}
	if a.Mode != wire.AuthToken {
		var err error
		if a.Username, err = canonicalName("username", a.Username); err != nil {
			return w, err
		}
		if device, err = canonicalName("device", device); err != nil {
			return w, err
		}
	}
	if a.Mode != wire.AuthToken {
		account := ""
		if a.Mode == wire.AuthLogin {
			account = nameKey(a.Username)
		}
		if wait := srv.signin.allow(account, addr); wait > 0 {
			return w, wire.Errorf(wire.CodeRateLimited, "too many sign-in attempts; try again in %d s", int(wait.Seconds()+0.999))
		}
	}
	switch a.Mode {
	case wire.AuthRegister:
		if srv.cfg.RegistrationClosed {
			return w, wire.Errorf(wire.CodeRegistrationClosed, "this server does not accept new accounts")
		}
		hash, err := srv.pw.hash(a.Password)
		if err != nil {
			return w, err
		}
		var events []wire.Event
		err = srv.withEvents(func() ([]wire.Event, error) {
			var err error
			// Everyone is in the Lobby.
			w.User, events, err = srv.store.CreateUser(ctx, a.Username, nameKey(a.Username), hash, []string{srv.lobbyID}, srv.now())
			return events, err
		})
		if errors.Is(err, ErrNameTaken) {
			return w, wire.Errorf(wire.CodeUsernameTaken, "the name %q is taken or too like a name in use", a.Username)
		}
		if err != nil {
			return w, err
		}
	case wire.AuthLogin:
		u, hash, err := srv.store.UserByName(ctx, a.Username)
		if errors.Is(err, ErrNotFound) {
			srv.pw.hash(a.Password) // spend the same time as a wrong password
			return w, wire.Errorf(wire.CodeAuthFailed, "wrong username or password")
		}
		if err != nil {
			return w, err
		}
		if !srv.pw.check(hash, a.Password) {
			return w, wire.Errorf(wire.CodeAuthFailed, "wrong username or password")
		}
		w.User = u
	case wire.AuthToken:
		d, u, err := srv.store.DeviceByToken(ctx, hashToken(a.Token), srv.now())
		if errors.Is(err, ErrNotFound) {
			return w, wire.Errorf(wire.CodeTokenInvalid, "this device was signed out; sign in again")
		}
		if err != nil {
			return w, err
		}
		w.User, w.Device = u, d
	}
	if a.Mode != wire.AuthToken {
		token, hash, err := newToken()
		if err != nil {
			return w, err
		}
		if w.Device, err = srv.store.CreateDevice(ctx, w.User.ID, device, hash, srv.now()); err != nil {
			return w, err
		}
		w.Token = token
	}
	w.Device.Current = true
	cursor, err := srv.store.LastCursor(ctx)
	if err != nil {
		return w, err
	}
	w.Cursor = cursor
	return w, nil
}

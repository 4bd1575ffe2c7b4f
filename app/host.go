package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	gosync "sync"
	"time"

	"fyne.io/fyne/v2"

	"parley/server"
	"parley/server/discovery"
	"parley/server/wire"
	"parley/ui"
)

// prefHostPort is the preference that keeps the hosted server's port.
const prefHostPort = "hostPort"

// host is ui.Host: the bundled server in-process, listening on the port
// kept in preferences (falling back to a free port, which is then kept),
// its database and TLS certificate in the data folder, advertised by mDNS
// (with the certificate's fingerprint) on the chosen interfaces. It serves
// only TLS.
type host struct {
	dir        string // server database folder
	name       string
	listenIP   string // "" = all interfaces
	portFlag   int    // overrides the preference when set
	prefs      fyne.Preferences
	interfaces []string // mDNS; nil disables
	rotateCert bool     // replace the TLS certificate at the next Start (once)
	log        *slog.Logger
	hints      *hintBus

	// opMu serialises Start and Stop, which take a moment (listen, open the
	// database, mDNS). mu guards the fields below and is held only to copy
	// or set them, so Running and Address (called on the UI thread) never
	// wait for a Start or Stop, and no lock is held while posting a hint.
	opMu      gosync.Mutex
	mu        gosync.Mutex
	srv       *server.Server
	httpSrv   *http.Server
	adv       *discovery.Advertisement
	addr      string
	fp        wire.Fingerprint
	serveDone chan struct{}
}

// Fingerprint implements ui.HostFingerprint: the short form of the hosted
// server's certificate fingerprint, "" when stopped.
func (h *host) Fingerprint() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fp.Short()
}

// Running implements ui.Host.
func (h *host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.srv != nil
}

// Address implements ui.Host.
func (h *host) Address() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// Start implements ui.Host.
func (h *host) Start() error {
	started, err := h.start()
	if started {
		h.hints.post(ui.Hint{Kind: ui.HintHost})
	}
	return err
}

func (h *host) start() (bool, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	if h.Running() {
		return false, nil
	}
	port := h.portFlag
	if port == 0 {
		port = h.prefs.IntWithFallback(prefHostPort, DefaultHostPort)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(h.listenIP, strconv.Itoa(port)))
	if err != nil {
		h.log.Warn("port taken; hosting on a free port", "port", port, "err", err)
		ln, err = net.Listen("tcp", net.JoinHostPort(h.listenIP, "0"))
		if err != nil {
			return false, fmt.Errorf("host a server: %w", err)
		}
	}
	port = ln.Addr().(*net.TCPAddr).Port
	h.prefs.SetInt(prefHostPort, port)
	cert, err := server.LoadCertificate(h.dir, h.name, h.rotateCert)
	if err != nil {
		ln.Close()
		return false, fmt.Errorf("host a server: %w", err)
	}
	h.rotateCert = false
	ln = tls.NewListener(ln, cert.TLSConfig())
	srv, err := server.New(server.Config{DBPath: filepath.Join(h.dir, "parley.db"), Name: h.name, Logger: h.log.With("component", "server")})
	if err != nil {
		ln.Close()
		return false, fmt.Errorf("host a server: %w", err)
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelInfo)} // TLS handshake failures
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Warn("hosted server stopped", "err", err)
		}
	}()
	addr := net.JoinHostPort(h.reachableIP(), strconv.Itoa(port))
	adv, err := discovery.Advertise(discovery.Config{Name: h.name, Port: port, Fingerprint: cert.Fingerprint, Interfaces: h.interfaces, Logger: h.log})
	switch {
	case errors.Is(err, discovery.ErrDisabled):
	case err != nil:
		h.log.Warn("mDNS advertisement failed; clients can still type the address", "err", err)
		adv = nil
	}
	h.mu.Lock()
	h.srv, h.httpSrv, h.serveDone, h.addr, h.adv, h.fp = srv, httpSrv, serveDone, addr, adv, cert.Fingerprint
	h.mu.Unlock()
	h.log.Info("hosting a server", "address", addr, "fingerprint", cert.Fingerprint.String(), "short", cert.Fingerprint.Short())
	return true, nil
}

// reachableIP is the address others use to reach the server: the listen
// IP if one was chosen, else the first IPv4 address of the mDNS
// interfaces, else of any up interface, else loopback.
func (h *host) reachableIP() string {
	if ip := net.ParseIP(h.listenIP); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	firstIPv4 := func(ifi net.Interface) string {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
		return ""
	}
	for _, name := range h.interfaces {
		if ifi, err := net.InterfaceByName(name); err == nil {
			if ip := firstIPv4(*ifi); ip != "" {
				return ip
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
			if ip := firstIPv4(ifi); ip != "" {
				return ip
			}
		}
	}
	return "127.0.0.1"
}

// Stop implements ui.Host: the advertisement is withdrawn, connections are
// closed (clients reconnect when it is back) and the database is closed.
func (h *host) Stop() error {
	stopped, err := h.stop()
	if stopped {
		h.hints.post(ui.Hint{Kind: ui.HintHost})
	}
	return err
}

func (h *host) stop() (bool, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.mu.Lock()
	srv, httpSrv, serveDone, adv := h.srv, h.httpSrv, h.serveDone, h.adv
	h.mu.Unlock()
	if srv == nil {
		return false, nil
	}
	if adv != nil {
		adv.Close()
	}
	err := httpSrv.Close() // stops accepting; WebSockets are hijacked
	err = errors.Join(err, srv.Close())
	<-serveDone
	h.mu.Lock()
	h.srv, h.httpSrv, h.serveDone, h.addr, h.adv, h.fp = nil, nil, nil, "", nil, wire.Fingerprint{}
	h.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("stop hosting: %w", err)
	}
	return true, nil
}

// Command parleyd runs the Parley server headless: the same server the
// desktop app hosts with its "Host a server" switch, without any GUI or
// audio library.
//
// Every flag but -rotate-cert has an environment variable; the flag wins
// (a rotation variable left set would rotate at every start):
//
//	-addr          PARLEY_ADDR          listen address (default :7447)
//	-data          PARLEY_DATA          data folder; the database is parley.db in it
//	-store         PARLEY_STORE         "" (default: SQLite, parley.db in the data folder) or a
//	                                    postgres:// URL: PostgreSQL, which several nodes share
//	-node          PARLEY_NODE          this node's id in a cluster (default: made once and
//	                                    kept in the data folder's node-id file)
//	-broker        PARLEY_BROKER        "" (default: in-process fan-out, one node) or a
//	                                    nats:// URL: NATS JetStream between nodes
//	-name          PARLEY_NAME          server name shown to clients
//	-registration  PARLEY_REGISTRATION  "open" (default) or "closed"
//	-abandon-after PARLEY_ABANDON_AFTER silence before an orphaned voice message is abandoned
//	-log-format    PARLEY_LOG_FORMAT    "text" (default) or "json"
//	-log-level     PARLEY_LOG_LEVEL     debug, info (default), warn, error
//	-metrics-addr  PARLEY_METRICS_ADDR  where Prometheus metrics are served, on a listener
//	                                    of their own (default 127.0.0.1:7448, loopback
//	                                    only; "off" serves none)
//	-mdns          PARLEY_MDNS_INTERFACES interfaces to advertise on with mDNS: "auto"
//	                                    (default: every multicast interface but loopback),
//	                                    "off", or a list such as "eth0,wlan0"
//	-pprof         PARLEY_PPROF_ADDR    serve net/http/pprof at /debug/pprof/ on this
//	                                    loopback address, a listener of its own (default
//	                                    "off"; for profiling a node under load)
//	-rotate-cert   (no variable)        replace the TLS key and certificate with new ones
//
// parleyd serves only TLS (wss:// and https://). At first start it makes an
// ECDSA key and a self-signed certificate, kept in the data folder as
// tls.pem; clients pin its SHA-256 fingerprint on first use and warn if it
// ever changes. The fingerprint is logged at every start
// ("fingerprint=SHA256:…", and the short form people compare) and carried
// in the mDNS record. -rotate-cert makes a new one: every client that
// pinned the old one then asks its user to accept the new one.
//
// SIGINT or SIGTERM shuts it down gracefully: clients get a going-away
// close, queued packets are committed, the database is closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"parley/server"
	"parley/server/discovery"
	"parley/server/wire"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "parleyd:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func defaultData() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "parley", "server")
	}
	return "parley-data"
}

func run(args []string) error {
	fs := flag.NewFlagSet("parleyd", flag.ContinueOnError)
	addr := fs.String("addr", env("PARLEY_ADDR", ":7447"), "listen address")
	data := fs.String("data", env("PARLEY_DATA", defaultData()), "data folder")
	name := fs.String("name", env("PARLEY_NAME", hostname()), "server name")
	registration := fs.String("registration", env("PARLEY_REGISTRATION", "open"), `"open" or "closed"`)
	abandon := fs.Duration("abandon-after", envDuration("PARLEY_ABANDON_AFTER", 60*time.Second), "silence before an orphaned voice message is abandoned")
	logFormat := fs.String("log-format", env("PARLEY_LOG_FORMAT", "text"), `"text" or "json"`)
	logLevel := fs.String("log-level", env("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error")
	mdns := fs.String("mdns", env("PARLEY_MDNS_INTERFACES", "auto"), `mDNS interfaces: "auto", "off" or a list like "eth0,wlan0"`)
	metricsAddr := fs.String("metrics-addr", env("PARLEY_METRICS_ADDR", "127.0.0.1:7448"), `metrics listen address, or "off"`)
	storeSpec := fs.String("store", env("PARLEY_STORE", ""), `"" for SQLite in the data folder, or a postgres:// URL`)
	brokerSpec := fs.String("broker", env("PARLEY_BROKER", ""), `"" for in-process fan-out, or a nats:// URL`)
	node := fs.String("node", env("PARLEY_NODE", ""), "this node's id in a cluster (default: kept in the data folder)")
	pprofAddr := fs.String("pprof", env("PARLEY_PPROF_ADDR", "off"), `net/http/pprof listen address (loopback only), or "off"`)
	rotate := fs.Bool("rotate-cert", false, "replace the TLS key and certificate (clients that pinned the old one will warn)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(*logFormat, *logLevel)
	if err != nil {
		return err
	}
	if *registration != "open" && *registration != "closed" {
		return fmt.Errorf("-registration must be open or closed, not %q", *registration)
	}
	if err := checkEngines(*storeSpec, *brokerSpec); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	cert, err := server.LoadCertificate(*data, *name, *rotate)
	if err != nil {
		return err
	}
	if cert.Created {
		logger.Info("made a new TLS certificate", "file", cert.Path, "fingerprint", cert.Fingerprint.String())
	}
	nodeName, err := nodeID(*node, *data)
	if err != nil {
		return err
	}
	store, err := openStore(context.Background(), *storeSpec)
	if err != nil {
		return err
	}
	broker, presence, err := openBroker(context.Background(), *brokerSpec, nodeName, logger)
	if err != nil {
		if store != nil {
			store.Close()
		}
		return err
	}
	srv, err := server.New(server.Config{
		DBPath:             filepath.Join(*data, "parley.db"),
		Store:              store,
		NodeID:             nodeName,
		Broker:             broker,
		Presence:           presence,
		Name:               *name,
		RegistrationClosed: *registration == "closed",
		AbandonAfter:       *abandon,
		Logger:             logger,
	})
	if err != nil {
		if broker != nil {
			broker.Close() // idempotent: New may have closed it
		}
		return err
	}
	ln, err := server.ListenTLS(*addr, cert)
	if err != nil {
		srv.Close()
		return err
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		// TLS handshake failures (a client that refused the certificate,
		// a plain-HTTP request) are worth a line, not a stack of them.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelInfo)}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	if *metricsAddr != "off" {
		stopMetrics, err := serveMetrics(*metricsAddr, srv.MetricsHandler(), logger)
		if err != nil {
			ln.Close()
			srv.Close()
			return err
		}
		defer stopMetrics()
	}
	if *pprofAddr != "off" {
		stopPprof, err := servePprof(*pprofAddr, logger)
		if err != nil {
			ln.Close()
			srv.Close()
			return err
		}
		defer stopPprof()
	}
	logger.Info("parleyd listening", "addr", ln.Addr().String(), "data", *data, "node", nodeName,
		"fingerprint", cert.Fingerprint.String(), "short", cert.Fingerprint.Short())
	if ad := advertise(*name, ln.Addr(), cert.Fingerprint, *mdns, logger); ad != nil {
		defer ad.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-served:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Stop accepting, close the WebSockets (hijacked, so Shutdown does
	// not wait for them), then wait for plain HTTP requests.
	ln.Close()
	closeErr := srv.Close()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("http shutdown", "err", err)
	}
	<-served
	return closeErr
}

// serveMetrics serves h at /metrics on addr, a listener of its own, and
// returns the function that stops it. It logs "metrics served at=ADDR"
// (not "listening", which names the public address).
func serveMetrics(addr string, h http.Handler, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	logger.Info("metrics served", "at", ln.Addr().String())
	return serveOn(ln, mux), nil
}

// serveOn serves h on ln (an operational listener of its own) until the
// function it returns is called, which waits for it.
func serveOn(ln net.Listener, h http.Handler) func() {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	return func() {
		hs.Close()
		<-served
	}
}

// servePprof serves net/http/pprof on addr, which must be a loopback
// address (profiles show the server's internals), and returns the
// function that stops it. It logs "pprof served at=ADDR".
func servePprof(addr string, logger *slog.Logger) (func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-pprof %q: not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Info("pprof served", "at", ln.Addr().String())
	return serveOn(ln, mux), nil
}

// advertise announces the server with mDNS on the chosen interfaces; a
// failure is logged, not fatal (clients can still type host:port).
func advertise(name string, addr net.Addr, fp wire.Fingerprint, setting string, logger *slog.Logger) *discovery.Advertisement {
	ifs := discovery.ParseInterfaces(setting)
	if len(ifs) == 0 {
		logger.Info("mDNS advertising off")
		return nil
	}
	ad, err := discovery.Advertise(discovery.Config{Name: name, Port: addr.(*net.TCPAddr).Port, Fingerprint: fp, Interfaces: ifs, Logger: logger})
	if err != nil {
		logger.Warn("mDNS advertising failed; clients can still connect by address", "interfaces", ifs, "err", err)
		return nil
	}
	logger.Info("advertising with mDNS", "interfaces", ifs)
	return ad
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "Parley"
	}
	return h
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("-log-format must be text or json, not %q", format)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"parley/server"
)

// Profiling: with -pprof DIR, Parley targets do not run the parleyd binary
// but "parleyload profiled-parleyd", the same server package served the
// same way plus net/http/pprof on a second listener bound to 127.0.0.1.
// The tool takes a CPU profile over each talking window and the
// allocation, mutex, block, heap and goroutine profiles after it, into
// DIR/<scenario>.<profile>.pb.gz. Mutex and block sampling cost a little:
// compare timings from runs without -pprof.

// pprofLine matches the line the profiled server logs for its pprof
// listener.
const pprofLine = "pprof listening"

// runProfiledParleyd is the "profiled-parleyd" subcommand: parleyd's flags
// that parleyload uses (-addr, -data, -name, -log-level, -mdns), plus pprof
// on 127.0.0.1.
func runProfiledParleyd(args []string) error {
	fs := flag.NewFlagSet("parleyload profiled-parleyd", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	data := fs.String("data", "", "data folder")
	name := fs.String("name", "parleyload", "server name")
	level := fs.String("log-level", "info", "log level")
	fs.String("mdns", "off", "ignored: the profiled server never advertises")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int(100 * time.Microsecond))
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	srv, err := server.New(server.Config{DBPath: filepath.Join(*data, "parley.db"), Name: *name, Logger: log})
	if err != nil {
		return err
	}
	cert, err := server.LoadCertificate(*data, *name, false)
	if err != nil {
		srv.Close()
		return err
	}
	ln, err := server.ListenTLS(*addr, cert)
	if err != nil {
		srv.Close()
		return err
	}
	// pprof only ever on loopback.
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		srv.Close()
		return err
	}
	pmux := http.NewServeMux()
	pmux.HandleFunc("/debug/pprof/", pprof.Index)
	pmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	pmux.Handle("/metrics", srv.MetricsHandler())
	psrv := &http.Server{Handler: pmux, ReadHeaderTimeout: 10 * time.Second}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 2)
	go func() { served <- httpSrv.Serve(ln) }()
	go func() { served <- psrv.Serve(pln) }()
	log.Info(pprofLine, "at", pln.Addr().String())
	log.Info("metrics served", "at", pln.Addr().String())
	log.Info("parleyd listening", "addr", ln.Addr().String(), "fingerprint", cert.Fingerprint.String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	ln.Close()
	pln.Close()
	closeErr := srv.Close()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	httpSrv.Shutdown(shutdown)
	psrv.Shutdown(shutdown)
	<-served
	<-served
	return closeErr
}

// profiler fetches profiles from a profiled server.
type profiler struct {
	dir  string // where profiles go; "" when profiling is off
	addr string // the server's pprof listener
	log  func(string, ...any)
}

// fetch saves /debug/pprof/<name>?<query> as dir/<label>.<name>.pb.gz.
func (pr *profiler) fetch(ctx context.Context, label, name, query string) error {
	if pr == nil || pr.dir == "" {
		return nil
	}
	url := "http://" + pr.addr + "/debug/pprof/" + name
	if query != "" {
		url += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("profile %s: %s: %s", name, resp.Status, b)
	}
	ext := ".pb.gz"
	if query == "debug=1" || query == "debug=2" {
		ext = ".txt"
	}
	f, err := os.Create(filepath.Join(pr.dir, label+"."+name+ext))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpu starts a CPU profile of d in the background; wait returns its error.
func (pr *profiler) cpu(ctx context.Context, label string, d time.Duration) (wait func() error) {
	if pr == nil || pr.dir == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		done <- pr.fetch(ctx, label, "profile", fmt.Sprintf("seconds=%d", max(1, int(d/time.Second))))
	}()
	return func() error { return <-done }
}

// after saves the profiles that accumulate: allocations, mutex, block,
// heap (with its MemStats as text) and goroutines.
func (pr *profiler) after(ctx context.Context, label string) error {
	if pr == nil || pr.dir == "" {
		return nil
	}
	var errs []error
	for _, p := range []struct{ name, query string }{
		{"allocs", ""}, {"mutex", ""}, {"block", ""}, {"heap", ""}, {"heap", "debug=1"}, {"goroutine", "debug=1"},
	} {
		errs = append(errs, pr.fetch(ctx, label, p.name, p.query))
	}
	return errors.Join(errs...)
}

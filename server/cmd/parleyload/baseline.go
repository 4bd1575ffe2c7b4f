package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	gosync "sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The baseline is the least a fan-out server can do: plain
// gorilla/websocket, no authentication, no storage, no protocol. Every
// binary frame a connection sends is queued, as is, to every other
// connection of the same room (?room=NAME); one writer goroutine per
// connection drains a bounded queue, as in gorilla's chat example. It runs
// as a subprocess of the tool ("parleyload baseline") so its CPU and memory
// are measured exactly like parleyd's.

// baselineQueue matches parleyd's default outgoing queue (QueueFrames).
const baselineQueue = 1024

type baselineConn struct {
	ws   *websocket.Conn
	out  chan []byte
	once gosync.Once
	done chan struct{}
}

func (c *baselineConn) close() { c.once.Do(func() { close(c.done) }) }

type baselineHub struct {
	mu    gosync.Mutex
	rooms map[string]map[*baselineConn]struct{}
	all   gosync.WaitGroup
}

func (h *baselineHub) join(room string, c *baselineConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.rooms[room]
	if set == nil {
		set = make(map[*baselineConn]struct{})
		h.rooms[room] = set
	}
	set[c] = struct{}{}
}

func (h *baselineHub) leave(room string, c *baselineConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.rooms[room], c)
}

// broadcast queues data to everyone in room but from. Copy under the lock,
// deliver after it.
func (h *baselineHub) broadcast(room string, from *baselineConn, data []byte) {
	h.mu.Lock()
	peers := make([]*baselineConn, 0, len(h.rooms[room]))
	for c := range h.rooms[room] {
		if c != from {
			peers = append(peers, c)
		}
	}
	h.mu.Unlock()
	for _, c := range peers {
		select {
		case c.out <- data:
		default:
			c.close() // slow consumer
		}
	}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (h *baselineHub) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	h.all.Add(1)
	defer h.all.Done()
	room := r.URL.Query().Get("room")
	c := &baselineConn{ws: ws, out: make(chan []byte, baselineQueue), done: make(chan struct{})}
	h.join(room, c)
	written := make(chan struct{})
	go func() {
		defer close(written)
		defer ws.Close()
		for {
			select {
			case b := <-c.out:
				ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if ws.WriteMessage(websocket.BinaryMessage, b) != nil {
					c.close()
					return
				}
			case <-c.done:
				ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
				return
			}
		}
	}()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if typ == websocket.BinaryMessage {
			h.broadcast(room, c, data)
		}
	}
	h.leave(room, c)
	c.close()
	<-written
}

// closeAll ends every connection.
func (h *baselineHub) closeAll() {
	h.mu.Lock()
	for _, set := range h.rooms {
		for c := range set {
			c.close()
		}
	}
	h.mu.Unlock()
}

// runBaseline is the "baseline" subcommand: it serves until SIGINT or
// SIGTERM.
func runBaseline(args []string) error {
	fs := flag.NewFlagSet("parleyload baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h := &baselineHub{rooms: make(map[string]map[*baselineConn]struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", h.serveWS)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("baseline listening", "addr", ln.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	ln.Close()
	h.closeAll()
	h.all.Wait()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-served
	return nil
}

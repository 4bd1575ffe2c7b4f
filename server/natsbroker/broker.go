// Package natsbroker is a server.Broker on NATS JetStream, for Parley
// servers that run as several nodes: every node connects to the same NATS
// (JetStream enabled) and hands what it publishes to every node.
//
// Streams (file storage, created or updated by New):
//
//	PARLEY_EVENTS  parley.event.<conversation>           history events
//	PARLEY_LIVE    parley.live.<conversation>.<message>  voice.live starts, packets, dones
//
// Each node reads both through a consumer of its own (named after the
// node, only new messages, explicit acks): a message is acked once the
// node has handed it to its sessions, and JetStream redelivers what a
// node did not ack (the node drops what it has already: events by cursor,
// packets by number). Publishing to a stream waits for JetStream's ack:
// when PublishEvent returns, the event is stored in the stream. Frames
// (presence) and disconnects are not history: they travel on plain NATS
// subjects (parley.frame, parley.disconnect) to every node connected.
//
// Presence (presence.go) is a key-value bucket the nodes share; each node
// keeps a copy in memory, fed by one watcher.
//
// The durable state stays in the server's Store: the streams are the
// fan-out, kept for MaxAge so a node that reconnects within it catches
// up from its consumer.
package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parley/server"
)

// Stream names and subjects.
const (
	EventStream       = "PARLEY_EVENTS"
	LiveStream        = "PARLEY_LIVE"
	eventSubject      = "parley.event."
	liveSubject       = "parley.live."
	frameSubject      = "parley.frame"
	disconnectSubject = "parley.disconnect"
)

// Config configures a Broker.
type Config struct {
	// URL is the NATS server (nats://host:port); required.
	URL string
	// NodeID names the node; its consumers are named after it. Required,
	// the same as the server's Config.NodeID.
	NodeID string
	// EventMaxAge and LiveMaxAge bound how long the streams keep what was
	// published. Defaults 24 h and 1 h.
	EventMaxAge time.Duration
	LiveMaxAge  time.Duration
	// AckWait is how long JetStream waits for a node's ack before it
	// redelivers. Default 10 s.
	AckWait time.Duration
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock presence ages its copy of the bucket by. Default
	// time.Now.
	Now func() time.Time
	// Options are extra NATS connection options (credentials, TLS).
	Options []nats.Option
}

// Broker is a server.Broker on NATS JetStream. Create it with New.
type Broker struct {
	cfg Config
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream

	// connClosed is closed when the connection has closed (after Close's
	// drain: every handler has returned).
	connClosed chan struct{}

	mu       gosync.Mutex
	consume  []jetstream.ConsumeContext
	presence *Presence
	closed   bool
	closeErr error
}

var _ server.Broker = (*Broker)(nil)

// New connects to NATS and creates (or updates) the streams.
func New(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.URL == "" || cfg.NodeID == "" {
		return nil, errors.New("natsbroker: URL and NodeID are required")
	}
	if cfg.EventMaxAge <= 0 {
		cfg.EventMaxAge = 24 * time.Hour
	}
	if cfg.LiveMaxAge <= 0 {
		cfg.LiveMaxAge = time.Hour
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Broker{cfg: cfg, log: cfg.Logger, connClosed: make(chan struct{})}
	opts := append([]nats.Option{
		nats.Name("parleyd " + cfg.NodeID),
		// Keep trying while NATS restarts: the node recovers on its own.
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "url", nc.ConnectedUrl())
			b.reconnected()
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connClosed) }),
	}, cfg.Options...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: connect %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbroker: jetstream: %w", err)
	}
	b.nc, b.js = nc, js
	for _, sc := range []jetstream.StreamConfig{
		{Name: EventStream, Subjects: []string{eventSubject + ">"}, Storage: jetstream.FileStorage, MaxAge: cfg.EventMaxAge},
		{Name: LiveStream, Subjects: []string{liveSubject + ">"}, Storage: jetstream.FileStorage, MaxAge: cfg.LiveMaxAge},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			nc.Close()
			return nil, fmt.Errorf("natsbroker: stream %s: %w", sc.Name, err)
		}
	}
	return b, nil
}

// reconnected runs after the connection to NATS came back: a NATS that
// restarted has lost the presence bucket and its watcher, so presence
// starts over. It never blocks (it runs on the NATS callback goroutine).
func (b *Broker) reconnected() {
	b.mu.Lock()
	p := b.presence
	b.mu.Unlock()
	if p != nil {
		p.startOver()
	}
}

// consumerName is the node's consumer name: NATS names may not hold
// '.', '*', '>' or spaces.
func consumerName(node, stream string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, node)
	return "node_" + clean + "_" + strings.ToLower(stream)
}

// startFlushWait bounds Start's round trip to the NATS server.
const startFlushWait = 10 * time.Second

// Start subscribes the node to both streams and the plain subjects.
func (b *Broker) Start(ctx context.Context, n server.Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("natsbroker: start: closed")
	}
	streams := []struct {
		name    string
		deliver func(data []byte) error
	}{
		{EventStream, func(data []byte) error {
			var ev server.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				return err
			}
			n.DeliverEvent(ev)
			return nil
		}},
		{LiveStream, func(data []byte) error {
			var l server.Live
			if err := json.Unmarshal(data, &l); err != nil {
				return err
			}
			n.DeliverLive(l)
			return nil
		}},
	}
	for _, st := range streams {
		cons, err := b.js.CreateOrUpdateConsumer(ctx, st.name, jetstream.ConsumerConfig{
			Name:              consumerName(b.cfg.NodeID, st.name),
			DeliverPolicy:     jetstream.DeliverNewPolicy,
			AckPolicy:         jetstream.AckExplicitPolicy,
			AckWait:           b.cfg.AckWait,
			InactiveThreshold: time.Hour,
		})
		if err != nil {
			return fmt.Errorf("natsbroker: consumer on %s: %w", st.name, err)
		}
		deliver, stream := st.deliver, st.name
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			if err := deliver(msg.Data()); err != nil {
				// Not ours to read: ack it away rather than see it again.
				b.log.Error("natsbroker: bad message", "stream", stream, "subject", msg.Subject(), "err", err)
			}
			if err := msg.Ack(); err != nil {
				b.log.Warn("natsbroker: ack", "stream", stream, "err", err)
			}
		}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.Warn("natsbroker: consume", "stream", stream, "err", err)
		}))
		if err != nil {
			return fmt.Errorf("natsbroker: consume %s: %w", st.name, err)
		}
		b.consume = append(b.consume, cc)
	}
	plain := []struct {
		subject string
		deliver func(data []byte) error
	}{
		{frameSubject, func(data []byte) error {
			var f server.Frame
			if err := json.Unmarshal(data, &f); err != nil {
				return err
			}
			n.DeliverFrame(f)
			return nil
		}},
		{disconnectSubject, func(data []byte) error {
			var d server.Disconnect
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			n.DeliverDisconnect(d)
			return nil
		}},
	}
	for _, p := range plain {
		deliver, subject := p.deliver, p.subject
		_, err := b.nc.Subscribe(subject, func(msg *nats.Msg) {
			if err := deliver(msg.Data); err != nil {
				b.log.Error("natsbroker: bad message", "subject", subject, "err", err)
			}
		})
		if err != nil {
			return fmt.Errorf("natsbroker: subscribe %s: %w", subject, err)
		}
	}
	// The subscriptions are registered with the server before Start
	// returns, so nothing published after it is missed.
	flushCtx, cancel := context.WithTimeout(ctx, startFlushWait)
	defer cancel()
	if err := b.nc.FlushWithContext(flushCtx); err != nil {
		return fmt.Errorf("natsbroker: start: %w", err)
	}
	return nil
}

// PublishFrame implements server.Broker (plain NATS, not stored).
func (b *Broker) PublishFrame(_ context.Context, f server.Frame) error {
	return b.publishPlain(frameSubject, f)
}

// Disconnect implements server.Broker (plain NATS, not stored).
func (b *Broker) Disconnect(_ context.Context, d server.Disconnect) error {
	return b.publishPlain(disconnectSubject, d)
}

func (b *Broker) publishPlain(subject string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("natsbroker: publish %s: %w", subject, err)
	}
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("natsbroker: publish %s: %w", subject, err)
	}
	return nil
}

// PublishEvent implements server.Broker: it returns once the event is in
// the stream.
func (b *Broker) PublishEvent(ctx context.Context, ev server.Event) error {
	return b.publishStream(ctx, eventSubject+token(ev.Conversation), ev)
}

// PublishLive implements server.Broker: it returns once the step is in
// the stream. One publisher's steps keep their order (one connection).
func (b *Broker) PublishLive(ctx context.Context, l server.Live) error {
	return b.publishStream(ctx, liveSubject+token(l.Conversation)+"."+token(l.Message), l)
}

func (b *Broker) publishStream(ctx context.Context, subject string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("natsbroker: publish %s: %w", subject, err)
	}
	if _, err := b.js.Publish(ctx, subject, data); err != nil {
		return fmt.Errorf("natsbroker: publish %s: %w", subject, err)
	}
	return nil
}

// token makes an id safe as one subject token (ids are ULIDs; anything
// else is mapped, never allowed to add tokens or wildcards).
func token(id string) string {
	if id == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, id)
}

// closeWait bounds how long Close waits for the connection to drain.
const closeWait = 10 * time.Second

// Close stops the consumers and drains the connection (handlers that
// are running finish); no Node method runs after it returns. It is
// idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.connClosed
		return b.closeErr
	}
	b.closed = true
	consume, presence := b.consume, b.presence
	b.consume = nil
	b.mu.Unlock()
	if presence != nil {
		presence.close()
	}
	for _, cc := range consume {
		cc.Stop()
	}
	var err error
	if derr := b.nc.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
		err = fmt.Errorf("natsbroker: close: %w", derr)
	}
	select {
	case <-b.connClosed:
	case <-time.After(closeWait):
		b.nc.Close()
		<-b.connClosed
		err = errors.Join(err, errors.New("natsbroker: close: drain timed out"))
	}
	b.mu.Lock()
	b.closeErr = err
	b.mu.Unlock()
	return err
}

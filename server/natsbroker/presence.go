package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parley/server"
)

// PresenceBucket is the key-value bucket presence lives in.
const PresenceBucket = "PARLEY_PRESENCE"

// Presence is a server.Presence shared by every node, on a JetStream
// key-value bucket (in memory: presence is rebuilt, not recovered):
//
//	c.<user>.<connection>  the node holding the connection
//	t.<user>               the conversation the user talks in
//
// Every key lives for the bucket's TTL; each node puts its own keys again
// every TTL/3, so the connections of a node that died (or of a NATS that
// restarted) are gone, or back, within one TTL.
//
// Two first connections of one user made at the same moment on two nodes
// may both report first (each tells the user's contacts "online" once):
// presence is a hint, not history.
type Presence struct {
	b   *Broker
	kv  jetstream.KeyValue
	ttl time.Duration

	mu   gosync.Mutex
	mine map[string]string // this node's keys and values, kept alive

	stop chan struct{}
	done chan struct{}
}

var _ server.Presence = (*Presence)(nil)

// Presence creates (or opens) the presence bucket, with keys that live
// for ttl (default 30 s), and starts keeping this node's keys alive until
// the broker closes.
func (b *Broker) Presence(ctx context.Context, ttl time.Duration) (*Presence, error) {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("natsbroker: presence: closed")
	}
	if b.presence != nil {
		return b.presence, nil
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: PresenceBucket, TTL: ttl, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: presence bucket: %w", err)
	}
	p := &Presence{b: b, kv: kv, ttl: ttl, mine: make(map[string]string), stop: make(chan struct{}), done: make(chan struct{})}
	go p.keepAlive()
	b.presence = p
	return p, nil
}

// keepAlive puts this node's keys again every ttl/3 until close.
func (p *Presence) keepAlive() {
	defer close(p.done)
	t := time.NewTicker(p.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		keys := make(map[string]string, len(p.mine))
		for k, v := range p.mine {
			keys[k] = v
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), p.ttl/3)
		for k, v := range keys {
			if _, err := p.kv.PutString(ctx, k, v); err != nil {
				p.b.log.Warn("natsbroker: keep presence", "key", k, "err", err)
				break
			}
		}
		cancel()
	}
}

// close stops keepAlive (the broker calls it before it drains).
func (p *Presence) close() {
	close(p.stop)
	<-p.done
}

// keyToken makes an id safe as one key token.
func keyToken(id string) string {
	if id == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=' {
			return r
		}
		return '_'
	}, id)
}

func connKey(user, conn string) string { return "c." + keyToken(user) + "." + keyToken(conn) }
func talkKey(user string) string       { return "t." + keyToken(user) }

func (p *Presence) put(ctx context.Context, key, value string) error {
	p.mu.Lock()
	p.mine[key] = value
	p.mu.Unlock()
	_, err := p.kv.PutString(ctx, key, value)
	return err
}

func (p *Presence) del(ctx context.Context, key string) error {
	p.mu.Lock()
	delete(p.mine, key)
	p.mu.Unlock()
	err := p.kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// keys lists the live keys matching filter.
func (p *Presence) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := p.kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// Connect implements server.Presence.
func (p *Presence) Connect(ctx context.Context, user, conn string) (bool, error) {
	if err := p.put(ctx, connKey(user, conn), p.b.cfg.NodeID); err != nil {
		return false, fmt.Errorf("natsbroker: connect %s: %w", user, err)
	}
	keys, err := p.keys(ctx, "c."+keyToken(user)+".*")
	if err != nil {
		return false, fmt.Errorf("natsbroker: connect %s: %w", user, err)
	}
	return len(keys) <= 1, nil
}

// Disconnect implements server.Presence.
func (p *Presence) Disconnect(ctx context.Context, user, conn string) (bool, error) {
	if err := p.del(ctx, connKey(user, conn)); err != nil {
		return false, fmt.Errorf("natsbroker: disconnect %s: %w", user, err)
	}
	keys, err := p.keys(ctx, "c."+keyToken(user)+".*")
	if err != nil {
		return false, fmt.Errorf("natsbroker: disconnect %s: %w", user, err)
	}
	return len(keys) == 0, nil
}

// Online implements server.Presence.
func (p *Presence) Online(ctx context.Context) ([]string, error) {
	keys, err := p.keys(ctx, "c.>")
	if err != nil {
		return nil, fmt.Errorf("natsbroker: online: %w", err)
	}
	seen := make(map[string]bool)
	var users []string
	for _, k := range keys {
		parts := strings.SplitN(k, ".", 3)
		if len(parts) == 3 && !seen[parts[1]] {
			seen[parts[1]] = true
			users = append(users, parts[1])
		}
	}
	return users, nil
}

// IsOnline implements server.Presence.
func (p *Presence) IsOnline(ctx context.Context, user string) (bool, error) {
	keys, err := p.keys(ctx, "c."+keyToken(user)+".*")
	if err != nil {
		return false, fmt.Errorf("natsbroker: is online %s: %w", user, err)
	}
	return len(keys) > 0, nil
}

// SetTalking implements server.Presence.
func (p *Presence) SetTalking(ctx context.Context, user, conversation string, talking bool) (bool, error) {
	key := talkKey(user)
	current := ""
	e, err := p.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return false, fmt.Errorf("natsbroker: talking %s: %w", user, err)
	default:
		current = string(e.Value())
	}
	switch {
	case talking:
		if err := p.put(ctx, key, conversation); err != nil {
			return false, fmt.Errorf("natsbroker: talking %s: %w", user, err)
		}
		return current != conversation, nil
	case current == conversation:
		if err := p.del(ctx, key); err != nil {
			return false, fmt.Errorf("natsbroker: talking %s: %w", user, err)
		}
		return true, nil
	}
	return false, nil
}

// Talking implements server.Presence.
func (p *Presence) Talking(ctx context.Context) (map[string]string, error) {
	keys, err := p.keys(ctx, "t.*")
	if err != nil {
		return nil, fmt.Errorf("natsbroker: talking: %w", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		e, err := p.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // stopped meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("natsbroker: talking: %w", err)
		}
		out[strings.TrimPrefix(k, "t.")] = string(e.Value())
	}
	return out, nil
}

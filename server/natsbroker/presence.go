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
// every TTL/3, so the connections of a node that died are gone within one
// TTL. A NATS that restarted has lost the bucket: the first call that
// fails makes it again and puts the node's keys back (withBucket).
//
// Two first connections of one user made at the same moment on two nodes
// may both report first (each tells the user's contacts "online" once):
// presence is a hint, not history.
type Presence struct {
	b   *Broker
	cfg jetstream.KeyValueConfig
	ttl time.Duration

	mu   gosync.Mutex
	kv   jetstream.KeyValue // made again when NATS lost it (bucket)
	mine map[string]string  // this node's keys and values, kept alive

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
	cfg := jetstream.KeyValueConfig{Bucket: PresenceBucket, TTL: ttl, Storage: jetstream.MemoryStorage}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: presence bucket: %w", err)
	}
	p := &Presence{b: b, cfg: cfg, kv: kv, ttl: ttl, mine: make(map[string]string), stop: make(chan struct{}), done: make(chan struct{})}
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
			if err := p.withBucket(ctx, func(kv jetstream.KeyValue) error {
				_, err := kv.PutString(ctx, k, v)
				return err
			}); err != nil {
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

// bucket is the current handle of the presence bucket.
func (p *Presence) bucket() jetstream.KeyValue {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kv
}

// withBucket runs op on the bucket. If op fails otherwise than with a
// missing key, the bucket may be gone (a memory bucket does not survive a
// NATS restart): it makes the bucket again, puts this node's keys back
// and runs op once more.
func (p *Presence) withBucket(ctx context.Context, op func(jetstream.KeyValue) error) error {
	err := op(p.bucket())
	if err == nil || errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrNoKeysFound) || ctx.Err() != nil {
		return err
	}
	if rerr := p.reopen(ctx); rerr != nil {
		return errors.Join(err, rerr)
	}
	return op(p.bucket())
}

// reopen makes (or opens) the bucket again and puts this node's keys.
func (p *Presence) reopen(ctx context.Context) error {
	kv, err := p.b.js.CreateOrUpdateKeyValue(ctx, p.cfg)
	if err != nil {
		return fmt.Errorf("natsbroker: presence bucket: %w", err)
	}
	p.mu.Lock()
	p.kv = kv
	mine := make(map[string]string, len(p.mine))
	for k, v := range p.mine {
		mine[k] = v
	}
	p.mu.Unlock()
	for k, v := range mine {
		if _, err := kv.PutString(ctx, k, v); err != nil {
			return fmt.Errorf("natsbroker: presence bucket: put %s: %w", k, err)
		}
	}
	p.b.log.Info("natsbroker: presence bucket made again", "keys", len(mine))
	return nil
}

func (p *Presence) put(ctx context.Context, key, value string) error {
	p.mu.Lock()
	p.mine[key] = value
	p.mu.Unlock()
	return p.withBucket(ctx, func(kv jetstream.KeyValue) error {
		_, err := kv.PutString(ctx, key, value)
		return err
	})
}

func (p *Presence) del(ctx context.Context, key string) error {
	p.mu.Lock()
	delete(p.mine, key)
	p.mu.Unlock()
	err := p.withBucket(ctx, func(kv jetstream.KeyValue) error { return kv.Delete(ctx, key) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// get reads one key (jetstream.ErrKeyNotFound if it is not there).
func (p *Presence) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := p.withBucket(ctx, func(kv jetstream.KeyValue) error {
		var err error
		e, err = kv.Get(ctx, key)
		return err
	})
	return e, err
}

// keys lists the live keys matching filter.
func (p *Presence) keys(ctx context.Context, filter string) ([]string, error) {
	var out []string
	err := p.withBucket(ctx, func(kv jetstream.KeyValue) error {
		out = nil
		l, err := kv.ListKeysFiltered(ctx, filter)
		if err != nil {
			return err
		}
		for k := range l.Keys() {
			out = append(out, k)
		}
		return nil
	})
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	return out, err
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
	e, err := p.get(ctx, key)
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
		e, err := p.get(ctx, k)
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

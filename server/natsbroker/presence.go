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
// An empty value means gone (a disconnect, a stop): it is a put, so it has
// a revision the writer can wait for, which a KV delete does not return.
//
// Every node answers from memory: one watcher on the whole bucket (an
// ordered consumer, kv.WatchAll) keeps a copy of it, so Online, IsOnline
// and Talking cost no round trip. Each write (Connect, Disconnect,
// SetTalking) is one put; the writer then waits (at most syncWait) until
// its own watcher has shown that put's revision, so what it answers
// (first, last, changed) takes in every write the stream ordered before
// it, on any node: of two nodes that connect or disconnect the same user
// at once, the later one sees the earlier. (Measured before the copy: at
// 1 000 connections in a burst, each connect listed keys two or three
// times, one ordered consumer created and deleted per listing; the
// JetStream API took seconds per connect and the nodes closed ~950
// listeners as slow consumers.)
//
// Every key lives for the bucket's TTL; each node puts its own keys again
// every TTL/3, and the copy forgets an entry it has not seen put for a
// TTL, so the connections of a node that died are gone within one TTL
// everywhere (MaxAge expiry is silent to a watcher). A NATS that
// restarted has lost the bucket: after a reconnect, or when a write
// fails, the node makes the bucket again, puts its keys back and watches
// anew (watch).
//
// Two first connections of one user made at the same moment on two nodes
// may still both report first if a watcher lags past syncWait: presence
// is a hint, not history.
type Presence struct {
	b   *Broker
	cfg jetstream.KeyValueConfig
	ttl time.Duration
	now func() time.Time

	mu      gosync.Mutex
	kv      jetstream.KeyValue // made again when NATS lost it
	mine    map[string]ownKey  // this node's live keys, kept alive
	view    presenceView       // the bucket as the watcher showed it
	applied uint64             // the last revision the view took in
	moved   chan struct{}      // closed (and replaced) when the view moves
	loads   int                // initial loads of the view done (1 + restarts)

	rewatch chan struct{} // asks watch to start over (reconnect, bucket made again)
	ready   chan struct{} // closed when the first watch has its initial values
	stop    chan struct{}
	wg      gosync.WaitGroup // keepAlive and watch
}

var _ server.Presence = (*Presence)(nil)

// syncWait bounds how long a write waits for the watcher to show it.
const syncWait = 2 * time.Second

// ownKey is one of this node's keys: its value and the revision of the
// node's last put of it (0 while that put is on its way).
type ownKey struct {
	value string
	rev   uint64
}

// presenceEntry is one key's latest value in the view.
type presenceEntry struct {
	value string
	seen  time.Time // when it was last put, as this node saw it
}

// presenceView is the node's copy of the bucket: connections by user
// token, and who talks where. Gone (empty) values are not kept.
type presenceView struct {
	conns map[string]map[string]presenceEntry // user -> connection key -> node
	talk  map[string]presenceEntry            // user -> conversation
}

func newPresenceView() presenceView {
	return presenceView{conns: make(map[string]map[string]presenceEntry), talk: make(map[string]presenceEntry)}
}

// apply takes in one key's new value ("" or del: gone).
func (v presenceView) apply(key, value string, seen time.Time) {
	kind, rest, _ := strings.Cut(key, ".")
	switch kind {
	case "c":
		user, _, ok := strings.Cut(rest, ".")
		if !ok {
			return
		}
		set := v.conns[user]
		if value == "" {
			delete(set, key)
			if len(set) == 0 {
				delete(v.conns, user)
			}
			return
		}
		if set == nil {
			set = make(map[string]presenceEntry)
			v.conns[user] = set
		}
		set[key] = presenceEntry{value: value, seen: seen}
	case "t":
		if value == "" {
			delete(v.talk, rest)
			return
		}
		v.talk[rest] = presenceEntry{value: value, seen: seen}
	}
}

// sweep forgets the entries not put again since before cutoff.
func (v presenceView) sweep(cutoff time.Time) {
	for user, set := range v.conns {
		for k, e := range set {
			if e.seen.Before(cutoff) {
				delete(set, k)
			}
		}
		if len(set) == 0 {
			delete(v.conns, user)
		}
	}
	for user, e := range v.talk {
		if e.seen.Before(cutoff) {
			delete(v.talk, user)
		}
	}
}

// Presence creates (or opens) the presence bucket, with keys that live
// for ttl (default 30 s), loads it into memory and keeps it there (one
// watcher) and this node's keys alive until the broker closes.
func (b *Broker) Presence(ctx context.Context, ttl time.Duration) (*Presence, error) {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	b.mu.Lock()
	closed, existing := b.closed, b.presence
	b.mu.Unlock()
	if closed {
		return nil, errors.New("natsbroker: presence: closed")
	}
	if existing != nil {
		return existing, nil
	}
	cfg := jetstream.KeyValueConfig{Bucket: PresenceBucket, TTL: ttl, Storage: jetstream.MemoryStorage}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: presence bucket: %w", err)
	}
	p := &Presence{b: b, cfg: cfg, kv: kv, ttl: ttl, now: b.cfg.Now, mine: make(map[string]ownKey),
		view: newPresenceView(), moved: make(chan struct{}),
		rewatch: make(chan struct{}, 1), ready: make(chan struct{}), stop: make(chan struct{})}
	p.wg.Add(2)
	go p.keepAlive()
	go p.watch()
	select {
	case <-p.ready:
	case <-ctx.Done():
		p.close()
		return nil, fmt.Errorf("natsbroker: presence: load the bucket: %w", ctx.Err())
	}
	b.mu.Lock()
	if b.closed || b.presence != nil {
		closed, existing := b.closed, b.presence
		b.mu.Unlock()
		p.close()
		if closed {
			return nil, errors.New("natsbroker: presence: closed")
		}
		return existing, nil
	}
	b.presence = p
	b.mu.Unlock()
	return p, nil
}

// keepAlive puts this node's keys again every ttl/3 and forgets what the
// view has not seen put for a ttl, until close.
func (p *Presence) keepAlive() {
	defer p.wg.Done()
	t := time.NewTicker(p.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		keys := p.mineLocked()
		p.view.sweep(p.now().Add(-p.ttl))
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), p.ttl/3)
		for k, v := range keys {
			rev, err := p.withBucket(ctx, func(kv jetstream.KeyValue) (uint64, error) {
				return kv.PutString(ctx, k, v)
			})
			if err != nil {
				p.b.log.Warn("natsbroker: keep presence", "key", k, "err", err)
				break
			}
			p.putDone(k, v, rev)
		}
		cancel()
	}
}

// watchRetry is the first and longest pause before watching again after
// a failure.
const (
	watchRetryMin = 100 * time.Millisecond
	watchRetryMax = 2 * time.Second
)

// watch keeps the view: it watches the whole bucket, and starts over
// (the bucket made if missing, this node's keys put back, the view
// loaded afresh) after a reconnect, a bucket made again or a watcher
// that ended, until close.
func (p *Presence) watch() {
	defer p.wg.Done()
	first := true // the bucket was just made by Presence
	retry := watchRetryMin
	for {
		err := p.watchOnce(first)
		if err == nil {
			return // closed
		}
		first = false
		if errors.Is(err, errRewatch) {
			retry = watchRetryMin
			continue
		}
		p.b.log.Warn("natsbroker: presence watch", "err", err, "retry", retry)
		select {
		case <-p.stop:
			return
		case <-p.rewatch:
		case <-time.After(retry):
		}
		retry = min(2*retry, watchRetryMax)
	}
}

// errRewatch ends one watch: start over.
var errRewatch = errors.New("natsbroker: presence: watch again")

// watchOnce runs one watcher. It returns nil when the presence closes,
// errRewatch when asked to start over, or the failure.
func (p *Presence) watchOnce(fresh bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if !fresh {
		// NATS may have restarted and lost the bucket: make it again and
		// put this node's keys back before loading it.
		if err := p.reopen(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	w, err := p.bucket().WatchAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch %s: %w", PresenceBucket, err)
	}
	defer w.Stop()
	// The initial values build a view of their own, which replaces the
	// old one once complete (the nil entry); the old one answers
	// meanwhile.
	loading, loaded := newPresenceView(), uint64(0)
	initial := true
	for {
		select {
		case <-p.stop:
			return nil
		case <-p.rewatch:
			return errRewatch
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: ended", PresenceBucket)
			}
			now := p.now()
			if e == nil {
				p.mu.Lock()
				p.view, p.applied = loading, max(loaded, p.applied)
				p.loads++
				p.moveLocked()
				p.mu.Unlock()
				if initial {
					initial = false
					select {
					case <-p.ready:
					default:
						close(p.ready)
					}
				}
				continue
			}
			value := string(e.Value())
			if e.Operation() != jetstream.KeyValuePut {
				value = ""
			}
			if initial {
				// Put before the watch began: as old as NATS says.
				seen := e.Created()
				if seen.After(now) {
					seen = now
				}
				loading.apply(e.Key(), value, seen)
				loaded = e.Revision()
				continue
			}
			p.mu.Lock()
			p.view.apply(e.Key(), value, now)
			p.applied = e.Revision()
			// Another node wrote one of this node's keys later (a talker
			// that moved stopped there): stop keeping it alive.
			if own, ok := p.mine[e.Key()]; ok && own.rev != 0 && e.Revision() > own.rev && own.value != value {
				delete(p.mine, e.Key())
			}
			p.moveLocked()
			p.mu.Unlock()
		}
	}
}

// moveLocked wakes the writers waiting for the view to move.
func (p *Presence) moveLocked() {
	close(p.moved)
	p.moved = make(chan struct{})
}

// startOver asks watch to make the bucket if missing and load it again;
// it never blocks. The broker calls it after a reconnect.
func (p *Presence) startOver() {
	select {
	case p.rewatch <- struct{}{}:
	default:
	}
}

// sync waits until the view has taken in revision rev, for at most
// syncWait (a watch that starts over may never show it: answers are then
// as fresh as the view).
func (p *Presence) sync(ctx context.Context, rev uint64) {
	timer := time.NewTimer(syncWait)
	defer timer.Stop()
	for {
		p.mu.Lock()
		done, moved := p.applied >= rev, p.moved
		p.mu.Unlock()
		if done {
			return
		}
		select {
		case <-moved:
		case <-timer.C:
			p.b.log.Warn("natsbroker: presence watch behind", "revision", rev, "waited", syncWait)
			return
		case <-ctx.Done():
			return
		}
	}
}

// close stops keepAlive and watch (the broker calls it before it drains).
func (p *Presence) close() {
	close(p.stop)
	p.wg.Wait()
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

// withBucket runs op on the bucket. If op fails, the bucket may be gone
// (a memory bucket does not survive a NATS restart): it makes the bucket
// again, puts this node's keys back, has the watch start over and runs op
// once more.
func (p *Presence) withBucket(ctx context.Context, op func(jetstream.KeyValue) (uint64, error)) (uint64, error) {
	rev, err := op(p.bucket())
	if err == nil || ctx.Err() != nil {
		return rev, err
	}
	if rerr := p.reopen(ctx); rerr != nil {
		return 0, errors.Join(err, rerr)
	}
	p.startOver()
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
	mine := p.mineLocked()
	p.mu.Unlock()
	for k, v := range mine {
		rev, err := kv.PutString(ctx, k, v)
		if err != nil {
			return fmt.Errorf("natsbroker: presence bucket: put %s: %w", k, err)
		}
		p.putDone(k, v, rev)
	}
	p.b.log.Info("natsbroker: presence bucket opened again", "keys", len(mine))
	return nil
}

// mineLocked copies this node's keys and values.
func (p *Presence) mineLocked() map[string]string {
	keys := make(map[string]string, len(p.mine))
	for k, own := range p.mine {
		keys[k] = own.value
	}
	return keys
}

// putDone notes the revision of this node's put of key, if the key still
// has that value.
func (p *Presence) putDone(key, value string, rev uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if own, ok := p.mine[key]; ok && own.value == value {
		p.mine[key] = ownKey{value: value, rev: rev}
	}
}

// put records this node's key (value "" forgets it), puts it and waits
// until the view shows it.
func (p *Presence) put(ctx context.Context, key, value string) error {
	p.mu.Lock()
	if value == "" {
		delete(p.mine, key)
	} else {
		p.mine[key] = ownKey{value: value}
	}
	p.mu.Unlock()
	rev, err := p.withBucket(ctx, func(kv jetstream.KeyValue) (uint64, error) {
		return kv.PutString(ctx, key, value)
	})
	if err != nil {
		return err
	}
	p.putDone(key, value, rev)
	p.sync(ctx, rev)
	return nil
}

// connections counts user's live connections in the view. This node's
// own are the ones it holds (a connection key of this node's name that it
// does not hold is a dead process's: ignored).
func (p *Presence) connectionsLocked(userToken string) int {
	cutoff := p.now().Add(-p.ttl)
	n := 0
	for k, e := range p.view.conns[userToken] {
		if e.seen.Before(cutoff) {
			continue
		}
		if e.value == p.b.cfg.NodeID {
			if _, ok := p.mine[k]; !ok {
				continue
			}
		}
		n++
	}
	return n
}

// Connect implements server.Presence.
func (p *Presence) Connect(ctx context.Context, user, conn string) (bool, error) {
	key := connKey(user, conn)
	if err := p.put(ctx, key, p.b.cfg.NodeID); err != nil {
		return false, fmt.Errorf("natsbroker: connect %s: %w", user, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.connectionsLocked(keyToken(user))
	if _, shown := p.view.conns[keyToken(user)][key]; !shown {
		n++ // the watch is behind: count this one
	}
	return n <= 1, nil
}

// Disconnect implements server.Presence.
func (p *Presence) Disconnect(ctx context.Context, user, conn string) (bool, error) {
	if err := p.put(ctx, connKey(user, conn), ""); err != nil {
		return false, fmt.Errorf("natsbroker: disconnect %s: %w", user, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connectionsLocked(keyToken(user)) == 0, nil
}

// Online implements server.Presence.
func (p *Presence) Online(context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := make([]string, 0, len(p.view.conns))
	for user := range p.view.conns {
		if p.connectionsLocked(user) > 0 {
			users = append(users, user)
		}
	}
	return users, nil
}

// IsOnline implements server.Presence.
func (p *Presence) IsOnline(_ context.Context, user string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connectionsLocked(keyToken(user)) > 0, nil
}

// talkingLocked is the conversation user talks in, "" if none.
func (p *Presence) talkingLocked(userToken string) string {
	e, ok := p.view.talk[userToken]
	if !ok || e.seen.Before(p.now().Add(-p.ttl)) {
		return ""
	}
	return e.value
}

// SetTalking implements server.Presence.
func (p *Presence) SetTalking(ctx context.Context, user, conversation string, talking bool) (bool, error) {
	p.mu.Lock()
	current := p.talkingLocked(keyToken(user))
	p.mu.Unlock()
	switch {
	case talking:
		if err := p.put(ctx, talkKey(user), conversation); err != nil {
			return false, fmt.Errorf("natsbroker: talking %s: %w", user, err)
		}
		return current != conversation, nil
	case current == conversation:
		if err := p.put(ctx, talkKey(user), ""); err != nil {
			return false, fmt.Errorf("natsbroker: talking %s: %w", user, err)
		}
		return true, nil
	}
	return false, nil
}

// Talking implements server.Presence.
func (p *Presence) Talking(context.Context) (map[string]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.view.talk))
	for user := range p.view.talk {
		if conv := p.talkingLocked(user); conv != "" {
			out[user] = conv
		}
	}
	return out, nil
}

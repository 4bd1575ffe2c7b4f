package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
	psync "parley/sync"
)

// catchupTalkers share the work of recording the messages the late user
// misses.
const catchupTalkers = 4

// catchupPackets is the length of each missed message (0.2 s).
const catchupPackets = 10

// catchupResult is one way of catching up.
type catchupResult struct {
	path       string // "raw protocol" or "sync engine"
	messages   int
	events     int
	pages      int
	signIn     time.Duration // dial + hello
	metadata   time.Duration // from the first sync request to the last page (stored, for the engine)
	firstAudio time.Duration // audio.fetch of the newest message -> its first packet
	fullAudio  time.Duration // -> its last packet
}

// runCatchup records messages voice messages in the Lobby while one user
// is away, then measures that user catching up: metadata (sync pages) and
// the first audio fetch, over the raw protocol and with the sync engine.
func (e *env) runCatchup(ctx context.Context, messages int) ([]catchupResult, error) {
	t, err := e.startTarget(ctx, "parley")
	if err != nil {
		return nil, err
	}
	defer t.stop()
	late, err := register(ctx, t, "late", 1, nil)
	if err != nil {
		return nil, err
	}
	talkers := make([]*peer, catchupTalkers)
	defer closeAll(talkers)
	if _, err := register(ctx, t, "speaker", catchupTalkers, talkers); err != nil {
		return nil, err
	}
	lobby, err := lobbyOf(ctx, talkers[0])
	if err != nil {
		return nil, err
	}
	ids := make([]string, messages)
	err = parallel(ctx, catchupTalkers, catchupTalkers, func(ctx context.Context, w int) error {
		p := talkers[w]
		buf := make([]byte, 0, 128)
		for i := w; i < messages; i += catchupTalkers {
			id, stream, err := voiceStart(ctx, p, lobby)
			if err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			for n := range uint32(catchupPackets) {
				if err := p.write(websocket.BinaryMessage, loadPacket(buf, stream, n)); err != nil {
					return err
				}
			}
			if err := voiceEnd(ctx, p, id, catchupPackets); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	newest := slices.Max(ids) // ULIDs sort by creation time
	settle()

	raw, err := catchupRaw(ctx, t, late[0].token, newest)
	raw.messages = messages
	if err != nil {
		return nil, fmt.Errorf("raw catch-up: %w", err)
	}
	engine, err := e.catchupEngine(ctx, t, late[0].name, newest)
	engine.messages = messages
	if err != nil {
		return []catchupResult{raw}, fmt.Errorf("sync engine catch-up: %w", err)
	}
	return []catchupResult{raw, engine}, nil
}

// catchupRaw pages through sync from cursor 0 and fetches the newest
// message over the bare protocol.
func catchupRaw(ctx context.Context, t *target, token, newest string) (catchupResult, error) {
	res := catchupResult{path: "raw protocol"}
	start := time.Now()
	batches := make(chan int64, 1024)
	p, err := signIn(ctx, t, token, func(p *peer) {
		p.onBinary = func(data []byte, at int64) {
			if len(data) > 0 && wire.FrameKind(data[0]) == wire.FrameBatch {
				f, err := wire.DecodeFrame(data)
				if err == nil {
					batches <- int64(len(f.Packets))
				}
			}
		}
	})
	if err != nil {
		return res, err
	}
	defer p.close()
	res.signIn = time.Since(start)
	start = time.Now()
	for since := int64(0); ; {
		page, err := call[wire.SyncPage](ctx, p, wire.TypeSync, wire.Sync{Since: since})
		if err != nil {
			return res, err
		}
		res.pages++
		res.events += len(page.Events)
		since = page.Next
		if !page.More {
			break
		}
	}
	res.metadata = time.Since(start)
	start = time.Now()
	if _, err := call[wire.AudioStream](ctx, p, wire.TypeAudioFetch, wire.AudioFetch{Message: newest}); err != nil {
		return res, err
	}
	for got := int64(0); got < catchupPackets; {
		select {
		case n := <-batches:
			if got == 0 {
				res.firstAudio = time.Since(start)
			}
			got += n
		case <-time.After(30 * time.Second):
			return res, errors.New("audio.fetch: no packets within 30s")
		}
	}
	res.fullAudio = time.Since(start)
	return res, nil
}

// catchupEngine signs the late user in on a new device with the client
// sync engine (local SQLite cache included) and waits for its catch-up,
// then plays the newest message's packets from the engine.
func (e *env) catchupEngine(ctx context.Context, t *target, username, newest string) (catchupResult, error) {
	res := catchupResult{path: "sync engine"}
	c, err := psync.New(psync.Config{
		URL:       t.parleyURL(),
		StorePath: filepath.Join(t.dir, "client.db"),
		Username:  username,
		Password:  loadPassword,
		// Prefetch off: the first fetch below is then the first audio
		// transfer, not one racing a background download.
		Prefetch: -1,
	})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
		c.Close()
	}()
	var syncing time.Time
wait:
	for {
		select {
		case h, ok := <-c.Hints():
			if !ok {
				return res, errors.New("hints closed")
			}
			switch h := h.(type) {
			case psync.ConnectionChanged:
				if h.State == psync.StateSyncing && syncing.IsZero() {
					syncing = time.Now()
				}
				if h.State == psync.StateOnline {
					break wait
				}
				if h.State == psync.StateStopped {
					return res, fmt.Errorf("engine stopped: %v", h.Err)
				}
			case psync.SyncProgress:
				if syncing.IsZero() {
					syncing = time.Now()
				}
				if h.Done {
					res.pages++
					break wait
				}
				res.pages++
			}
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	done := time.Now()
	if syncing.IsZero() {
		syncing = start
	}
	res.signIn = syncing.Sub(start)
	res.metadata = done.Sub(syncing)
	if cur, err := c.Store().Cursor(ctx); err == nil {
		res.events = int(cur)
	}
	start = time.Now()
	src, err := c.OpenMessage(ctx, newest, 0)
	if err != nil {
		return res, err
	}
	for n := 0; ; n++ {
		_, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		if n == 0 {
			res.firstAudio = time.Since(start)
		}
	}
	res.fullAudio = time.Since(start)
	return res, nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"parley/server/wire"
)

// registerWidth bounds concurrent registrations: parleyd hashes two
// passwords (argon2id, its real cost) at a time, more only queue.
const registerWidth = 4

// connectWidth bounds concurrent dials and sign-ins.
const connectWidth = 64

// target is a server under load: parleyd or the baseline.
type target struct {
	kind string // "parley" or "baseline"
	p    *proc
	dir  string
	prof *profiler // nil unless the server is profiled
	// dialer dials it: pinned TLS for parleyd, plain for the baseline.
	dialer *websocket.Dialer
}

func (t *target) parleyURL() string { return "wss://" + t.p.addr + "/v1/ws" }

func (t *target) roomURL(room int) string {
	return fmt.Sprintf("ws://%s/ws?room=%d", t.p.addr, room)
}

// startTarget starts a fresh server of kind on 127.0.0.1: parleyd on an
// empty data folder, or the baseline subprocess.
func (e *env) startTarget(ctx context.Context, kind string) (*target, error) {
	dir, err := os.MkdirTemp(e.work, kind+"-")
	if err != nil {
		return nil, err
	}
	var p *proc
	switch kind {
	case "parley":
		bin, args := e.parleyd, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"),
			"-name", "parleyload", "-log-level", "info", "-mdns", "off", "-metrics-addr", "127.0.0.1:0"}
		if e.pprof != "" {
			bin, args = e.self, append([]string{"profiled-parleyd"}, args...)
		}
		p, err = startProc(ctx, "parleyd", bin, args...)
	default:
		p, err = startProc(ctx, "baseline", e.self, "baseline", "-addr", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	t := &target{kind: kind, p: p, dir: dir, dialer: newDialer(p.fingerprint)}
	if kind == "parley" && p.fingerprint.IsZero() {
		t.stop()
		return nil, fmt.Errorf("parleyd logged no TLS fingerprint\n%s", p.logs)
	}
	if p.pprofAddr != "" {
		t.prof = &profiler{dir: e.pprof, addr: p.pprofAddr, log: e.log}
	}
	return t, nil
}

// stop stops the server and removes its data.
func (t *target) stop() error {
	err := t.p.stop()
	os.RemoveAll(t.dir)
	return err
}

// account is a registered Parley account with its first device's token.
type account struct {
	name    string
	user    wire.User
	token   string
	welcome wire.Welcome
}

const loadPassword = "parleyload-password"

// register creates accounts prefix0..prefixN-1 and returns them; the
// connections they registered on are kept open in keep (or closed when keep is
// nil). prepare, if set, sets connection i's handlers before its read loop
// starts.
func register(ctx context.Context, t *target, prefix string, n int, keep []*peer, prepare ...func(i int, p *peer)) ([]account, error) {
	accounts := make([]account, n)
	err := parallel(ctx, n, registerWidth, func(ctx context.Context, i int) error {
		p, err := dialPeer(ctx, t.dialer, t.parleyURL())
		if err != nil {
			return err
		}
		for _, f := range prepare {
			f(i, p)
		}
		p.start()
		name := fmt.Sprintf("%s%d", prefix, i)
		w, err := p.hello(ctx, wire.Auth{Mode: wire.AuthRegister, Username: name, Password: loadPassword, Device: name + "-dev"})
		if err != nil {
			p.close()
			return fmt.Errorf("register %s: %w", name, err)
		}
		accounts[i] = account{name: name, user: w.User, token: w.Token, welcome: w}
		if keep != nil {
			keep[i] = p
		} else {
			p.close()
		}
		return nil
	})
	return accounts, err
}

// signIn opens a connection with a device token; handlers are set by
// prepare before the read loop starts.
func signIn(ctx context.Context, t *target, token string, prepare func(*peer)) (*peer, error) {
	p, err := dialPeer(ctx, t.dialer, t.parleyURL())
	if err != nil {
		return nil, err
	}
	if prepare != nil {
		prepare(p)
	}
	p.start()
	if _, err := p.hello(ctx, wire.Auth{Mode: wire.AuthToken, Token: token}); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func lobbyOf(ctx context.Context, p *peer) (string, error) {
	convs, err := call[wire.Conversations](ctx, p, wire.TypeConversationList, nil)
	if err != nil {
		return "", err
	}
	for _, c := range convs.Conversations {
		if c.Lobby {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("no Lobby")
}

func createGroup(ctx context.Context, p *peer, title string, members []string) (string, error) {
	if members == nil {
		members = []string{}
	}
	info, err := call[wire.ConversationInfo](ctx, p, wire.TypeConversationCreate,
		wire.ConversationCreate{Kind: wire.ConversationGroup, Title: title, Members: members})
	return info.Conversation.ID, err
}

// voiceStart begins a new voice message and returns its id and stream.
func voiceStart(ctx context.Context, p *peer, conversation string) (string, uint32, error) {
	id := ulid.Make().String()
	st, err := call[wire.VoiceStarted](ctx, p, wire.TypeVoiceStart, wire.VoiceStart{Conversation: conversation, Message: id, Codec: wire.CodecOpus})
	return id, st.Stream, err
}

// voiceEnd ends a message and waits for the complete ack.
func voiceEnd(ctx context.Context, p *peer, message string, packets uint32) error {
	_, err := call[wire.VoiceAck](ctx, p, wire.TypeVoiceEnd, wire.VoiceEnd{Message: message, Packets: packets,
		DurationMs: int64(packets) * frameInterval.Milliseconds()})
	return err
}

// closeAll closes peers concurrently.
func closeAll(peers []*peer) {
	var wg gosync.WaitGroup
	sem := make(chan struct{}, connectWidth)
	for _, p := range peers {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			p.close()
			<-sem
		}()
	}
	wg.Wait()
}

// settle gives a server a moment to finish work queued by a setup step
// (events, presence) before a measurement window opens.
func settle() { time.Sleep(500 * time.Millisecond) }

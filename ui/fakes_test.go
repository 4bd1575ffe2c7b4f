package ui

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	gosync "sync"
	"time"

	"parley/server/wire"
	"parley/sync"
)

// fakeMessenger is an in-memory Messenger: accounts, conversations, messages
// and receipts, with the same rules the sync engine enforces.
type fakeMessenger struct {
	mu        gosync.Mutex
	reachable map[string]bool // address -> server up
	accounts  map[string]string
	status    ConnStatus
	convs     []Conversation
	msgs      map[string][]Message
	listened  map[string]time.Duration
	nextID    int
	now       time.Time
	// signInCalls counts SignIn and SignUp requests that reached the fake.
	signInCalls int
	seenCalls   int
	people      *fakePeople
}

func newFakeMessenger() *fakeMessenger {
	return &fakeMessenger{
		reachable: map[string]bool{"10.0.0.5:7420": true},
		accounts:  map[string]string{"alice": "secret"},
		msgs:      map[string][]Message{},
		listened:  map[string]time.Duration{},
		convs:     []Conversation{{ID: "lobby", Title: "Lobby", Kind: sync.ConversationGroup, Lobby: true}},
		now:       time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC),
		people:    newFakePeople(),
	}
}

func (f *fakeMessenger) Status() ConnStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeMessenger) Conversations() ([]Conversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.convs)
	for i := range out {
		out[i] = named(out[i])
		out[i].Unplayed, out[i].Unread = 0, 0
		for _, m := range f.msgs[out[i].ID] {
			// sync's definition: from others, not withdrawn, not played
			// to the end or seen.
			if m.Mine || m.Listened || m.State == sync.StateAbandoned {
				continue
			}
			if m.Kind == sync.KindVoice {
				out[i].Unplayed++
			} else {
				out[i].Unread++
			}
		}
	}
	return out, nil
}

// Messages pages as the store does: numbered messages by Seq, pending ones
// (Seq 0) after the newest page.
func (f *fakeMessenger) Messages(conv string, before int64, limit int) ([]Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := f.msgs[conv] // in Seq order: add numbers them 1, 2, 3…
	end := len(ms)
	if before > 0 {
		end = sort.Search(len(ms), func(i int) bool { return ms[i].Seq >= before })
	}
	return slices.Clone(ms[max(0, end-limit):end]), nil
}

func (f *fakeMessenger) Message(id string) (Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.msgs {
		for _, m := range ms {
			if m.ID == id {
				return m, nil
			}
		}
	}
	return Message{}, fmt.Errorf("message %q: not found", id)
}

func (f *fakeMessenger) Connect(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.reachable[addr] {
		return fmt.Errorf("connect %s: %w", addr, ErrServerUnreachable)
	}
	f.status = ConnStatus{State: sync.StateConnecting, Server: addr}
	return nil
}

func (f *fakeMessenger) SignIn(user, pass string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signInCalls++
	// The server's checks of a hello (wire.Hello.Validate).
	h := wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthLogin, Username: user, Password: pass}}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("sign in %s: %w", user, err)
	}
	if p, ok := f.accounts[user]; !ok || p != pass {
		return fmt.Errorf("sign in %s: %w", user, ErrWrongPassword)
	}
	f.status.User, f.status.State = user, sync.StateOnline
	return nil
}

func (f *fakeMessenger) SignUp(user, pass string) error {
	f.mu.Lock()
	h := wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthRegister, Username: user, Password: pass}}
	if err := h.Validate(); err != nil {
		f.signInCalls++
		f.mu.Unlock()
		return fmt.Errorf("sign up %s: %w", user, err)
	}
	if _, ok := f.accounts[user]; ok {
		f.mu.Unlock()
		return fmt.Errorf("sign up %s: %w", user, ErrUsernameTaken)
	}
	f.accounts[user] = pass
	f.mu.Unlock()
	return f.SignIn(user, pass)
}

func (f *fakeMessenger) SignOut() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.User = ""
	return nil
}

func (f *fakeMessenger) add(m Message) Message {
	f.nextID++
	if m.ID == "" {
		m.ID = fmt.Sprintf("m%03d", f.nextID)
	}
	if m.Created.IsZero() {
		m.Created = f.now.Add(time.Duration(f.nextID) * time.Minute)
	}
	m.Seq = int64(len(f.msgs[m.Conversation]) + 1)
	f.msgs[m.Conversation] = append(f.msgs[m.Conversation], m)
	return m
}

func (f *fakeMessenger) put(m Message) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(m)
}

func (f *fakeMessenger) update(id string, fn func(*Message)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.msgs {
		for i := range ms {
			if ms[i].ID == id {
				fn(&ms[i])
			}
		}
	}
}

func (f *fakeMessenger) SendText(conv, text string) (Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(Message{Conversation: conv, SenderName: f.status.User, Mine: true, Kind: sync.KindText, Text: text, State: sync.StateComplete, Pending: true}), nil
}

func (f *fakeMessenger) MarkListened(id string, pos time.Duration, done bool) error {
	f.update(id, func(m *Message) { m.Position = pos; m.Listened = m.Listened || done })
	return nil
}

func (f *fakeMessenger) MarkSeen(conv string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seenCalls++
	for i, m := range f.msgs[conv] {
		if m.Kind == sync.KindText && !m.Mine {
			f.msgs[conv][i].Listened = true
		}
	}
	return nil
}

func (f *fakeMessenger) CreateDirect(user string) (Conversation, error) {
	return f.CreateGroup(user, []string{user})
}

func (f *fakeMessenger) CreateGroup(title string, members []string) (Conversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kind := sync.ConversationGroup
	if len(members) == 1 && title == members[0] {
		kind = sync.ConversationDirect
	}
	ids := []string{"u-a"}
	for _, name := range members {
		found := ""
		for _, p := range f.people.users {
			if p.Name == name && name != f.people.createFails {
				found = p.ID
			}
		}
		if found == "" {
			// What app/ returns when the directory has no such name.
			return Conversation{}, fmt.Errorf("create conversation: %w", &InputError{Field: FieldMembers, Problem: ProblemUnknown, Value: name})
		}
		ids = append(ids, found)
	}
	c := Conversation{ID: fmt.Sprintf("c%d", len(f.convs)), Title: title, Name: title, Kind: kind}
	f.convs = append(f.convs, c)
	f.people.members[c.ID] = ids
	return c, nil
}

func (f *fakeMessenger) ExportOpus(id string, w io.Writer) error {
	if _, err := f.Message(id); err != nil {
		return err
	}
	_, err := io.WriteString(w, "OggS")
	return err
}

// fakeRecorder records transmissions into the fake messenger, as the real
// recorder does through the sync outbox.
type fakeRecorder struct {
	m        *fakeMessenger
	level    float32
	noMic    bool
	current  string
	started  int
	sent     []string
	canceled []string
}

func (r *fakeRecorder) Start(conv string) (string, error) {
	if r.noMic {
		return "", fmt.Errorf("open capture device: %w", ErrNoMicrophone)
	}
	if r.current != "" {
		return "", errors.New("already recording")
	}
	msg := r.m.put(Message{Conversation: conv, SenderName: "alice", Mine: true, Kind: sync.KindVoice, State: sync.StateRecording})
	r.current = msg.ID
	r.started++
	r.level = 0.6
	return msg.ID, nil
}

func (r *fakeRecorder) Stop() error {
	if r.current == "" {
		return errors.New("not recording")
	}
	r.m.update(r.current, func(m *Message) {
		m.State, m.Pending = sync.StateComplete, true
		m.Duration = 3 * time.Second
		m.Waveform = testWave(40)
	})
	r.sent = append(r.sent, r.current)
	r.current = ""
	return nil
}

func (r *fakeRecorder) Cancel() error {
	if r.current == "" {
		return errors.New("not recording")
	}
	r.m.update(r.current, func(m *Message) { m.State = sync.StateAbandoned })
	r.canceled = append(r.canceled, r.current)
	r.current = ""
	return nil
}

func (r *fakeRecorder) Level() float32 { return r.level }

// fakePlayer keeps the state a real player reports; tests move its clock.
type fakePlayer struct {
	pb    Playback
	calls []string
}

func (p *fakePlayer) Play(id string, from time.Duration, speed float64) error {
	p.pb = Playback{Message: id, State: PlayPlaying, Position: max(from, 0), Speed: speed}
	p.calls = append(p.calls, fmt.Sprintf("play %s from %v at %v", id, from, speed))
	return nil
}

func (p *fakePlayer) Pause() error {
	p.pb.State = PlayPaused
	p.calls = append(p.calls, "pause")
	return nil
}

func (p *fakePlayer) Seek(pos time.Duration) error {
	p.pb.Position = pos
	p.calls = append(p.calls, fmt.Sprintf("seek %v", pos))
	return nil
}

func (p *fakePlayer) SetSpeed(s float64) error {
	p.pb.Speed = s
	p.calls = append(p.calls, fmt.Sprintf("speed %v", s))
	return nil
}

func (p *fakePlayer) Playback() Playback { return p.pb }

type fakeDiscovery struct{ servers []Server }

func (d *fakeDiscovery) Servers() []Server { return slices.Clone(d.servers) }

type fakeHost struct {
	running bool
}

func (h *fakeHost) Running() bool { return h.running }
func (h *fakeHost) Address() string {
	if h.running {
		return "127.0.0.1:7420"
	}
	return ""
}
func (h *fakeHost) Start() error { h.running = true; return nil }
func (h *fakeHost) Stop() error  { h.running = false; return nil }

type memSettings struct{ p Prefs }

func (s *memSettings) Load() Prefs        { return s.p }
func (s *memSettings) Save(p Prefs) error { s.p = p; return nil }

func testWave(n int) []byte {
	w := make([]byte, n)
	for i := range w {
		w[i] = byte(51 + 178*((i*37)%11)/10)
	}
	return w
}

// named sets Name as sync does for a conversation with a title.
func named(c Conversation) Conversation {
	if c.Name == "" {
		c.Name = c.Title
	}
	return c
}

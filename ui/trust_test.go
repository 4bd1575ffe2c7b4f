package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

// trustMessenger is the fake messenger with pinning: Connect refuses a
// server whose presented fingerprint is not the pinned one, as the app's
// messenger does, and only TrustServer changes the pin.
type trustMessenger struct {
	*fakeMessenger
	pinned, presented string // full fingerprints
	accepted          []string
}

// short is wire.Fingerprint.Short for the fake's text fingerprints.
func short(fp string) string {
	h := strings.ToUpper(fp[len("SHA256:") : len("SHA256:")+24])
	var groups []string
	for i := 0; i < len(h); i += 4 {
		groups = append(groups, h[i:i+4])
	}
	return strings.Join(groups, " ")
}

func (m *trustMessenger) Connect(addr string) error {
	if m.pinned != m.presented {
		return fmt.Errorf("connect %s: %w", addr, &CertificateChangedError{Address: addr, Pinned: short(m.pinned),
			Presented: short(m.presented), Fingerprint: m.presented, Err: errors.New("pinned certificate differs")})
	}
	return m.fakeMessenger.Connect(addr)
}

func (m *trustMessenger) ServerFingerprint(string) string { return short(m.pinned) }

func (m *trustMessenger) TrustServer(addr, fp string) error {
	m.accepted = append(m.accepted, addr+" "+fp)
	m.pinned = fp
	return nil
}

func newTrustHarness(t *testing.T) (*UI, *trustMessenger) {
	t.Helper()
	a := test.NewTempApp(t)
	m := &trustMessenger{fakeMessenger: newFakeMessenger(),
		pinned:    "SHA256:3f2a9c1b77d0e4a251c80b6e" + strings.Repeat("0", 40),
		presented: "SHA256:c41d07e2a98b5f3360e1d7aa" + strings.Repeat("0", 40)}
	u := newUI(a, Deps{Messenger: m, Recorder: &fakeRecorder{m: m.fakeMessenger}, Player: &fakePlayer{},
		Discovery: &fakeDiscovery{}, Host: &fakeHost{}, Settings: &memSettings{p: DefaultPrefs()}, MaxTalk: time.Minute},
		func(f func()) { f() })
	u.win.Resize(fyne.NewSize(900, 620))
	t.Cleanup(u.Close)
	close(u.hintsDone)
	return u, m
}

// overlayButton finds the button labelled text in the window's top overlay.
func overlayButton(t *testing.T, u *UI, text string) *widget.Button {
	t.Helper()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog is open")
	}
	for _, o := range test.LaidOutObjects(top) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no %q button in the open dialog", text)
	return nil
}

// overlayText is every label's text in the top overlay.
func overlayText(u *UI) string {
	var b strings.Builder
	if top := u.win.Canvas().Overlays().Top(); top != nil {
		for _, o := range test.LaidOutObjects(top) {
			if l, ok := o.(*widget.Label); ok {
				b.WriteString(l.Text + "\n")
			}
		}
	}
	return b.String()
}

func TestTrustPrompt(t *testing.T) {
	tests := []struct {
		name         string
		button       string
		wantAccepted int
		wantScreen   string
	}{
		{"accept re-pins and connects", "Trust the new certificate", 1, "signin"},
		{"cancel keeps the pin", "Cancel", 0, "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, m := newTrustHarness(t)
			u.connect.address.SetText("10.0.0.5:7420")
			test.Tap(u.connect.connect)
			if !u.trustOpen {
				t.Fatalf("no trust prompt after a changed certificate (banner %q)", u.banner.Text)
			}
			if !strings.Contains(u.banner.Text, "certificate changed") {
				t.Errorf("banner %q does not say the certificate changed", u.banner.Text)
			}
			text := overlayText(u)
			for _, want := range []string{"10.0.0.5:7420", "3F2A 9C1B 77D0 E4A2 51C8 0B6E", "C41D 07E2 A98B 5F33 60E1 D7AA", "Nothing was sent"} {
				if !strings.Contains(text, want) {
					t.Errorf("prompt does not show %q:\n%s", want, text)
				}
			}
			if tc.name == "accept re-pins and connects" {
				test.AssertImageMatches(t, "trust_prompt.png", u.win.Canvas().Capture())
			}
			test.Tap(overlayButton(t, u, tc.button))
			if len(m.accepted) != tc.wantAccepted {
				t.Fatalf("TrustServer calls %v, want %d", m.accepted, tc.wantAccepted)
			}
			if tc.wantAccepted > 0 && m.accepted[0] != "10.0.0.5:7420 "+m.presented {
				t.Errorf("TrustServer(%s), want the address and the presented fingerprint", m.accepted[0])
			}
			if u.screen != tc.wantScreen {
				t.Errorf("screen %q after %q, want %q", u.screen, tc.button, tc.wantScreen)
			}
			if u.trustOpen {
				t.Errorf("prompt still marked open")
			}
			if tc.wantScreen == "signin" && !strings.Contains(u.signIn.server.Text, "C41D 07E2 A98B 5F33 60E1 D7AA") {
				t.Errorf("sign-in screen shows %q, want the new pinned fingerprint", u.signIn.server.Text)
			}
		})
	}
}

// TestTrustPromptFromStatus: an account stopped by a changed certificate
// prompts once through the connection status; after Cancel the same
// certificate does not prompt again on every status hint.
func TestTrustPromptFromStatus(t *testing.T) {
	u, m := newTrustHarness(t)
	m.status = ConnStatus{State: sync.StateStopped, Server: "10.0.0.5:7420",
		Err: &CertificateChangedError{Address: "10.0.0.5:7420", Pinned: short(m.pinned), Presented: short(m.presented),
			Fingerprint: m.presented, Err: errors.New("x")}}
	u.handleHint(Hint{Kind: HintConnection})
	if !u.trustOpen {
		t.Fatalf("no prompt for a stopped account's changed certificate")
	}
	test.Tap(overlayButton(t, u, "Cancel"))
	u.handleHint(Hint{Kind: HintConnection})
	if u.trustOpen {
		t.Errorf("prompted again for the certificate the user just declined")
	}
}

func TestHostAndDiscoveryShowFingerprints(t *testing.T) {
	u, _ := newTrustHarness(t)
	u.d.Host = &fingerprintHost{fakeHost: &fakeHost{}}
	test.Tap(u.connect.host)
	if !strings.Contains(u.connect.status.Text, "Fingerprint: 3F2A 9C1B") {
		t.Errorf("host status %q does not show the fingerprint", u.connect.status.Text)
	}
	u.d.Discovery = &fakeDiscovery{servers: []Server{{Name: "Office", Address: "10.0.0.5:7420", Fingerprint: "C41D 07E2 A98B 5F33 60E1 D7AA"}}}
	u.handleHint(Hint{Kind: HintServers})
	row := u.connect.list.CreateItem()
	u.connect.list.UpdateItem(0, row)
	found := false
	for _, o := range test.LaidOutObjects(row) {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "C41D 07E2 A98B 5F33 60E1 D7AA") {
			found = true
		}
	}
	if !found {
		t.Errorf("discovered server row does not show its fingerprint")
	}
	test.AssertImageMatches(t, "connect_fingerprints.png", u.win.Canvas().Capture())
}

type fingerprintHost struct{ *fakeHost }

func (h *fingerprintHost) Fingerprint() string {
	if h.running {
		return "3F2A 9C1B 77D0 E4A2 51C8 0B6E"
	}
	return ""
}

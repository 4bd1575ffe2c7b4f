package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"parley/sync"
)

func TestDevicesScreen(t *testing.T) {
	h := newHarness(t, true)
	h.u.showSettings()
	h.u.showDevices()
	s := h.u.devices
	if h.u.screen != "devices" || len(s.devices) != 3 {
		t.Fatalf("screen %q with %d devices, want devices with 3", h.u.screen, len(s.devices))
	}
	cases := []struct {
		id, seen string
	}{
		{"d1", "Signed in 2026-01-05 · in use now"},
		{"d2", "Signed in 2026-02-01 · last seen 2026-03-13 17:45"},
		{"d3", "Signed in 2025-11-02 · not seen since"},
	}
	for i, c := range cases {
		if got := deviceSeen(s.devices[i]); s.devices[i].ID != c.id || got != c.seen {
			t.Errorf("row %d = %s %q, want %s %q", i, s.devices[i].ID, got, c.id, c.seen)
		}
	}
	test.AssertImageMatches(t, "devices.png", h.u.win.Canvas().Capture())

	s.revoke(s.devices[1])
	if len(s.devices) != 2 || s.devices[1].ID != "d3" {
		t.Errorf("after revoking d2: %+v", s.devices)
	}
	s.revoke(SignedInDevice{ID: "gone"})
	if got := h.bannerText(); got != "That no longer exists on the server." {
		t.Errorf("banner after revoking an unknown device = %q", got)
	}

	// Offline, the screen says so in words and lists nothing stale.
	h.m.status.State = sync.StateOffline
	h.u.showError(nil)
	s.reload()
	if got := h.bannerText(); got != "This needs the server, which can't be reached right now. Try again when connected." {
		t.Errorf("banner offline = %q", got)
	}
}

// TestRevokedDeviceToldWhy: when the server signs this device out, the
// sign-in screen opens and says why.
func TestRevokedDeviceToldWhy(t *testing.T) {
	h := newHarness(t, true)
	h.m.status = ConnStatus{State: sync.StateStopped, Server: "10.0.0.5:7420", Err: ErrRevoked}
	h.u.handleHint(Hint{Kind: HintConnection})
	if h.u.screen != "signin" {
		t.Fatalf("screen = %q, want signin", h.u.screen)
	}
	if got, want := h.bannerText(), "This device was signed out from another of your devices. Sign in again to use it."; got != want {
		t.Errorf("banner = %q, want %q", got, want)
	}
}

package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/server/wire"
)

// TestMain makes loopback multicast-capable: these tests use only "lo",
// never a real interface.
func TestMain(m *testing.M) {
	if out, err := exec.Command("ip", "link", "set", "lo", "multicast", "on").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "discovery tests need multicast on lo and could not enable it "+
			"(run as root: ip link set lo multicast on): %v: %s\n", err, out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestInterfacesConfig(t *testing.T) {
	tests := []struct {
		name    string
		ifaces  []string
		wantErr error
		errText string
	}{
		{"empty disables", nil, ErrDisabled, ""},
		{"blank disables", []string{" "}, ErrDisabled, ""},
		{"off disables", []string{"off"}, ErrDisabled, ""},
		{"OFF disables", []string{"OFF"}, ErrDisabled, ""},
		{"unknown interface", []string{"nosuch0"}, nil, "nosuch0"},
		{"loopback", []string{"lo"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Config{Interfaces: tc.ifaces}.interfaces()
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("err = %v, want one naming %q", err, tc.errText)
				}
			default:
				if err != nil {
					t.Errorf("err = %v", err)
				}
			}
		})
	}
	if _, err := Browse(context.Background(), Config{}); !errors.Is(err, ErrDisabled) {
		t.Errorf("Browse with no interfaces = %v, want ErrDisabled", err)
	}
	if _, err := Advertise(Config{Name: "x", Port: 1, Interfaces: []string{"off"}}); !errors.Is(err, ErrDisabled) {
		t.Errorf("Advertise off = %v, want ErrDisabled", err)
	}
}

func TestAdvertiseAndBrowseOnLoopback(t *testing.T) {
	before := runtime.NumGoroutine()
	name := fmt.Sprintf("Parley test %d", rand.Uint32())
	port := 40000 + rand.IntN(20000)
	fp := wire.CertFingerprint([]byte(name))
	ad, err := Advertise(Config{Name: name, Port: port, Text: []string{"protocol=1"}, Fingerprint: fp, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatalf("Advertise: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	list, err := Browse(ctx, Config{Interfaces: []string{"lo"}, Round: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	find := func(l []Server) (Server, bool) {
		for _, s := range l {
			if s.Name == name {
				return s, true
			}
		}
		return Server{}, false
	}
	timeout := time.After(20 * time.Second)
	var got Server
	for found := false; !found; {
		select {
		case l := <-list:
			got, found = find(l)
		case <-timeout:
			t.Fatalf("server %q not found on lo", name)
		}
	}
	if got.Port != port || len(got.Addrs) == 0 || !got.Addrs[0].IsLoopback() || !strings.HasSuffix(got.Address(), fmt.Sprint(port)) {
		t.Errorf("found %+v (address %s), want port %d on a loopback address", got, got.Address(), port)
	}
	if len(got.Text) == 0 || got.Text[0] != "protocol=1" {
		t.Errorf("text = %v", got.Text)
	}
	if got.Fingerprint != fp {
		t.Errorf("fingerprint = %q (text %v), want %q", got.Fingerprint, got.Text, fp)
	}
	// Withdrawn: it leaves the list.
	ad.Close()
	for gone := false; !gone; {
		select {
		case l := <-list:
			_, still := find(l)
			gone = !still
		case <-timeout:
			t.Fatalf("server %q still listed after Close", name)
		}
	}
	cancel()
	for range list { // closed once the browser stopped
	}
	// Every goroutine of the browser and the advertisement is gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // zeroconf's readers exit after their sockets close
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after stop, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestParseInterfaces(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"off", "off", nil},
		{"empty", "", nil},
		{"one", "lo", []string{"lo"}},
		{"list", " eth0, wlan0 ,", []string{"eth0", "wlan0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseInterfaces(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("ParseInterfaces(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	for _, name := range ParseInterfaces("auto") {
		if name == "lo" {
			t.Errorf("auto includes loopback")
		}
	}
}

func TestTextFingerprint(t *testing.T) {
	fp := wire.CertFingerprint([]byte("x"))
	tests := []struct {
		name string
		text []string
		want wire.Fingerprint
	}{
		{"none", []string{"protocol=1"}, wire.Fingerprint{}},
		{"present", []string{"protocol=1", "fp=" + fp.String()}, fp},
		{"unreadable", []string{"fp=SHA256:zz"}, wire.Fingerprint{}},
		{"other key with the prefix", []string{"fpx=" + fp.String()}, wire.Fingerprint{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := textFingerprint(tc.text); got != tc.want {
				t.Errorf("textFingerprint(%v) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

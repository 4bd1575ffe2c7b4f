package app

import (
	"errors"
	"flag"
	"io"
	"testing"

	"parley/sync"
	"parley/ui"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"host and port", "192.168.1.20:7420", "192.168.1.20:7420"},
		{"default port", "192.168.1.20", "192.168.1.20:7447"},
		{"websocket URL", "ws://example.lan:9000/v1/ws", "example.lan:9000"},
		{"http URL", "http://example.lan:9000/", "example.lan:9000"},
		{"secure websocket URL", "wss://example.lan:9000/v1/ws", "example.lan:9000"},
		{"https URL", "https://example.lan:9000/", "example.lan:9000"},
		{"spaces", "  10.0.0.5:1  ", "10.0.0.5:1"},
		{"IPv6", "[::1]:7447", "[::1]:7447"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeAddress(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("normalizeAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := normalizeAddress(" "); err == nil {
		t.Error("empty address: no error")
	}
}

func TestUserError(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{sync.ErrAuthFailed, ui.ErrWrongPassword},
		{sync.ErrUsernameTaken, ui.ErrUsernameTaken},
		{sync.ErrServerUnreachable, ui.ErrServerUnreachable},
	}
	for _, tt := range tests {
		if got := userError(tt.err); !errors.Is(got, tt.want) || !errors.Is(got, tt.err) {
			t.Errorf("userError(%v) = %v, want it to wrap %v and the cause", tt.err, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{"PARLEY_MDNS_INTERFACES": "lo", "PARLEY_HOST_PORT": "9000", "PARLEY_AUDIO": "null"}
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, err := ParseFlags(fs, []string{"-host", "-port", "9100"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.MDNSInterfaces != "lo" || !c.Host || c.HostPort != 9100 || c.Audio != "null" || c.RotateCert {
		t.Errorf("config = %+v", c)
	}
	fs = flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rotating := func(k string) string { return map[string]string{"PARLEY_ROTATE_CERT": "1"}[k] }
	if c, err := ParseFlags(fs, []string{"-rotate-cert"}, rotating); err != nil || !c.RotateCert {
		t.Errorf("-rotate-cert: RotateCert %v, %v", c.RotateCert, err)
	}
	fs = flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c, _ := ParseFlags(fs, nil, rotating); c.RotateCert {
		t.Errorf("an environment variable turned rotation on; only the flag may")
	}
	fs = flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := ParseFlags(fs, []string{"-audio", "jack"}, func(string) string { return "" }); err == nil {
		t.Error("-audio jack: no error")
	}
}

package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"parley/audio"
)

// AppID is the application id, as in FyneApp.toml.
const AppID = "net.parley.app"

// DefaultHostPort is the port of a hosted server unless the preference or
// -port says otherwise.
const DefaultHostPort = 7447

// Config is what the command line and the environment decide. Every field
// has a flag and an environment variable (flag wins); zero values select
// the defaults.
type Config struct {
	// DataDir holds the hosted server's database (server/), one sync store
	// per server and account (accounts/) and, when set explicitly, the
	// preferences too (config/), so that one folder is one complete profile.
	// Default: the Fyne app's storage folder.
	DataDir string
	// MDNSInterfaces limits mDNS (advertising and browsing) to these
	// network interfaces: "auto" (every up, multicast-capable, non-loopback
	// interface), "off", or a comma-separated list such as "lo" or "eth0".
	MDNSInterfaces string
	// Host turns the "Host a server" preference on at start.
	Host bool
	// HostAddr is the IP the hosted server listens on ("" = all).
	HostAddr string
	// HostPort overrides the hosted server's port preference.
	HostPort int
	// RotateCert replaces the hosted server's TLS key and certificate when
	// it starts; clients that pinned the old one warn until accepted. It is
	// the one flag without an environment variable: a variable left set
	// would rotate at every start.
	RotateCert bool
	// Server, User and Password sign in at start (SignUp creates the
	// account if missing); Server defaults to the hosted server with Host.
	Server, User, Password string
	SignUp                 bool
	// Audio selects the audio system: auto, pulse, alsa or null.
	Audio string
	// ReportStartup prints, once the first conversation is on screen, how
	// long start-up took and the resident memory.
	ReportStartup bool
	// LogLevel is debug, info, warn (default) or error.
	LogLevel string
	// Trace collects the per-stage latency trace of the live path and
	// prints it to stderr ("parley: trace: stage=… n=… p50=…ms p95=…ms")
	// after each live message and at exit.
	Trace bool
}

// ParseFlags reads the configuration from args and the environment
// (getenv). It returns flag.ErrHelp for -help.
func ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	envBool := func(key string) bool {
		b, _ := strconv.ParseBool(getenv(key))
		return b
	}
	port, _ := strconv.Atoi(getenv("PARLEY_HOST_PORT"))
	var c Config
	fs.StringVar(&c.DataDir, "data", env("PARLEY_DATA", ""), "data folder: hosted server, account caches and preferences (PARLEY_DATA)")
	fs.StringVar(&c.MDNSInterfaces, "mdns", env("PARLEY_MDNS_INTERFACES", "auto"), `mDNS interfaces: "auto", "off" or a list such as "eth0,wlan0" (PARLEY_MDNS_INTERFACES)`)
	fs.BoolVar(&c.Host, "host", envBool("PARLEY_HOST"), "host a server on this computer (PARLEY_HOST)")
	fs.StringVar(&c.HostAddr, "host-addr", env("PARLEY_HOST_ADDR", ""), "IP the hosted server listens on, default all (PARLEY_HOST_ADDR)")
	// No environment variable: one left set would rotate at every start.
	fs.BoolVar(&c.RotateCert, "rotate-cert", false, "replace the hosted server's TLS certificate (clients that trusted the old one will warn)")
	fs.IntVar(&c.HostPort, "port", port, fmt.Sprintf("port of the hosted server, default the saved one or %d (PARLEY_HOST_PORT)", DefaultHostPort))
	fs.StringVar(&c.Server, "server", env("PARLEY_SERVER", ""), "server host:port to sign in to at start (PARLEY_SERVER)")
	fs.StringVar(&c.User, "user", env("PARLEY_USER", ""), "username to sign in with at start (PARLEY_USER)")
	fs.StringVar(&c.Password, "password", env("PARLEY_PASSWORD", ""), "password for -user (PARLEY_PASSWORD)")
	fs.BoolVar(&c.SignUp, "signup", envBool("PARLEY_SIGNUP"), "create the -user account if it does not exist (PARLEY_SIGNUP)")
	fs.StringVar(&c.Audio, "audio", env("PARLEY_AUDIO", "auto"), "audio system: auto, pulse, alsa or null (PARLEY_AUDIO)")
	fs.BoolVar(&c.ReportStartup, "report-startup", envBool("PARLEY_REPORT_STARTUP"), "print start-up time and memory once usable (PARLEY_REPORT_STARTUP)")
	fs.StringVar(&c.LogLevel, "log-level", env("PARLEY_LOG_LEVEL", "warn"), "debug, info, warn or error (PARLEY_LOG_LEVEL)")
	fs.BoolVar(&c.Trace, "trace", envBool("PARLEY_TRACE"), "print the live path's per-stage latency (p50/p95) after each live message and at exit (PARLEY_TRACE)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if _, err := c.backend(); err != nil {
		fmt.Fprintln(fs.Output(), err)
		return Config{}, err
	}
	if c.HostPort < 0 || c.HostPort > 65535 {
		err := fmt.Errorf("-port %d: out of range", c.HostPort)
		fmt.Fprintln(fs.Output(), err)
		return Config{}, err
	}
	return c, nil
}

func (c Config) backend() (audio.Backend, error) {
	switch strings.ToLower(c.Audio) {
	case "", "auto":
		return audio.BackendAuto, nil
	case "pulse", "pulseaudio":
		return audio.BackendPulseAudio, nil
	case "alsa":
		return audio.BackendALSA, nil
	case "null", "none":
		return audio.BackendNull, nil
	}
	return 0, fmt.Errorf("-audio %q: want auto, pulse, alsa or null", c.Audio)
}

func (c Config) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// paths are the app's folders inside the data folder.
type paths struct {
	root     string
	server   string // the hosted server's database folder
	accounts string // one sync store per server and account
}

func newPaths(root string) (paths, error) {
	if root == "" {
		return paths{}, errors.New("no data folder")
	}
	p := paths{root: root, server: filepath.Join(root, "server"), accounts: filepath.Join(root, "accounts")}
	for _, d := range []string{p.server, p.accounts} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return paths{}, fmt.Errorf("create data folder %q: %w", d, err)
		}
	}
	return p, nil
}

// isolatePreferences points Fyne's preferences into dir/config, so that an
// explicit data folder is a complete profile (two instances on one machine
// each get their own). Fyne finds its config folder with
// os.UserConfigDir, which reads these variables.
func isolatePreferences(dir string) error {
	cfg := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return fmt.Errorf("create preferences folder %q: %w", cfg, err)
	}
	for _, v := range []string{"XDG_CONFIG_HOME", "AppData"} {
		if err := os.Setenv(v, cfg); err != nil {
			return fmt.Errorf("set %s: %w", v, err)
		}
	}
	return nil
}

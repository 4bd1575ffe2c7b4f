// Package discovery finds Parley servers on the local network with mDNS
// (DNS-SD service _parley._tcp) and lets a server advertise itself.
//
// Both sides are limited to the network interfaces named in Config: an
// empty list or "off" disables discovery, so nothing is ever sent on an
// interface the user did not choose (tests use only "lo", after
// `ip link set lo multicast on`).
//
// A server's TXT record carries its TLS certificate's fingerprint
// (wire.TXTFingerprint), so that a browser can show it before anyone
// connects. It is a hint for the person comparing, not a proof: anyone on
// the network can answer mDNS, which is why clients pin on first use.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/zeroconf/v2"

	"parley/server/wire"
)

// Service is the DNS-SD service type of a Parley server.
const Service = "_parley._tcp"

// domain is the mDNS domain.
const domain = "local."

// defaultRound is how long one browse round listens; a server missing
// from two rounds in a row is dropped from the list.
const defaultRound = 10 * time.Second

// ttlSeconds is the TTL of advertised records.
const ttlSeconds = 120

// ErrDisabled is returned when Config.Interfaces is empty or "off".
var ErrDisabled = errors.New("discovery disabled")

// Config configures Advertise and Browse.
type Config struct {
	// Name is the advertised instance name (Advertise only).
	Name string
	// Port is the server's TCP port (Advertise only).
	Port int
	// Text holds extra TXT records, "key=value" (Advertise only).
	Text []string
	// Fingerprint is the server's TLS certificate fingerprint, advertised
	// as the TXT record "fp=SHA256:…" (Advertise only; zero: none).
	Fingerprint wire.Fingerprint
	// Interfaces names the network interfaces to use, e.g. ["eth0"] or
	// ["lo"]. Empty or ["off"] disables discovery.
	Interfaces []string
	// Round is how long one browse round listens (Browse only; default
	// 10 s). Servers that stop answering vanish after two rounds.
	Round time.Duration
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Server is a Parley server found on the network.
type Server struct {
	Name  string   // instance name
	Host  string   // mDNS host name
	Port  int      // TCP port
	Addrs []net.IP // IPv4 first, then IPv6
	Text  []string // TXT records
	// Fingerprint is the TLS fingerprint the server advertises (zero if
	// its record has none or an unreadable one).
	Fingerprint wire.Fingerprint
}

// Address returns host:port for the server's first address (or its host
// name when it has none).
func (s Server) Address() string {
	host := strings.TrimSuffix(s.Host, ".")
	if len(s.Addrs) > 0 {
		host = s.Addrs[0].String()
	}
	return net.JoinHostPort(host, strconv.Itoa(s.Port))
}

// Interfaces resolves Config.Interfaces: ErrDisabled for empty or "off",
// an error for an unknown interface or one that is down or has no
// multicast.
func (c Config) interfaces() ([]net.Interface, error) {
	names := slices.DeleteFunc(slices.Clone(c.Interfaces), func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(names) == 0 || (len(names) == 1 && strings.EqualFold(names[0], "off")) {
		return nil, ErrDisabled
	}
	var ifs []net.Interface
	for _, name := range names {
		ifi, err := net.InterfaceByName(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("discovery interface %q: %w", name, err)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("discovery interface %q is down", name)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("discovery interface %q has no multicast (for lo: ip link set lo multicast on)", name)
		}
		ifs = append(ifs, *ifi)
	}
	return ifs, nil
}

// Advertisement is a running advertisement; Close withdraws it.
type Advertisement struct {
	zs *zeroconf.Server
}

// Advertise announces a server on the configured interfaces until Close.
func Advertise(cfg Config) (*Advertisement, error) {
	ifs, err := cfg.interfaces()
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" || cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("advertise: need a name and a port (got %q, %d)", cfg.Name, cfg.Port)
	}
	// zeroconf.Register skips loopback addresses; list the chosen
	// interfaces' addresses ourselves so that "lo" works as well.
	var ips []string
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("advertise: addresses of %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && (ipn.IP.To4() != nil || !ipn.IP.IsLinkLocalUnicast()) {
				ips = append(ips, ipn.IP.String())
			}
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("advertise: interfaces %v have no address", cfg.Interfaces)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "parley"
	}
	text := slices.Clone(cfg.Text)
	if !cfg.Fingerprint.IsZero() {
		text = append(text, wire.TXTFingerprint+"="+cfg.Fingerprint.String())
	}
	zs, err := zeroconf.RegisterProxy(cfg.Name, Service, domain, cfg.Port, host, ips, text, ifs, zeroconf.TTL(ttlSeconds))
	if err != nil {
		return nil, fmt.Errorf("advertise %q on %v: %w", cfg.Name, cfg.Interfaces, err)
	}
	return &Advertisement{zs: zs}, nil
}

// Close withdraws the advertisement (a goodbye packet) and waits for its
// goroutines. It is idempotent.
func (a *Advertisement) Close() error {
	a.zs.Shutdown()
	return nil
}

// Browse looks for servers on the configured interfaces until ctx ends.
// The channel carries the full current list (sorted by name) each time it
// changes; a slow reader only ever gets the latest list. It is closed
// when ctx ends and the browser has stopped.
func Browse(ctx context.Context, cfg Config) (<-chan []Server, error) {
	ifs, err := cfg.interfaces()
	if err != nil {
		return nil, err
	}
	if cfg.Round <= 0 {
		cfg.Round = defaultRound
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := make(chan []Server, 1)
	go browse(ctx, cfg.Round, ifs, log, out)
	return out, nil
}

// seen is a server and the rounds it was last seen in.
type seen struct {
	srv   Server
	round int
}

func browse(ctx context.Context, round time.Duration, ifs []net.Interface, log *slog.Logger, out chan []Server) {
	defer close(out)
	known := map[string]seen{}
	var last []Server
	publish := func() {
		list := make([]Server, 0, len(known))
		for _, s := range known {
			list = append(list, s.srv)
		}
		slices.SortFunc(list, func(a, b Server) int { return strings.Compare(a.Name+a.Host, b.Name+b.Host) })
		if equalLists(list, last) {
			return
		}
		last = list
		select { // keep only the latest list
		case <-out:
		default:
		}
		out <- list
	}
	for n := 0; ctx.Err() == nil; n++ {
		rctx, cancel := context.WithTimeout(ctx, round)
		entries := make(chan *zeroconf.ServiceEntry)
		errc := make(chan error, 1)
		go func() {
			errc <- zeroconf.Browse(rctx, Service, domain, entries,
				zeroconf.SelectIfaces(ifs), zeroconf.SelectIPTraffic(zeroconf.IPv4))
		}()
		var err error
	recv:
		for {
			select {
			case e, ok := <-entries: // closed by zeroconf when rctx ends
				if !ok {
					err = <-errc
					break recv
				}
				s := toServer(e)
				known[s.Name+"\x00"+s.Host] = seen{srv: s, round: n}
				publish()
			case err = <-errc: // failed before browsing, or done
				break recv
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("mDNS browse failed", "err", err)
			if !sleep(ctx, round) {
				return
			}
		}
		for k, s := range known {
			if s.round < n-1 {
				delete(known, k)
			}
		}
		publish()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func toServer(e *zeroconf.ServiceEntry) Server {
	s := Server{
		Name: strings.ReplaceAll(e.Instance, `\`, ""),
		Host: e.HostName,
		Port: e.Port,
		Text: slices.Clone(e.Text),
	}
	s.Addrs = append(append(s.Addrs, e.AddrIPv4...), e.AddrIPv6...)
	s.Fingerprint = textFingerprint(s.Text)
	return s
}

// textFingerprint reads the fingerprint record from TXT records.
func textFingerprint(text []string) wire.Fingerprint {
	for _, t := range text {
		if v, ok := strings.CutPrefix(t, wire.TXTFingerprint+"="); ok {
			if f, err := wire.ParseFingerprint(v); err == nil {
				return f
			}
		}
	}
	return wire.Fingerprint{}
}

func equalLists(a, b []Server) bool {
	return slices.EqualFunc(a, b, func(x, y Server) bool {
		return x.Name == y.Name && x.Host == y.Host && x.Port == y.Port &&
			slices.EqualFunc(x.Addrs, y.Addrs, net.IP.Equal) && slices.Equal(x.Text, y.Text)
	})
}

// ParseInterfaces turns a user's setting into Config.Interfaces: "off",
// "none" or "" disables discovery, "auto" means every interface that is up, has
// multicast and is not loopback, and anything else is a comma-separated
// list of interface names (e.g. "lo" or "eth0,wlan0").
func ParseInterfaces(setting string) []string {
	setting = strings.TrimSpace(setting)
	switch strings.ToLower(setting) {
	case "", "off", "none":
		return nil
	case "auto":
		ifs, err := net.Interfaces()
		if err != nil {
			return nil
		}
		var names []string
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagMulticast != 0 && ifc.Flags&net.FlagLoopback == 0 {
				names = append(names, ifc.Name)
			}
		}
		return names
	}
	var names []string
	for _, n := range strings.Split(setting, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

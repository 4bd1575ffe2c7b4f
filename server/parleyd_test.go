package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/server/discovery"
	"parley/server/wire"
)

// parleydBinary builds cmd/parleyd once per test run, pure Go.
func parleydBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parleyd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/parleyd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build parleyd with CGO_ENABLED=0: %v\n%s", err, out)
	}
	return bin
}

// proc is a running parleyd.
type proc struct {
	cmd         *exec.Cmd
	addr        string
	metricsAddr string           // set before addr is; "" without metrics
	pprofAddr   string           // the same for -pprof
	fingerprint wire.Fingerprint // as logged in the listening line
	done        chan struct{}    // closed when the process has exited
	err         error            // its exit status, set before done closes
}

func (p *proc) url() string { return "wss://" + p.addr + "/v1/ws" }

var (
	listening     = regexp.MustCompile(`parleyd listening.* addr=(\S+).* fingerprint=(SHA256:[0-9a-f]{64})`)
	metricsServed = regexp.MustCompile(`metrics served.* at=(\S+)`)
	pprofServed   = regexp.MustCompile(`pprof served.* at=(\S+)`)
)

// startParleyd starts the binary on a loopback port chosen by the kernel
// and waits for the line that says where it listens.
func startParleyd(t *testing.T, bin, data string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data, "-name", "test", "-log-level", "info", "-mdns", "off", "-metrics-addr", "127.0.0.1:0"))
}

// startCmd starts a parleyd command and waits until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start parleyd: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			t.Log("parleyd: " + line)
			if m := metricsServed.FindStringSubmatch(line); m != nil {
				p.metricsAddr = m[1] // logged before listening: read after addr
			}
			if m := pprofServed.FindStringSubmatch(line); m != nil {
				p.pprofAddr = m[1]
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case m := <-addr:
		p.addr = m[1]
		fp, err := wire.ParseFingerprint(m[2])
		if err != nil {
			t.Fatalf("listening line: %v", err)
		}
		p.fingerprint = fp
	case <-p.done:
		t.Fatalf("parleyd exited before listening: %v", p.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("parleyd did not listen within 30s")
	}
	return p
}

// TestParleydKilledMidMessage: the real binary is killed with SIGKILL
// while a message is being sent; after a restart on the same data every
// acked packet is there.
func TestParleydKilledMidMessage(t *testing.T) {
	bin := parleydBinary(t)
	data := t.TempDir()
	p := startParleyd(t, bin, data)
	a := register(t, p, "ana")
	b := register(t, p, "bo")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	bStream := liveStream(b, msg)
	for n := uint32(0); n < 300; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	// bo hears it live from the real binary.
	for n := uint32(0); n < 50; n++ {
		f := b.waitFor("live packet", func(f frame) bool { return f.bin != nil && f.bin.Stream == bStream })
		if f.bin.First != n || !bytes.Equal(f.bin.Packets[0], packetData(msg, n)) {
			t.Fatalf("bo's live packet %d: got number %d", n, f.bin.First)
		}
	}
	// Take the newest ack that has arrived by the time of the kill.
	acked := a.waitAck(msg, 100).Upto
	for _, f := range a.pending {
		if f.env != nil && f.env.Type == wire.TypeVoiceAck {
			if u := decodeAs[wire.VoiceAck](f.env).Upto; u > acked {
				acked = u
			}
		}
	}
	w := a.welcome
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	a.closeCode()
	for _, f := range a.pending { // acks that raced the kill count too
		if f.env != nil && f.env.Type == wire.TypeVoiceAck {
			if u := decodeAs[wire.VoiceAck](f.env).Upto; u > acked {
				acked = u
			}
		}
	}

	p2 := startParleyd(t, bin, data)
	a2 := reconnect(t, p2, w)
	st2 := a2.startVoice(lobby.ID, msg)
	if st2.Upto < acked {
		t.Fatalf("after SIGKILL the server has %d packets, but %d were acked", st2.Upto, acked)
	}
	t.Logf("acked %d before SIGKILL, %d stored after restart", acked, st2.Upto)
	for n := st2.Upto; n < 300; n++ {
		a2.sendPacket(st2.Stream, n, packetData(msg, n))
	}
	if st2.Upto < 300 {
		a2.waitAck(msg, 300)
	}
	a2.endVoice(msg, 300)
	as := call[wire.AudioStream](a2, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
	got, _ := a2.collectStream(as.Stream)
	checkPackets(t, "after SIGKILL", msg, got, 300)
}

// TestParleydGracefulShutdown: SIGTERM closes clients with going-away and
// the process exits 0.
func TestParleydGracefulShutdown(t *testing.T) {
	bin := parleydBinary(t)
	p := startParleyd(t, bin, t.TempDir())
	a := register(t, p, "ana")
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := a.closeCode(); code != wire.CloseGoingAway {
		t.Errorf("close code = %d, want %d", code, wire.CloseGoingAway)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("parleyd exit: %v", p.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("parleyd did not exit within 15s of SIGTERM")
	}
}

// TestParleydLinksNoGUI: parleyd's dependencies include no GUI, GL or
// audio package.
func TestParleydLinksNoGUI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/parleyd").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"fyne.io/", "github.com/gen2brain/malgo", "gopkg.in/hraban/opus", "github.com/go-gl/", "parley/audio", "parley/ui"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("parleyd links %s", dep)
			}
		}
	}
}

// TestParleydAdvertisesOnLoopback: parleyd with -mdns lo is found by a
// browser limited to lo (and nothing is sent on other interfaces), with
// its certificate's fingerprint in the TXT record.
func TestParleydAdvertisesOnLoopback(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil || lo.Flags&net.FlagMulticast == 0 {
		t.Fatalf("lo has no multicast; run `ip link set lo multicast on` (make test does): %v", err)
	}
	bin := parleydBinary(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-name", "advertised", "-mdns", "lo", "-metrics-addr", "off")
	p := startCmd(t, cmd)
	_, port, _ := net.SplitHostPort(p.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	found, err := discovery.Browse(ctx, discovery.Config{Interfaces: []string{"lo"}, Round: time.Second})
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	for list := range found {
		for _, s := range list {
			if s.Name == "advertised" && strconv.Itoa(s.Port) == port {
				if s.Fingerprint != p.fingerprint {
					t.Errorf("advertised fingerprint %q (TXT %v), parleyd logged %q", s.Fingerprint, s.Text, p.fingerprint)
				}
				return
			}
		}
	}
	t.Fatal("parleyd was not found on lo within 20s")
}

// TestParleydMetricsListener: /metrics is not on the public port; it is
// on the -metrics-addr listener, which is loopback by default.
func TestParleydMetricsListener(t *testing.T) {
	bin := parleydBinary(t)
	p := startParleyd(t, bin, t.TempDir())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: testDialer.TLSClientConfig}}
	get := func(url string) (int, string) {
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("https://" + p.addr + "/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: status %d, want 404", code)
	}
	if p.metricsAddr == "" {
		t.Fatal("parleyd did not say where it serves metrics")
	}
	if code, body := get("http://" + p.metricsAddr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "parley_connections") {
		t.Errorf("metrics listener: status %d, body without parley_connections", code)
	}
}

// TestParleydPprof: -pprof serves net/http/pprof on a loopback listener
// of its own and refuses any other address; the public port has none.
func TestParleydPprof(t *testing.T) {
	bin := parleydBinary(t)
	for _, tc := range []struct{ name, addr string }{
		{"every interface", "0.0.0.0:0"},
		{"a LAN address", "192.168.1.10:0"},
		{"no port", "127.0.0.1"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-mdns", "off", "-metrics-addr", "off", "-pprof", tc.addr).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "-pprof") {
				t.Fatalf("parleyd -pprof %s: %v, %q; want a failed start naming -pprof", tc.addr, err, out)
			}
		})
	}
	t.Run("loopback", func(t *testing.T) {
		p := startCmd(t, exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-mdns", "off", "-metrics-addr", "off", "-pprof", "127.0.0.1:0"))
		if p.pprofAddr == "" {
			t.Fatal("parleyd did not say where it serves pprof")
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: testDialer.TLSClientConfig}}
		for _, tc := range []struct {
			url  string
			want int
		}{
			{"http://" + p.pprofAddr + "/debug/pprof/goroutine?debug=1", http.StatusOK},
			{"https://" + p.addr + "/debug/pprof/goroutine?debug=1", http.StatusNotFound},
		} {
			resp, err := hc.Get(tc.url)
			if err != nil {
				t.Fatalf("GET %s: %v", tc.url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s: status %d, want %d", tc.url, resp.StatusCode, tc.want)
			}
		}
	})
}

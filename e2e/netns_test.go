package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// A lossy link for one app: the app runs in a network namespace this test
// creates, joined to the host namespace by a veth pair. Inside, nftables
// drops lossPercent of the packets crossing the veth at random (this
// kernel has no netem). The app reaches parleyd (on 127.0.0.1 in the host
// namespace) through a relay on the host end of the veth, which delays
// every chunk by relayDelay ± relayJitter, in order. Addresses are
// link-local, on the test's own veth pair: no traffic leaves the machine.

const (
	lossPercent = 5
	relayDelay  = 20 * time.Millisecond
	relayJitter = 10 * time.Millisecond
)

// lossyLink is a namespace with its veth pair, nftables table and relay.
type lossyLink struct {
	ns     string
	hostIf string
	addr   string // the relay's address, as the app in ns dials it
	relay  *relay
}

// newLossyLink makes the namespace and starts the relay to target; the
// test's end removes them (namespace and veth by name, the relay by Close).
func newLossyLink(t *testing.T, tag, target string) *lossyLink {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("PARLEY_TEST_E2E") == "1" {
			t.Fatal("PARLEY_TEST_E2E=1 but the lossy-network scenario needs root (network namespaces, nftables)")
		}
		t.Skip("the lossy-network scenario needs root (network namespaces, nftables)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make deps-test)", tool)
		}
	}
	// Names and addresses of this run (.ci/e2e.sh sweeps by these names).
	run := runID()
	n := run % 250
	l := &lossyLink{ns: fmt.Sprintf("parley-e2e-%d-%s", run, tag), hostIf: fmt.Sprintf("pe%dh", run%100000)}
	nsIf := fmt.Sprintf("pe%dn", run%100000)
	hostIP, nsIP := fmt.Sprintf("169.254.%d.1", n), fmt.Sprintf("169.254.%d.2", n)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sh("ip", "netns", "add", l.ns)
	t.Cleanup(func() {
		// Deleting the namespace deletes its end of the veth pair, the
		// peer with it, and its nftables tables.
		if out, err := exec.Command("ip", "netns", "del", l.ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", l.ns, err, out)
		}
		if exec.Command("ip", "link", "show", l.hostIf).Run() == nil {
			exec.Command("ip", "link", "del", l.hostIf).Run()
		}
	})
	sh("ip", "link", "add", l.hostIf, "type", "veth", "peer", "name", nsIf)
	sh("ip", "link", "set", nsIf, "netns", l.ns)
	sh("ip", "addr", "add", hostIP+"/30", "dev", l.hostIf)
	sh("ip", "link", "set", l.hostIf, "up")
	sh("ip", "-n", l.ns, "addr", "add", nsIP+"/30", "dev", nsIf)
	sh("ip", "-n", l.ns, "link", "set", nsIf, "up")
	sh("ip", "-n", l.ns, "link", "set", "lo", "up")
	loss := fmt.Sprintf("numgen random mod 100 < %d drop", lossPercent)
	rules := fmt.Sprintf(`table inet parley_e2e {
	chain in { type filter hook input priority 0; iifname "%[1]s" %[2]s; }
	chain out { type filter hook output priority 0; oifname "%[1]s" %[2]s; }
}
`, nsIf, loss)
	nft := exec.Command("ip", "netns", "exec", l.ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft -f (in %s): %v\n%s\n%s", l.ns, err, out, rules)
	}
	r, err := newRelay(hostIP+":0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("relay: %v", err)
		}
	})
	l.relay = r
	l.addr = r.ln.Addr().String()
	return l
}

// ruleset lists the namespace's nftables table, for the log.
func (l *lossyLink) ruleset() string {
	out, err := exec.Command("ip", "netns", "exec", l.ns, "nft", "list", "table", "inet", "parley_e2e").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("nft list: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// relay forwards TCP connections from its listener to target, delaying
// each chunk by relayDelay ± relayJitter and keeping the order.
type relay struct {
	ln     net.Listener
	target string
	wg     gosync.WaitGroup

	mu     gosync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	chunks int
}

func newRelay(listen, target string) (*relay, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("relay listen on %s: %w", listen, err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			in.Close()
			continue
		}
		if !r.track(in, out) {
			return
		}
		r.wg.Add(2)
		go r.pipe(in, out)
		go r.pipe(out, in)
	}
}

// track registers a connection pair; false once the relay is closed.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = struct{}{}
	}
	return true
}

// chunk is data read at one moment, due for writing at due.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk delayed; closing either end ends
// both directions of the pair.
func (r *relay) pipe(src, dst net.Conn) {
	defer r.wg.Done()
	queue := make(chan chunk, 4096)
	done := make(chan struct{})
	go func() { // the writer, owned by pipe: pipe waits for it
		defer close(done)
		for c := range queue {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d) // the delay this relay exists to add
			}
			if _, err := dst.Write(c.data); err != nil {
				for range queue { // drain so the reader never blocks
				}
				return
			}
		}
	}()
	var last time.Time
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			due := time.Now().Add(relayDelay - relayJitter + time.Duration(rand.Int64N(int64(2*relayJitter)+1)))
			if due.Before(last) {
				due = last // in order: never before the previous chunk
			}
			last = due
			r.mu.Lock()
			r.chunks++
			r.mu.Unlock()
			queue <- chunk{data: append([]byte(nil), buf[:n]...), due: due}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-done
	src.Close()
	dst.Close()
}

// Close stops accepting, closes every connection and waits for every
// goroutine of the relay.
func (r *relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	err := r.ln.Close()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// relayed is how many chunks the relay has forwarded.
func (r *relay) relayed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chunks
}

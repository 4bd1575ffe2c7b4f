package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"
)

// logWatch collects a process's output and lets a test wait for a line.
type logWatch struct {
	mu      gosync.Mutex
	buf     strings.Builder
	lines   []string
	changed chan struct{} // closed and replaced at every line
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (l *logWatch) feed(r io.Reader, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.buf.WriteString(sc.Text() + "\n")
		l.lines = append(l.lines, sc.Text())
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// find returns the first line from line number from on that re matches.
func (l *logWatch) find(from int, re *regexp.Regexp) (string, int, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.lines); i++ {
		if re.MatchString(l.lines[i]) {
			return l.lines[i], i, nil
		}
	}
	return "", len(l.lines), l.changed
}

// proc is one process of a scenario: an app or parleyd.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    *logWatch
	exited chan struct{}
}

// start runs cmd, collecting stdout and stderr, and stops it (SIGTERM,
// then SIGKILL after 15 s) when the test ends.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, log: newLogWatch(), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	fed := make(chan struct{})
	go p.log.feed(pr, fed)
	go func() {
		cmd.Wait()
		pw.Close()
		<-fed
		close(p.exited)
	}()
	t.Cleanup(func() {
		if err := p.stop(15 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("%s (pid %d) wrote:\n%s", name, cmd.Process.Pid, p.log)
		}
	})
	return p
}

// waitLog waits for a line matching re written after line from, and
// returns it.
func (p *proc) waitLog(t *testing.T, from int, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		line, n, changed := p.log.find(from, re)
		if changed == nil {
			return line
		}
		from = n
		select {
		case <-changed:
		case <-p.exited:
			if line, _, changed := p.log.find(from, re); changed == nil {
				return line
			}
			t.Fatalf("%s exited before logging %q:\n%s", p.name, re, p.log)
		case <-deadline:
			t.Fatalf("%s did not log %q within %v:\n%s", p.name, re, timeout, p.log)
		}
	}
}

// stop asks the process to quit and waits; it kills after grace.
func (p *proc) stop(grace time.Duration) error {
	return stopProcess(p.name, p.cmd.Process, p.exited, grace)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// freePort is a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// server is a parleyd on 127.0.0.1 with mDNS off and a data folder that
// outlives its restarts.
type server struct {
	addr string
	data string
	p    *proc
}

var listening = regexp.MustCompile(`parleyd listening`)

// startServer starts parleyd on a free loopback port.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), data: t.TempDir()}
	s.restart(t)
	return s
}

// restart starts parleyd (again) on the same address and data folder and
// waits until it listens.
func (s *server) restart(t *testing.T) {
	t.Helper()
	cmd := exec.Command(env.parleyd, "-addr", s.addr, "-data", s.data, "-mdns", "off", "-metrics-addr", "off",
		"-name", "e2e", "-log-level", "info")
	s.p = start(t, "parleyd", cmd)
	s.p.waitLog(t, 0, listening, 30*time.Second)
}

// app is one running desktop app with its own profile.
type app struct {
	user    string
	data    string
	p       *proc
	display string
	window  string
}

// appOptions say how an app starts.
type appOptions struct {
	user     string
	server   string   // host:port
	signUp   bool     // create the account
	env      []string // PULSE_SOURCE, PULSE_SINK …
	netns    string   // run inside this network namespace
	data     string   // profile folder; "" makes a new one
	cueMuted bool     // cue sounds off (they would play on the ear)
	listener bool     // on the listener's display (the talker has the other)
}

var usable = regexp.MustCompile(`startup: usable after (\d+) ms`)

// startApp runs bin/parley under the suite's Xvfb with a profile of its
// own and waits until it reports a usable window (signed in, the first
// conversation read and drawn) and its window is mapped.
func startApp(t *testing.T, o appOptions) *app {
	t.Helper()
	if o.data == "" {
		o.data = t.TempDir()
	}
	if o.cueMuted {
		writePrefs(t, o.data, `{"cueVolume":0}`)
	}
	args := []string{"-data", o.data, "-mdns", "off", "-report-startup", "-log-level", "info",
		"-server", o.server, "-user", o.user, "-password", "password of " + o.user, "-audio", "pulse"}
	if o.signUp {
		args = append(args, "-signup")
	}
	name := env.parley
	if o.netns != "" {
		args = append([]string{"netns", "exec", o.netns, env.parley}, args...)
		name = "ip"
	}
	cmd := exec.Command(name, args...)
	disp := env.displays[0].name
	if o.listener {
		disp = env.displays[1].name
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+disp, "LANG=C.UTF-8", "PULSE_SERVER="+env.pulse,
		"XDG_RUNTIME_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, o.env...)
	a := &app{user: o.user, data: o.data, display: disp, p: start(t, "parley "+o.user, cmd)}
	a.p.waitLog(t, 0, usable, 90*time.Second)
	pid := cmd.Process.Pid // `ip netns exec` execs the app: the same process
	a.window = strings.Fields(xdotool(t, disp, "search", "--all", "--sync", "--onlyvisible", "--pid", strconv.Itoa(pid), "--name", "^Parley$"))[0]
	return a
}

// writePrefs writes the Fyne preferences of a profile before its first
// start (the app keeps them in <data>/config with -data).
func writePrefs(t *testing.T, data, json string) {
	t.Helper()
	dir := filepath.Join(data, "config", "fyne", "net.parley.app")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preferences.json"), []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
}

var micOpen = regexp.MustCompile(`microphone open`)

// pressTalk focuses the app's window and holds the talk key (F8) down.
func (a *app) pressTalk(t *testing.T) {
	t.Helper()
	a.p.waitLog(t, 0, micOpen, 30*time.Second)
	xdotool(t, a.display, "windowfocus", "--sync", a.window)
	xdotool(t, a.display, "keydown", "--window", a.window, "F8")
}

// releaseTalk lets the talk key go.
func (a *app) releaseTalk(t *testing.T) {
	t.Helper()
	xdotool(t, a.display, "keyup", "--window", a.window, "F8")
}

func (a *app) String() string { return fmt.Sprintf("app %s (%s)", a.user, a.data) }

// stopApp quits the app (SIGTERM, as a session logout does) and fails
// the test if it does not stop in time.
func (a *app) quit(t *testing.T) {
	t.Helper()
	if err := a.p.stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	if ws, ok := a.p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Logf("%s ended by %v", a, ws.Signal())
	}
}

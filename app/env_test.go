package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
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

	"parley/internal/appbuild"
	"parley/internal/pulsetest"
	"parley/sync"
)

// The GUI tests need Xvfb, xdotool, ImageMagick, PulseAudio and espeak-ng.
// They start what they need themselves: one Xvfb on a free display, the
// private PulseAudio daemon of .ci/pulseaudio.sh, and one build of the
// binary per test run. With PARLEY_TEST_GUI=1 (make test) a missing tool
// fails the test; otherwise it skips. Network: loopback only (the hosted
// server listens on 127.0.0.1, mDNS is limited to lo).

var guiTools = []string{"Xvfb", "xdotool", "import", "pactl", "paplay", "pulseaudio", "espeak-ng", "ip"}

// fixture is shared by the GUI tests of one run.
var fixture struct {
	once    gosync.Once
	err     error
	dir     string
	display string
	xvfb    *exec.Cmd
	pulse   string            // PULSE_SERVER
	pulseD  *pulsetest.Daemon // stopped by TestMain if the fixture started it
	binary  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.xvfb != nil {
		fixture.xvfb.Process.Kill()
		fixture.xvfb.Wait()
	}
	if err := fixture.pulseD.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// requireGUI returns the shared environment, starting it on first use.
func requireGUI(t *testing.T) {
	t.Helper()
	strict := os.Getenv("PARLEY_TEST_GUI") == "1"
	fail := func(format string, args ...any) {
		t.Helper()
		if strict {
			t.Fatalf("PARLEY_TEST_GUI=1 but "+format, args...)
		}
		t.Skipf(format+" (set PARLEY_TEST_GUI=1 to fail instead)", args...)
	}
	for _, tool := range guiTools {
		if _, err := exec.LookPath(tool); err != nil {
			fail("%s is not installed (make deps-test)", tool)
		}
	}
	if testing.Short() && !strict {
		t.Skip("GUI test skipped in -short mode")
	}
	fixture.once.Do(setupFixture)
	if fixture.err != nil {
		fail("%v", fixture.err)
	}
}

func setupFixture() {
	f := &fixture
	f.dir, f.err = os.MkdirTemp("", "parley-app-test-")
	if f.err != nil {
		return
	}
	// mDNS on loopback only.
	if out, err := exec.Command("ip", "link", "show", "lo").Output(); err != nil || !bytes.Contains(out, []byte("MULTICAST")) {
		if out, err := exec.Command("ip", "link", "set", "lo", "multicast", "on").CombinedOutput(); err != nil {
			f.err = fmt.Errorf("ip link set lo multicast on: %v: %s", err, out)
			return
		}
	}
	// One build of the binary for every test of the run.
	f.binary = filepath.Join(f.dir, "parley")
	if f.err = goBuild(f.binary, appBuildTags); f.err != nil {
		return
	}
	// Xvfb picks a free display and tells it on fd 3.
	r, w, err := os.Pipe()
	if err != nil {
		f.err = err
		return
	}
	f.xvfb = exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	f.xvfb.ExtraFiles = []*os.File{w}
	if err := f.xvfb.Start(); err != nil {
		f.err = fmt.Errorf("start Xvfb: %w", err)
		return
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		f.err = fmt.Errorf("Xvfb display number: %w", err)
		return
	}
	f.display = ":" + strings.TrimSpace(line)
	// The private PulseAudio daemon with null sinks.
	root, err := repoRoot()
	if err != nil {
		f.err = err
		return
	}
	f.pulseD, f.err = pulsetest.Start(filepath.Join(root, ".ci", "pulseaudio.sh"), "")
	if f.err != nil {
		return
	}
	f.pulse = f.pulseD.Server
}

// appBuildTags are the tags the app is built with (as the Makefile's TAGS).
const appBuildTags = appbuild.Tags

// goBuild builds the app binary to path with tags, against the patched
// Fyne, as make builds it.
func goBuild(path, tags string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	return appbuild.Build(root, ".", path, appbuild.Options{Tags: tags})
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Dir(wd), nil // this package is <root>/app
}

// pactl runs pactl against the test daemon.
func pactl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("pactl", args...)
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pactl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// virtualMic makes a microphone fed by a sink: what is played into mouth
// is what the microphone hears. It returns the sink and source names.
func virtualMic(t *testing.T, tag string) (mouth, mic string) {
	mouth, mic = "parley_"+tag+"_mouth", "parley_"+tag+"_mic"
	for _, args := range [][]string{
		{"load-module", "module-null-sink", "sink_name=" + mouth, "rate=48000", "channels=1", "sink_properties=device.description=" + mouth},
		{"load-module", "module-remap-source", "source_name=" + mic, "master=" + mouth + ".monitor", "channels=1", "source_properties=device.description=" + mic},
	} {
		id := pactl(t, args...)
		t.Cleanup(func() {
			cmd := exec.Command("pactl", "unload-module", id)
			cmd.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
			cmd.Run()
		})
	}
	return mouth, mic
}

// speech writes a few seconds of espeak-ng speech to a WAV file.
func speech(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "speech.wav")
	text := "Hello from Parley. This is a push to talk test. One, two, three, four, five, six, seven, eight."
	if out, err := exec.Command("espeak-ng", "-s", "150", "-w", path, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	return path
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// instance is one running binary.
type instance struct {
	t       *testing.T
	cmd     *exec.Cmd
	data    string
	log     *bytes.Buffer
	logMu   *gosync.Mutex
	ready   chan string   // the -report-startup line
	startup string        // that line, once received
	micOn   chan struct{} // closed when the app logs its microphone open
	logged  chan struct{} // signalled (not closed) after each log line
	exited  chan struct{}
	window  string
}

type lockedWriter struct {
	mu *gosync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var startupLine = regexp.MustCompile(`startup: usable after (\d+) ms, (-?\d+) messages listed, rss ([0-9.]+) MB`)

// startBinary runs the app with a data folder of its own on the test
// display and waits until it reports a usable window.
func startBinary(t *testing.T, data string, env []string, args ...string) *instance {
	t.Helper()
	return startBinaryAt(t, fixture.binary, data, env, args...)
}

// startBinaryAt is startBinary with another build of the app.
func startBinaryAt(t *testing.T, binary, data string, env []string, args ...string) *instance {
	t.Helper()
	args = append([]string{"-data", data, "-mdns", "lo", "-report-startup", "-log-level", "info"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+fixture.display, "LANG=C.UTF-8", "PULSE_SERVER="+fixture.pulse,
		"XDG_RUNTIME_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	in := &instance{t: t, cmd: cmd, data: data, log: &bytes.Buffer{}, logMu: &gosync.Mutex{},
		ready: make(chan string, 1), micOn: make(chan struct{}), exited: make(chan struct{}),
		logged: make(chan struct{}, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout = lockedWriter{in.logMu, in.log}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			lockedWriter{in.logMu, in.log}.Write([]byte(line + "\n"))
			select {
			case in.logged <- struct{}{}:
			default:
			}
			if strings.Contains(line, "microphone open") {
				select {
				case <-in.micOn:
				default:
					close(in.micOn)
				}
			}
			if startupLine.MatchString(line) {
				select {
				case in.ready <- line:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		close(in.exited)
	}()
	t.Cleanup(in.stop)
	select {
	case in.startup = <-in.ready:
	case <-in.exited:
		t.Fatalf("app exited before its window was usable:\n%s", in.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("app not usable after 60 s:\n%s", in.output())
	}
	in.window = strings.Fields(xdotool(t, "search", "--sync", "--onlyvisible", "--pid", strconv.Itoa(cmd.Process.Pid), "--name", "^Parley$"))[0]
	return in
}

// waitLog waits until the app has logged a line matching re.
func (in *instance) waitLog(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindString(in.output()); m != "" {
			return m
		}
		select {
		case <-in.logged:
		case <-in.exited:
			t.Fatalf("app exited before logging %v:\n%s", re, in.output())
		case <-deadline:
			t.Fatalf("app did not log %v within %v:\n%s", re, timeout, in.output())
		}
	}
}

func (in *instance) output() string {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	return in.log.String()
}

// stop asks the app to quit (SIGTERM, as a session logout does) and waits; it kills after 15 s.
func (in *instance) stop() {
	select {
	case <-in.exited:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(15 * time.Second):
		// SIGQUIT makes the Go runtime print every goroutine's stack and exit:
		// the report says where shutdown hung.
		in.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-in.exited:
		case <-time.After(5 * time.Second):
			in.cmd.Process.Kill()
			<-in.exited
		}
		in.t.Errorf("app did not quit within 15 s of SIGTERM; its goroutines at SIGQUIT:\n%s", in.output())
	}
}

func xdotool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+fixture.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// talk holds F8 on the instance's window for d while the speech plays
// into mouth.
func (in *instance) talk(t *testing.T, mouth, speechWAV string, d time.Duration) {
	t.Helper()
	in.talkFrom(t, in.window, mouth, speechWAV, d)
}

// talkFrom is talk with window focused instead of the app's: another
// window's focus tests the global talk key (the key then goes to whatever
// has the focus). It returns the time between key down and key up.
func (in *instance) talkFrom(t *testing.T, window, mouth, speechWAV string, d time.Duration) time.Duration {
	t.Helper()
	select {
	case <-in.micOn:
	case <-time.After(20 * time.Second):
		t.Fatalf("the app did not open its microphone within 20 s:\n%s", in.output())
	}
	xdotool(t, "windowfocus", "--sync", window)
	play := exec.Command("paplay", "-d", mouth, speechWAV)
	play.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	if err := play.Start(); err != nil {
		t.Fatalf("paplay: %v", err)
	}
	defer func() {
		play.Process.Kill()
		play.Wait()
	}()
	waitSpeech(t, mouth+".monitor", 10*time.Second) // the speech has reached the microphone
	target := []string{}
	if window == in.window {
		target = []string{"--window", in.window}
	}
	t0 := time.Now()
	xdotool(t, append(append([]string{"keydown"}, target...), "F8")...)
	time.Sleep(d) // the user holds the key this long
	xdotool(t, append(append([]string{"keyup"}, target...), "F8")...)
	return time.Since(t0)
}

// waitSpeech returns once a PulseAudio source carries speech (a 20 ms
// block above -34 dBFS RMS), recorded with parec; it fails after timeout.
func waitSpeech(t *testing.T, source string, timeout time.Duration) {
	t.Helper()
	rec := exec.Command("parec", "-d", source, "--format=s16le", "--rate=48000", "--channels=1", "--latency-msec=10")
	rec.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	out, err := rec.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(); err != nil {
		t.Fatalf("parec: %v", err)
	}
	heard := make(chan error, 1)
	got := false
	defer func() { // the reader first, then Wait (which closes the pipe)
		rec.Process.Kill()
		if !got {
			<-heard
		}
		rec.Wait()
	}()
	go func() { // ends when parec is killed (its pipe closes)
		const block = 960 * 2 // 20 ms of s16le mono
		buf := make([]byte, block)
		for {
			if _, err := io.ReadFull(out, buf); err != nil {
				heard <- err
				return
			}
			var sum float64
			for i := 0; i < block; i += 2 {
				v := float64(int16(binary.LittleEndian.Uint16(buf[i:]))) / 32768
				sum += v * v
			}
			if math.Sqrt(sum/(block/2)) > 0.02 {
				heard <- nil
				return
			}
		}
	}()
	select {
	case err := <-heard:
		got = true
		if err != nil {
			t.Fatalf("waiting for speech on %s: parec: %v", source, err)
		}
	case <-time.After(timeout):
		t.Fatalf("no speech on %s within %v", source, timeout)
	}
}

// screenshot saves the whole screen as PNG.
func screenshot(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+fixture.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}

// watchClient signs up an account of its own on a server and runs it.
func watchClient(t *testing.T, addr, user string) *sync.Client {
	t.Helper()
	c, err := sync.New(sync.Config{URL: addr, StorePath: filepath.Join(t.TempDir(), user+".db"),
		Username: user, Password: "password-" + user, Register: true, Prefetch: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
	return c
}

// waitFor re-checks cond at every hint of c until it holds or timeout.
func waitFor(t *testing.T, c *sync.Client, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case _, ok := <-c.Hints():
			if !ok {
				t.Fatalf("%s: client closed", what)
			}
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

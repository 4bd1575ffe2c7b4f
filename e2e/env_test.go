package e2e

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/internal/appbuild"
	"parley/internal/pulsetest"
)

// tools are what every scenario needs on the PATH.
var tools = []string{"Xvfb", "xdotool", "import", "pactl", "parec", "paplay", "pulseaudio", "espeak-ng", "go"}

// env is the environment shared by the scenarios of one run: the built
// binaries, two Xvfb displays (one per app, as if on two computers: a
// window mapped on one display cannot take the other app's focus, which
// would end a transmission) and one private PulseAudio daemon. TestMain
// starts it and stops it.
var env struct {
	err      error // why the environment is unusable
	dir      string
	parley   string // the app binary
	parleyd  string // the server binary
	displays []display
	pulseDir string
	pulse    string            // PULSE_SERVER
	pulseD   *pulsetest.Daemon // Started: this run started it
}

// runID names what this run makes outside its temporary folders (the
// PulseAudio folder, the network namespace and veth), so that two runs on
// one machine never touch each other's, and .ci/e2e.sh can sweep its own
// after a crash: PARLEY_E2E_RUN, or this process's PID.
func runID() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_E2E_RUN")); err == nil && n > 0 {
		return n
	}
	return os.Getpid()
}

func TestMain(m *testing.M) {
	flag.Parse()
	setup()
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e teardown:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// requireEnv skips (or, with PARLEY_TEST_E2E=1, fails) a test when the
// environment could not be set up.
func requireEnv(t *testing.T) {
	t.Helper()
	if env.err == nil {
		return
	}
	if os.Getenv("PARLEY_TEST_E2E") == "1" {
		t.Fatalf("PARLEY_TEST_E2E=1 but the end-to-end environment is unusable: %v", env.err)
	}
	t.Skipf("end-to-end environment unusable (set PARLEY_TEST_E2E=1 to fail instead): %v", env.err)
}

func setup() {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			env.err = fmt.Errorf("%s is not installed (make deps-test)", tool)
			return
		}
	}
	if testing.Short() {
		env.err = errors.New("skipped in -short mode")
		return
	}
	var err error
	if env.dir, err = os.MkdirTemp("", "parley-e2e-"); err != nil {
		env.err = err
		return
	}
	if env.err = buildBinaries(); env.err != nil {
		return
	}
	for range 2 {
		var d display
		d, env.err = startXvfb()
		if d.cmd != nil {
			env.displays = append(env.displays, d)
		}
		if env.err != nil {
			return
		}
	}
	env.err = startPulse()
}

func teardown() error {
	var errs []error
	for _, d := range env.displays {
		errs = append(errs, stopProcess("Xvfb "+d.name, d.cmd.Process, d.done, 5*time.Second))
	}
	if env.pulseD.Started() {
		errs = append(errs, env.pulseD.Stop(), os.RemoveAll(env.pulseDir))
	}
	if env.dir != "" {
		errs = append(errs, os.RemoveAll(env.dir))
	}
	return errors.Join(errs...)
}

// repoRoot is the module root: this package is <root>/e2e.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ".."
	}
	return filepath.Dir(wd)
}

// buildBinaries builds the app and parleyd once for the run, as `make
// parleyd` and `make run` do (the Makefile's tags, the patched Fyne): the
// scenarios measure the app as users get it.
func buildBinaries() error {
	env.parley = filepath.Join(env.dir, "parley")
	env.parleyd = filepath.Join(env.dir, "parleyd")
	if err := appbuild.Build(repoRoot(), ".", env.parley, appbuild.Options{}); err != nil {
		return err
	}
	return appbuild.Build(repoRoot(), "./server/cmd/parleyd", env.parleyd, appbuild.Options{NoCgo: true})
}

// childAttr makes a child process die with this test binary, so that a
// panic or a timeout leaves nothing running (.ci/e2e.sh sweeps the rest).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// display is one Xvfb.
type display struct {
	name string // ":N"
	cmd  *exec.Cmd
	done chan struct{}
}

// startXvfb starts an Xvfb on a display it picks itself (-displayfd), so
// it collides with no other engineer's or test's display.
func startXvfb() (display, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return display{}, err
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		w.Close()
		return display{}, fmt.Errorf("start Xvfb: %w", err)
	}
	w.Close()
	d := display{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.done)
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return d, fmt.Errorf("Xvfb display number: %w", err)
	}
	d.name = ":" + strings.TrimSpace(line)
	return d, nil
}

// startPulse starts the private PulseAudio daemon of .ci/pulseaudio.sh in
// this suite's own folder, so other tests on the machine (./audio, ./app)
// keep their daemons.
func startPulse() error {
	env.pulseDir = fmt.Sprintf("/tmp/parley-pulse-e2e-%d", runID())
	d, err := pulsetest.Start(filepath.Join(repoRoot(), ".ci", "pulseaudio.sh"), env.pulseDir)
	if err != nil {
		return err
	}
	env.pulseD, env.pulse = d, d.Server
	return nil
}

// stopProcess sends SIGTERM and waits for done, killing after grace.
func stopProcess(what string, p *os.Process, done <-chan struct{}, grace time.Duration) error {
	select {
	case <-done:
		return nil
	default:
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	// SIGQUIT makes a Go process print every goroutine's stack (into its
	// log, which the test prints) and exit.
	p.Signal(syscall.SIGQUIT)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.Kill()
		<-done
	}
	return fmt.Errorf("%s (pid %d) did not stop within %v of SIGTERM; stopped with SIGQUIT (its goroutines are in its log)", what, p.Pid, grace)
}

// pactl runs pactl against the suite's daemon.
func pactl(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+env.pulse)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pactl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// xdotool runs xdotool on a display.
func xdotool(t *testing.T, display string, args ...string) string {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

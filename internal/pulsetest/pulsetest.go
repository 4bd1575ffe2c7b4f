// Package pulsetest gives tests Parley's private PulseAudio daemon
// (.ci/pulseaudio.sh: null sinks, its own socket, no shared memory) and
// stops it, by its PID, when the tests that started it are done. A daemon
// that already answered (make test starts one for the audio and GUI tests
// through .ci/with-pulse.sh) is used and left running.
package pulsetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Daemon is a private PulseAudio daemon.
type Daemon struct {
	// Server is its PULSE_SERVER (unix:<dir>/pulse/native).
	Server string
	dir    string
	pid    int // the daemon Start started; 0 when it was already running
}

// Start returns the daemon of folder dir ("" is the script's default,
// /tmp/parley-pulse), running script (.ci/pulseaudio.sh) to start it when
// none answers there.
func Start(script, dir string) (*Daemon, error) {
	if dir == "" {
		dir = "/tmp/parley-pulse"
	}
	d := &Daemon{Server: "unix:" + filepath.Join(dir, "pulse", "native"), dir: dir}
	if answers(d.Server) {
		return d, nil
	}
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), "PARLEY_PULSE_DIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("start PulseAudio: %s: %v: %s", script, err, ee.Stderr)
		}
		return nil, fmt.Errorf("start PulseAudio: %s: %w", script, err)
	}
	d.Server = strings.TrimSpace(string(out))
	path := filepath.Join(dir, "pulse", "pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("start PulseAudio: pid file: %w", err)
	}
	if d.pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		return nil, fmt.Errorf("start PulseAudio: pid file %s: %w", path, err)
	}
	return d, nil
}

// Started reports whether Start started the daemon (and Stop stops it).
func (d *Daemon) Started() bool { return d != nil && d.pid != 0 }

// Stop stops the daemon if Start started it: SIGTERM, then SIGKILL after
// 5 s, waiting on a pidfd until it is gone (it is not the caller's child,
// so there is no wait(2) for it).
func (d *Daemon) Stop() error {
	if d == nil || d.pid == 0 {
		return nil
	}
	pid := d.pid
	d.pid = 0
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
		return nil
	}
	if exited(fd, 5*time.Second) {
		return nil
	}
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	exited(fd, 5*time.Second)
	return fmt.Errorf("stop PulseAudio: pid %d ignored SIGTERM for 5 s; killed", pid)
}

// answers reports whether a daemon answers at server.
func answers(server string) bool {
	cmd := exec.Command("pactl", "info")
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+server)
	return cmd.Run() == nil
}

// exited waits until the process of pidfd fd has exited, at most timeout.
func exited(fd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

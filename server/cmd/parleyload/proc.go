package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"parley/server/wire"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat. It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// stopWait bounds the wait for a server process after SIGTERM before it is
// killed.
const stopWait = 10 * time.Second

// proc is a server process the tool started: parleyd or the baseline
// (this binary in baseline mode). The tool owns it and stops it.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	// pprofAddr is where a profiled server serves pprof (127.0.0.1),
	// logged before its listening line; "" for other servers.
	pprofAddr string
	// metricsAddr is where it serves /metrics (127.0.0.1), logged before
	// its listening line; "" for the baseline.
	metricsAddr string
	// fingerprint is parleyd's TLS certificate fingerprint from its
	// listening line; zero for the baseline, which speaks plain ws://.
	fingerprint wire.Fingerprint
	done        chan struct{} // closed when the process has exited
	err         error         // its exit status, set before done closes
	logs        *tail
}

// listenLine matches the line both servers log once they accept
// connections: "parleyd listening ... addr=HOST:PORT".
var listenLine = regexp.MustCompile(`listening.* addr=(\S+)(?:.* fingerprint=(SHA256:[0-9a-f]{64}))?`)

// metricsAddrLine matches the line of a server's metrics listener.
var metricsAddrLine = regexp.MustCompile(`metrics served.* at=(127\.0\.0\.1:\d+)`)

// pprofAddrLine matches a profiled server's pprof listener line.
var pprofAddrLine = regexp.MustCompile(pprofLine + `.* at=(127\.0\.0\.1:\d+)`)

// startProc starts a server process that listens on 127.0.0.1 and waits
// for the line that says where.
func startProc(ctx context.Context, name, bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	// The kernel kills the server if the tool dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), logs: &tail{max: 40}}
	addr := make(chan []string, 1)
	pprofAddr := make(chan string, 1)
	metricsAddr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.add(line)
			if m := pprofAddrLine.FindStringSubmatch(line); m != nil {
				select {
				case pprofAddr <- m[1]:
				default:
				}
			}
			if m := metricsAddrLine.FindStringSubmatch(line); m != nil {
				select {
				case metricsAddr <- m[1]:
				default:
				}
			}
			if m := listenLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case m := <-addr:
		p.addr = m[1]
		if m[2] != "" {
			if p.fingerprint, err = wire.ParseFingerprint(m[2]); err != nil {
				p.stop()
				return nil, fmt.Errorf("%s: listening line: %w", name, err)
			}
		}
		// A profiled server logs its pprof address before it listens.
		select {
		case p.pprofAddr = <-pprofAddr:
		default:
		}
		select {
		case p.metricsAddr = <-metricsAddr:
		default:
		}
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, p.err, p.logs)
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not listen within 30s\n%s", name, p.logs)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to shut down (SIGTERM), waits up to stopWait and
// kills it if it is still there. It returns the exit error of a graceful
// stop, if any.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(stopWait):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.name, stopWait)
	}
}

// tail keeps the last lines a process logged, for error reports.
type tail struct {
	max   int
	lines []string
}

func (t *tail) add(s string) {
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) String() string { return strings.Join(t.lines, "\n") }

// cpuTime returns the CPU time (user + system) process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// memKiB returns a field of /proc/PID/status in KiB: "VmRSS" (resident
// now) or "VmHWM" (peak resident).
func memKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v := strings.Fields(rest)
			if len(v) == 0 {
				break
			}
			return strconv.ParseInt(v[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// cpuMeter measures a process's CPU use over a window.
type cpuMeter struct {
	pid   int
	start time.Time
	cpu0  time.Duration
}

func startCPU(pid int) *cpuMeter {
	c, _ := cpuTime(pid)
	return &cpuMeter{pid: pid, start: time.Now(), cpu0: c}
}

// percent returns the CPU used since start as a percentage of one core.
func (m *cpuMeter) percent() float64 {
	c, err := cpuTime(m.pid)
	wall := time.Since(m.start)
	if err != nil || wall <= 0 {
		return 0
	}
	return 100 * float64(c-m.cpu0) / float64(wall)
}

// machineMeter measures how busy the whole machine is over a window, from
// the first line of /proc/stat: other processes on the same cores (a build,
// another test) inflate both servers' latencies, and the tool itself is
// one of them.
type machineMeter struct{ busy0, total0 int64 }

func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

func startMachine() *machineMeter {
	b, t := machineTicks()
	return &machineMeter{busy0: b, total0: t}
}

// percent returns how busy all cores were since start, 0–100.
func (m *machineMeter) percent() float64 {
	b, t := machineTicks()
	if t <= m.total0 {
		return 0
	}
	return 100 * float64(b-m.busy0) / float64(t-m.total0)
}

// raiseFileLimit raises this process's open-file limit to its hard limit
// and returns the new soft limit. Children inherit it.
func raiseFileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Cur
}

// buildParleyd builds cmd/parleyd with CGO_ENABLED=0 into dir and returns
// the binary's path. It runs from the module root that holds this tool.
func buildParleyd(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "parleyd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server/cmd/parleyd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build parleyd (CGO_ENABLED=0): %v\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run parleyload inside the parley module (or pass -parleyd)")
	}
	return filepath.Dir(mod), nil
}

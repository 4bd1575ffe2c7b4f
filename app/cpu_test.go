package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/appbuild"
	"parley/server"
	"parley/sync"
)

// TestCPU is a measurement, not a check: it prints how much CPU the real
// app uses, read from /proc/PID/stat (utime+stime, all threads) over a
// window (60 s by default), in two states:
//
//   - idle: signed in, the Lobby open with some history (text and voice
//     bubbles), nothing playing;
//   - listening: a talker (a sync client in this process, fed with
//     espeak-ng speech encoded to Opus at the real 20 ms pace) transmits
//     live into the Lobby and the app plays it on a PulseAudio null sink.
//     The window starts once the app's speaker carries sound;
//   - bare (first, before the app starts): the floor under idle, a Fyne
//     window with one label and nothing else (testdata/barefyne, built
//     with the app's tags) on the same display, twice: against upstream
//     Fyne 2.8.1, which polls its events 60 times a second whatever the
//     app does, and against the patched Fyne the app is built with
//     (third_party/fyne), which waits for events when it is idle.
//
// The server runs in this process on 127.0.0.1, so its work is not
// counted. The app runs under the tests' Xvfb and PulseAudio daemon.
//
// It runs only when asked (PARLEY_CPU=1; make cpu), because a 2-minute
// timing run on a shared machine is no pass/fail test. Settings:
//
//	PARLEY_CPU_SECONDS  the window of each state (default 60)
//	PARLEY_CPU_WARMUP   seconds skipped after start-up (default 10): the
//	                    first sync and draw are start-up, not idle
//	PARLEY_CPU_PROFILE  a folder: also take a pprof CPU profile of each
//	                    window (idle.pprof, live.pprof); the binary is
//	                    then built with -tags pprof (see main_pprof.go)
//	PARLEY_CPU_TAGS     extra build tags, comma-separated, to compare
//	                    builds (for example no_animations)
//	PARLEY_CPU_STATES   which states to measure: "bare,idle,live" (default)
//	PARLEY_CPU_BINARY   a prebuilt app to measure instead (a baseline built
//	                    from another commit: git archive, go build)
//	PARLEY_CPU_AUDIO    the app's -audio (default pulse; null leaves the
//	                    audio devices out, and live is then not heard)
//
// Output lines start with "cpu:" and read
//
//	cpu: idle 0.6 % of a core (utime 0.31 s, stime 0.05 s over 60.0 s); per 10 s: 0.7 0.5 …; by thread: parley 0.6; switches 120/s (parley 120); load 3.1→2.9
func TestCPU(t *testing.T) {
	if os.Getenv("PARLEY_CPU") != "1" {
		t.Skip("a measurement: run with PARLEY_CPU=1 (make cpu)")
	}
	requireGUI(t)
	window := envSeconds(t, "PARLEY_CPU_SECONDS", 60)
	warmup := envSeconds(t, "PARLEY_CPU_WARMUP", 10)
	profileDir := os.Getenv("PARLEY_CPU_PROFILE")

	states := os.Getenv("PARLEY_CPU_STATES")
	if states == "" {
		states = "bare,idle,live"
	}
	if strings.Contains(states, "bare") {
		report(t, "bare Fyne window, upstream Fyne (its 60 Hz loop)", measureBare(t, appbuild.Upstream, window, warmup))
		report(t, "bare Fyne window, patched Fyne (the floor under idle)", measureBare(t, appbuild.Patched, window, warmup))
	}
	if !strings.Contains(states, "idle") && !strings.Contains(states, "live") {
		return
	}
	binary := fixture.binary
	tags := appBuildTags
	if extra := os.Getenv("PARLEY_CPU_TAGS"); extra != "" {
		tags += "," + extra
	}
	var pprofAddr string
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			t.Fatal(err)
		}
		tags += ",pprof"
		pprofAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	}
	switch prebuilt := os.Getenv("PARLEY_CPU_BINARY"); {
	case prebuilt != "":
		binary = prebuilt
		t.Logf("measuring %s", binary)
	case tags != appBuildTags:
		binary = buildBinary(t, tags)
		t.Logf("app built with -tags=%s", tags)
	}

	addr := startTestServer(t)
	talker := watchClient(t, addr, "talker")
	lobby := waitLobby(t, talker)
	wav, err := audio.ReadWAVFile(speech(t))
	if err != nil {
		t.Fatal(err)
	}
	seedHistory(t, talker, lobby, wav)

	ear := "parley_cpu_ear"
	id := pactl(t, "load-module", "module-null-sink", "sink_name="+ear, "rate=48000", "channels=1",
		"sink_properties=device.description="+ear)
	t.Cleanup(func() { pactl(t, "unload-module", id) })

	env := []string{"PULSE_SINK=" + ear}
	if pprofAddr != "" {
		env = append(env, "PARLEY_PPROF="+pprofAddr)
	}
	backend := os.Getenv("PARLEY_CPU_AUDIO")
	if backend == "" {
		backend = "pulse"
	}
	inst := startBinaryAt(t, binary, t.TempDir(), env,
		"-server", addr, "-user", "listener", "-password", "listener's password", "-signup", "-audio", backend)
	pid := inst.cmd.Process.Pid
	t.Logf("app started: %s", inst.startup)
	time.Sleep(warmup) // a measurement setting: start-up transients are not idle

	if strings.Contains(states, "idle") {
		idle := measureCPU(t, pid, window, pprofAddr, filepath.Join(profileDir, "idle.pprof"))
		report(t, "idle", idle)
	}
	if !strings.Contains(states, "live") {
		return
	}

	// Live: the talker transmits for longer than the window; the window
	// starts when the app's speaker carries sound.
	ctx, cancel := context.WithCancel(context.Background())
	talkDone := make(chan error, 1)
	go func() { talkDone <- talkLive(ctx, talker, lobby, wav) }()
	defer func() {
		cancel()
		if err := <-talkDone; err != nil {
			t.Errorf("talker: %v", err)
		}
	}()
	waitSound(t, ear+".monitor", 30*time.Second)
	live := measureCPU(t, pid, window, pprofAddr, filepath.Join(profileDir, "live.pprof"))
	report(t, "listening live", live)
	// A playback device that fell back to its longer period wakes half as
	// often: say which the window measured.
	if strings.Contains(inst.output(), "audio playback underruns") {
		t.Logf("cpu: the app's playback device fell back to its longer period during the run")
	}
	if profileDir != "" {
		t.Logf("profiles in %s: go tool pprof -top %s %s/idle.pprof", profileDir, binary, profileDir)
	}
}

// measureBare measures testdata/barefyne's window, built against fyne,
// the way the app is measured: started on the fixture's display, warmup
// after its window is mapped, then window.
func measureBare(t *testing.T, fyne appbuild.Fyne, window, warmup time.Duration) cpuUse {
	t.Helper()
	path := filepath.Join(t.TempDir(), "barefyne")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := appbuild.Build(root, "./app/testdata/barefyne", path, appbuild.Options{Fyne: fyne}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir() // its Fyne preferences
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), "DISPLAY="+fixture.display, "HOME="+home, "XDG_CONFIG_HOME="+home,
		"XDG_RUNTIME_DIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start barefyne: %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	xdotool(t, "search", "--sync", "--onlyvisible", "--pid", strconv.Itoa(cmd.Process.Pid), "--name", "^Parley$")
	time.Sleep(warmup) // a measurement setting, as for the app
	return measureCPU(t, cmd.Process.Pid, window, "", "")
}

// buildBinary builds the app with tags into the test's folder.
func buildBinary(t *testing.T, tags string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley")
	if err := goBuild(path, tags); err != nil {
		t.Fatal(err)
	}
	return path
}

func envSeconds(t *testing.T, key string, def int) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return time.Duration(def) * time.Second
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want whole seconds", key, v)
	}
	return time.Duration(n) * time.Second
}

// startTestServer runs a Parley server (TLS, as every server now) on 127.0.0.1 for the test's life.
func startTestServer(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(server.Config{DBPath: filepath.Join(t.TempDir(), "server.db"), Name: "cpu",
		PasswordTime: 1, PasswordMemoryKiB: 1024, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv) // clients pin its certificate on first use
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.Listener.Addr().String()
}

func waitLobby(t *testing.T, c *sync.Client) string {
	t.Helper()
	var lobby string
	waitFor(t, c, 20*time.Second, "the talker's Lobby", func() bool {
		cs, _ := c.Store().Conversations(context.Background())
		for _, conv := range cs {
			if conv.Lobby {
				lobby = conv.ID
			}
		}
		return lobby != ""
	})
	return lobby
}

// encodeFrames encodes pcm (48 kHz mono) into 20 ms Opus packets and one
// waveform byte per packet.
func encodeFrames(pcm []int16) (packets [][]byte, peaks []byte, err error) {
	enc, err := audio.NewEncoder(audio.EncoderConfig{})
	if err != nil {
		return nil, nil, err
	}
	const frame = 960
	for i := 0; i+frame <= len(pcm); i += frame {
		p, err := enc.Encode(pcm[i : i+frame])
		if err != nil {
			return nil, nil, err
		}
		packets = append(packets, append([]byte(nil), p...))
		var peak float64
		for _, s := range pcm[i : i+frame] {
			peak = max(peak, math.Abs(float64(s)))
		}
		peaks = append(peaks, byte(min(255, peak/128)))
	}
	return packets, peaks, nil
}

// seedHistory gives the Lobby what a day's use leaves: texts and short
// voice messages, all acknowledged by the server.
func seedHistory(t *testing.T, c *sync.Client, lobby string, wav []int16) {
	t.Helper()
	packets, peaks, err := encodeFrames(wav)
	if err != nil {
		t.Fatal(err)
	}
	const texts, voices = 30, 8
	for i := range texts {
		if _, err := c.SendText(lobby, fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog", i)); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 && i/4 < voices {
			v, err := c.StartVoice(lobby)
			if err != nil {
				t.Fatal(err)
			}
			n := 50 + 25*(i/4) // 1 s, 1.5 s, …
			for _, p := range packets[:min(n, len(packets))] {
				if err := v.Push(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := v.End(time.Duration(n)*20*time.Millisecond, peaks[:min(n, len(peaks))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, c, 60*time.Second, "the seeded history on the server", func() bool {
		ms, err := c.Store().Messages(context.Background(), lobby, 0, 100)
		if err != nil {
			return false
		}
		done := 0
		for _, m := range ms {
			if m.Seq > 0 && !m.Pending {
				done++
			}
		}
		return done >= texts+voices
	})
}

// talkLive transmits wav, looped, at the real pace until ctx ends, then
// ends the message.
func talkLive(ctx context.Context, c *sync.Client, lobby string, wav []int16) error {
	packets, peaks, err := encodeFrames(wav)
	if err != nil {
		return err
	}
	v, err := c.StartVoice(lobby)
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var sent []byte
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return v.End(time.Duration(i)*20*time.Millisecond, sent)
		case <-tick.C:
		}
		if err := v.Push(packets[i%len(packets)]); err != nil {
			return err
		}
		sent = append(sent, peaks[i%len(peaks)])
	}
}

// waitSound waits until the monitor of a sink carries sound (a 20 ms
// block above about -40 dBFS).
func waitSound(t *testing.T, monitor string, timeout time.Duration) {
	t.Helper()
	cmd := exec.Command("parec", "-d", monitor, "--raw", "--format=s16le", "--rate=48000", "--channels=1", "--latency-msec=20")
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("parec: %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	heard := make(chan error, 1)
	go func() {
		r := bufio.NewReader(out)
		block := make([]byte, 960*2)
		for {
			if _, err := io.ReadFull(r, block); err != nil {
				heard <- fmt.Errorf("read %s: %w", monitor, err)
				return
			}
			for i := 0; i < len(block); i += 2 {
				if s := int16(binary.LittleEndian.Uint16(block[i:])); s > 328 || s < -328 {
					heard <- nil
					return
				}
			}
		}
	}()
	select {
	case err := <-heard:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(timeout):
		t.Fatalf("no sound on %s within %v", monitor, timeout)
	}
}

// cpuUse is one measured window.
type cpuUse struct {
	wall         time.Duration
	utime, stime time.Duration
	slices       []float64                // % of a core per tenth of the window
	threads      map[string]time.Duration // CPU per thread name (comm)
	// switches counts the context switches (voluntary and not) of all
	// threads, per thread name: each is a thread woken or preempted, and
	// on this VM the switches themselves were a third of a listener's
	// CPU samples (perf).
	switches map[string]int64
	load     [2]string // 1-minute load average before and after
}

func (c cpuUse) percent() float64 {
	return 100 * float64(c.utime+c.stime) / float64(c.wall)
}

func report(t *testing.T, state string, c cpuUse) {
	var sl []string
	for _, s := range c.slices {
		sl = append(sl, strconv.FormatFloat(s, 'f', 1, 64))
	}
	names := make([]string, 0, len(c.threads))
	for n := range c.threads {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return c.threads[names[i]] > c.threads[names[j]] })
	var th []string
	for _, n := range names {
		if pct := 100 * float64(c.threads[n]) / float64(c.wall); pct >= 0.05 {
			th = append(th, fmt.Sprintf("%s %.1f", n, pct))
		}
	}
	var sw []string
	var total int64
	for _, n := range names {
		total += c.switches[n]
		if per := float64(c.switches[n]) / c.wall.Seconds(); per >= 1 {
			sw = append(sw, fmt.Sprintf("%s %.0f", n, per))
		}
	}
	line := fmt.Sprintf("cpu: %s %.1f %% of a core (utime %.2f s, stime %.2f s over %.1f s); per %v: %s; by thread: %s; switches %.0f/s (%s); load %s→%s",
		state, c.percent(), c.utime.Seconds(), c.stime.Seconds(), c.wall.Seconds(),
		(c.wall / time.Duration(max(len(c.slices), 1))).Round(time.Second), strings.Join(sl, " "),
		strings.Join(th, ", "), float64(total)/c.wall.Seconds(), strings.Join(sw, ", "), c.load[0], c.load[1])
	t.Log(line)
	fmt.Println(line)
}

// measureCPU samples pid's CPU time across window, in ten slices, and
// takes a pprof profile of it when pprofAddr is set.
func measureCPU(t *testing.T, pid int, window time.Duration, pprofAddr, profilePath string) cpuUse {
	t.Helper()
	var wg gosync.WaitGroup
	if pprofAddr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(pprofAddr, window, profilePath); err != nil {
				t.Errorf("profile: %v", err)
			}
		}()
	}
	c := cpuUse{load: [2]string{loadAvg(), ""}}
	threads0 := threadCPU(pid)
	start := time.Now()
	u0, s0 := procCPU(t, pid)
	pu, ps, pt := u0, s0, start
	tick := time.NewTicker(window / 10)
	for range 10 {
		<-tick.C
		u, s := procCPU(t, pid)
		now := time.Now()
		c.slices = append(c.slices, 100*float64(u-pu+s-ps)/float64(now.Sub(pt)))
		pu, ps, pt = u, s, now
	}
	tick.Stop()
	c.wall = pt.Sub(start)
	c.utime, c.stime = pu-u0, ps-s0
	c.threads, c.switches = map[string]time.Duration{}, map[string]int64{}
	for id, now := range threadCPU(pid) {
		before := threads0[id] // zero for a thread started meanwhile
		c.threads[now.name] += now.cpu - before.cpu
		c.switches[now.name] += now.switches - before.switches
	}
	c.load[1] = loadAvg()
	wg.Wait()
	return c
}

func fetchProfile(addr string, window time.Duration, path string) error {
	secs := max(int(window/time.Second)-1, 1)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// clockTick is the unit of /proc/PID/stat's times (sysconf CLK_TCK).
var clockTick = gosync.OnceValue(func() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if n, perr := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && perr == nil && n > 0 {
		return time.Second / time.Duration(n)
	}
	return 10 * time.Millisecond // USER_HZ on Linux
})

// procCPU reads a process's user and system time (all its threads).
func procCPU(t *testing.T, pid int) (utime, stime time.Duration) {
	t.Helper()
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read CPU time: %v", err)
	}
	_, utime, stime, err = parseStat(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return utime, stime
}

// parseStat reads the name, utime and stime of a /proc stat file.
func parseStat(b []byte) (name string, utime, stime time.Duration, err error) {
	// The name (field 2, in parentheses) may hold spaces and parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 > len(b) {
		return "", 0, 0, fmt.Errorf("parse stat %q: no name", b)
	}
	f := strings.Fields(string(b[end+2:]))
	if len(f) < 13 {
		return "", 0, 0, fmt.Errorf("parse stat %q: %d fields", b, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	s, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return "", 0, 0, fmt.Errorf("parse stat %q: times", b)
	}
	return string(b[open+1 : end]), time.Duration(u) * clockTick(), time.Duration(s) * clockTick(), nil
}

type threadTime struct {
	name     string
	cpu      time.Duration
	switches int64 // voluntary and involuntary context switches
}

// threadCPU reads the CPU time of each thread of pid, by thread id. A
// thread that ends between listing and reading is left out.
func threadCPU(pid int) map[string]threadTime {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ids, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make(map[string]threadTime, len(ids))
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, id.Name(), "stat"))
		if err != nil {
			continue
		}
		name, u, s, err := parseStat(b)
		if err != nil {
			continue
		}
		// Numbered workers (llvmpipe-0, llvmpipe-1) count as one name.
		out[id.Name()] = threadTime{name: strings.TrimRight(name, "0123456789-:"), cpu: u + s,
			switches: contextSwitches(filepath.Join(dir, id.Name(), "status"))}
	}
	return out
}

// contextSwitches reads a thread's voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from its /proc status file (0 if it ended).
func contextSwitches(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
			c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			n += c
		}
	}
	return n
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

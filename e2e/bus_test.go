package e2e

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"
)

const (
	sampleRate   = 48000
	frameSamples = sampleRate / 50 // one 20 ms Opus frame
)

// bus is one stereo null sink: its left channel is the talker's mouth
// (a remap sink that paplay speaks into, and a remap source that the
// talker's app records as its microphone), its right channel the
// listener's ear (a remap sink the listener's app plays to). Recording the
// sink's monitor gives both channels on one clock.
type bus struct {
	name  string // the stereo sink
	mouth string // sink: speech goes in here
	mic   string // source: the talker's microphone
	ear   string // sink: the listener's speaker
}

// newBus loads the modules of a bus named after tag (unique per test:
// other engineers' tests use the same machine) and unloads them when the
// test ends.
func newBus(t *testing.T, tag string) bus {
	t.Helper()
	b := bus{name: "parley_e2e_" + tag, mouth: "parley_e2e_" + tag + "_mouth",
		mic: "parley_e2e_" + tag + "_mic", ear: "parley_e2e_" + tag + "_ear"}
	for _, args := range [][]string{
		{"module-null-sink", "sink_name=" + b.name, "channels=2", "rate=48000",
			"sink_properties=device.description=" + b.name},
		{"module-remap-sink", "sink_name=" + b.mouth, "master=" + b.name, "channels=1",
			"master_channel_map=front-left", "channel_map=mono", "remix=no",
			"sink_properties=device.description=" + b.mouth},
		{"module-remap-sink", "sink_name=" + b.ear, "master=" + b.name, "channels=1",
			"master_channel_map=front-right", "channel_map=mono", "remix=no",
			"sink_properties=device.description=" + b.ear},
		{"module-remap-source", "source_name=" + b.mic, "master=" + b.name + ".monitor", "channels=1",
			"master_channel_map=front-left", "channel_map=mono", "remix=no",
			"source_properties=device.description=" + b.mic},
	} {
		id, err := pactl(append([]string{"load-module"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := pactl("unload-module", id); err != nil {
				t.Errorf("unload %s: %v", args[0], err)
			}
		})
	}
	return b
}

// speech is an utterance: a WAV file and its samples.
type speech struct {
	path    string
	samples []int16
}

// duration is the utterance's length.
func (s speech) duration() time.Duration {
	return time.Duration(len(s.samples)) * time.Second / sampleRate
}

// utterance is the text espeak-ng speaks. No word repeats, so a lag search
// cannot match one word against another.
const utterance = "Parley is a push to talk messenger. Hold the key, speak clearly, and " +
	"everyone in the room hears you while you talk. Later listeners get the same message."

// makeSpeech speaks the utterance to a 48 kHz mono WAV file with espeak-ng
// and sox (espeak-ng writes 22.05 kHz).
func makeSpeech(t *testing.T) speech { return speak(t, utterance) }

// speak speaks text to a 48 kHz mono WAV file.
func speak(t *testing.T, text string) speech {
	t.Helper()
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "espeak.wav"), filepath.Join(dir, "speech.wav")
	if out, err := exec.Command("espeak-ng", "-s", "165", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "48000", "-c", "1", "-b", "16", wav, "norm", "-3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 {
		t.Fatalf("%s: %d bytes, no WAV", wav, len(b))
	}
	return speech{path: wav, samples: pcm(b[44:])}
}

func pcm(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// speak plays the utterance into the bus's mouth and returns when paplay
// has written all of it.
func (b bus) speak(t *testing.T, s speech) {
	t.Helper()
	if err := <-b.speakAsync(s); err != nil {
		t.Fatal(err)
	}
}

// speakAsync starts speaking; the channel gets paplay's result once it
// has written the whole utterance.
func (b bus) speakAsync(s speech) <-chan error {
	done := make(chan error, 1)
	cmd := exec.Command("paplay", "-d", b.mouth, s.path)
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+env.pulse)
	cmd.SysProcAttr = childAttr()
	go func() {
		if out, err := cmd.CombinedOutput(); err != nil {
			done <- fmt.Errorf("paplay %s: %v: %s", s.path, err, out)
			return
		}
		done <- nil
	}()
	return done
}

// tape records the bus's monitor (left: mouth, right: ear) from start
// until stop, and lets a test wait on what it hears.
type tape struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu      gosync.Mutex
	stereo  []int16
	changed chan struct{} // closed and replaced at every new chunk
	err     error
}

// record starts recording the bus; the test's end stops it.
func (b bus) record(t *testing.T) *tape {
	t.Helper()
	cmd := exec.Command("parec", "-d", b.name+".monitor", "--format=s16le", "--rate=48000",
		"--channels=2", "--latency-msec=10")
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+env.pulse)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("parec: %v", err)
	}
	tp := &tape{cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	go tp.read(out)
	t.Cleanup(func() { tp.stop() })
	return tp
}

func (tp *tape) read(r io.Reader) {
	defer close(tp.done)
	buf := make([]byte, 4*480)
	var odd []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := append(odd, buf[:n]...)
			whole := len(chunk) / 4 * 4
			s := pcm(chunk[:whole])
			odd = append([]byte(nil), chunk[whole:]...)
			tp.mu.Lock()
			tp.stereo = append(tp.stereo, s...)
			close(tp.changed)
			tp.changed = make(chan struct{})
			tp.mu.Unlock()
		}
		if err != nil {
			if err != io.EOF {
				tp.mu.Lock()
				tp.err = err
				tp.mu.Unlock()
			}
			return
		}
	}
}

// stop ends the recording and returns the mouth and the ear channels.
func (tp *tape) stop() (mouth, ear []int16) {
	tp.cmd.Process.Signal(os.Interrupt)
	<-tp.done
	tp.cmd.Wait()
	return tp.channels(0)
}

// channels returns both channels recorded from sample from on.
func (tp *tape) channels(from int) (mouth, ear []int16) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	n := len(tp.stereo) / 2
	for i := from; i < n; i++ {
		mouth = append(mouth, tp.stereo[2*i])
		ear = append(ear, tp.stereo[2*i+1])
	}
	return mouth, ear
}

// position is the number of samples per channel recorded so far.
func (tp *tape) position() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.stereo) / 2
}

// waitFor re-checks cond on the channels recorded since from at every new
// chunk, until it holds or timeout passes.
func (tp *tape) waitFor(t *testing.T, from int, timeout time.Duration, what string, cond func(mouth, ear []int16) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		tp.mu.Lock()
		changed := tp.changed
		tp.mu.Unlock()
		if cond(tp.channels(from)) {
			return
		}
		select {
		case <-changed:
		case <-tp.done:
			t.Fatalf("%s: the recording ended (%v)", what, tp.err)
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// speechLevel is the RMS (full scale 1) above which a 20 ms frame counts
// as speech.
const speechLevel = 0.02

// voiced reports whether the 20 ms frame of s starting at i is speech.
func voiced(s []int16, i int) bool {
	return rms(s[i:min(len(s), i+frameSamples)]) > speechLevel
}

// voicedFor is how long s has been speech in total.
func voicedFor(s []int16) time.Duration {
	n := 0
	for i := 0; i+frameSamples <= len(s); i += frameSamples {
		if voiced(s, i) {
			n++
		}
	}
	return time.Duration(n) * 20 * time.Millisecond
}

// quietTail is how long the end of s has been silent.
func quietTail(s []int16) time.Duration {
	n := 0
	for i := len(s) - frameSamples; i >= 0 && !voiced(s, i); i -= frameSamples {
		n++
	}
	return time.Duration(n) * 20 * time.Millisecond
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		f := float64(v) / 32768
		sum += f * f
	}
	return math.Sqrt(sum / float64(len(s)))
}

func (b bus) String() string { return fmt.Sprintf("bus %s", b.name) }

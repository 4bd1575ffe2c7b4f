package audio

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// RecorderConfig configures a Recorder. Zero values select the defaults.
type RecorderConfig struct {
	Encoder EncoderConfig
	// PreRoll is how much audio from before Start a recording includes, up
	// to maxPreRoll. Default 0: the microphone is kept running (warm) while
	// the Recorder is open, so audio from the moment Start is called is
	// captured and nothing needs to be borrowed from the past.
	PreRoll time.Duration
	// PacketBuffer is the capacity of the packet channel; default 3000
	// packets (60 s), so a consumer that stalls for a while loses nothing.
	PacketBuffer int
	// Preprocess cleans the microphone signal (preprocess.go); the zero
	// value leaves it as captured. SetPreprocess changes it while open.
	Preprocess PreprocessConfig
}

const maxPreRoll = 500 * time.Millisecond

// Recording summarises a finished recording.
type Recording struct {
	Packets  int
	Duration time.Duration
	// Waveform has WaveformPoints bytes, 0 (-60 dBFS or quieter) to 255
	// (full scale), each the loudest moment of its slice of the message.
	Waveform []uint8
}

// Recorder turns the microphone (or a WAV file standing in for it) into
// numbered Opus packets, one recording at a time. While it is open the
// capture device runs (warm) and Level reports the input level, so a
// recording starts without losing the first syllable.
//
// Start, Stop, Level and Close are safe to call from any goroutine; a
// single internal goroutine reads the capture ring, frames, encodes and
// sends packets. The packet channel must be drained until it is closed:
// when its buffer is full the recorder waits for the reader.
type Recorder struct {
	src     pcmSource
	release func()
	cfg     RecorderConfig
	enc     *Encoder
	level   levelMeter
	preWant atomic.Uint32 // PreprocessConfig bits, read by the loop

	cmds chan recCmd
	quit chan struct{}
	done chan struct{}

	// loop-owned state
	recording bool
	// idleCleaned counts the samples cleaned between recordings
	// (process: only the first idleCleanFor).
	idleCleaned int64
	out         chan Packet
	seq         uint32
	peaks       []float32
	frames      framer
	history     []int16 // last maxPreRoll of input, a ring
	// frameStart is when the first sample of the frame being filled was
	// read (trace only).
	frameStart time.Time
	histPos    int
	histFull   bool
	finished   *Recording // set when a file source ended the recording
	pktBuf     [maxPacketBytes]byte
	err        error
	pre        *preprocessor
	preOn      PreprocessConfig // what pre is set to
	preFrames  framer           // 20 ms frames for pre
}

func preprocessBits(c PreprocessConfig) uint32 {
	var b uint32
	if c.Denoise {
		b |= 1
	}
	if c.AGC {
		b |= 2
	}
	if c.VAD {
		b |= 4
	}
	return b
}

// SetPreprocess switches the clean-up stages of an open Recorder; it takes
// effect at the next captured frame. Safe from any goroutine.
func (r *Recorder) SetPreprocess(c PreprocessConfig) { r.preWant.Store(preprocessBits(c)) }

// Flowing is closed once the microphone has been delivering audio for about
// 200 ms (at once for file recorders).
func (r *Recorder) Flowing() <-chan struct{} { return r.src.flowing() }

// pcmSource is where a Recorder reads PCM: the capture ring or a file.
type pcmSource interface {
	ready() <-chan struct{}      // signalled when read may return more
	tick() <-chan time.Time      // optional pacing clock (nil if none)
	read(p []int16) (int, error) // never blocks; io.EOF at the end
	begin()                      // a recording starts
	end()                        // the recording ended
	flowing() <-chan struct{}    // closed once audio arrives steadily
	// idle pauses the source between recordings (false: it cannot, or
	// not yet) and wake resumes it; Recorder's goroutine only.
	idle() bool
	wake() error
}

type recCmd struct {
	start bool
	reply chan recReply
}

type recReply struct {
	packets <-chan Packet
	rec     Recording
	err     error
}

// NewRecorder opens the capture device and keeps it running until Close.
// Only one Recorder per Engine can be open at a time.
func (e *Engine) NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	d, err := e.acquireCapture()
	if err != nil {
		return nil, err
	}
	r, err := newRecorder(&deviceSource{d}, cfg, func() { e.releaseCapture(d) })
	if err != nil {
		e.releaseCapture(d)
		return nil, err
	}
	return r, nil
}

// FileRecorderConfig configures a file-fed Recorder.
type FileRecorderConfig struct {
	RecorderConfig
	// Realtime paces the file at the speed of a real microphone; otherwise
	// it is read as fast as packets are consumed.
	Realtime bool
}

// NewFileRecorder returns a Recorder that plays the WAV file at path as if
// it were the microphone: each recording starts at the beginning of the
// file, and the end of the file ends the recording (the packet channel is
// closed; Stop then returns the summary).
func NewFileRecorder(path string, cfg FileRecorderConfig) (*Recorder, error) {
	pcm, err := ReadWAVFile(path)
	if err != nil {
		return nil, err
	}
	return NewPCMRecorder(pcm, cfg)
}

// NewPCMRecorder is NewFileRecorder for samples already in memory (48 kHz
// mono).
func NewPCMRecorder(pcm []int16, cfg FileRecorderConfig) (*Recorder, error) {
	return newRecorder(&memSource{pcm: pcm, realtime: cfg.Realtime}, cfg.RecorderConfig, func() {})
}

func newRecorder(src pcmSource, cfg RecorderConfig, release func()) (*Recorder, error) {
	if cfg.PacketBuffer <= 0 {
		cfg.PacketBuffer = 3000
	}
	cfg.PreRoll = min(max(cfg.PreRoll, 0), maxPreRoll)
	enc, err := NewEncoder(cfg.Encoder)
	if err != nil {
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	pre, err := newPreprocessor(cfg.Preprocess)
	if err != nil {
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	r := &Recorder{
		pre:     pre,
		preOn:   cfg.Preprocess,
		src:     src,
		release: release,
		cfg:     cfg,
		enc:     enc,
		cmds:    make(chan recCmd),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		history: make([]int16, durationToSamples(maxPreRoll)),
	}
	r.preWant.Store(preprocessBits(cfg.Preprocess))
	go r.loop()
	return r, nil
}

// Level is the input level of the last 20 ms, whether or not a recording
// runs. Safe from any goroutine; it does not block.
func (r *Recorder) Level() Level { return r.level.load() }

// Start begins a recording and returns the channel its packets arrive on,
// numbered from 0. The channel is closed after Stop (or the end of a file
// source) once the last, silence-padded, packet is sent.
func (r *Recorder) Start() (<-chan Packet, error) {
	rep, err := r.call(true)
	if err != nil {
		return nil, fmt.Errorf("start recording: %w", err)
	}
	return rep.packets, nil
}

// Stop ends the recording: audio captured up to now is framed, encoded and
// sent, the channel is closed, and the summary is returned.
func (r *Recorder) Stop() (Recording, error) {
	rep, err := r.call(false)
	if err != nil {
		return Recording{}, fmt.Errorf("stop recording: %w", err)
	}
	return rep.rec, nil
}

func (r *Recorder) call(start bool) (recReply, error) {
	reply := make(chan recReply, 1)
	select {
	case r.cmds <- recCmd{start: start, reply: reply}:
	case <-r.done:
		return recReply{}, ErrClosed
	}
	rep := <-reply
	return rep, rep.err
}

// Close ends any recording (closing its channel), stops the goroutine and
// releases the microphone. It is idempotent.
func (r *Recorder) Close() error {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return r.err
}

func (r *Recorder) loop() {
	defer close(r.done)
	defer r.pre.close()
	buf := make([]int16, 4096)
	drain := func() {
		for {
			n, err := r.src.read(buf)
			if n > 0 {
				r.process(buf[:n])
			}
			if errors.Is(err, io.EOF) {
				if r.recording {
					rec := r.finish()
					r.finished = &rec
				}
				return
			}
			if n < len(buf) {
				return
			}
		}
	}
	// Between recordings the microphone is read every idleReadEvery
	// instead of at every device callback: the level and the pre-roll
	// history need no more, and an idle app then wakes 10 times a second
	// for it, not 100 (the ring holds 2 s). Once the source is paused
	// there is nothing to read and the loop sleeps until a command.
	idle := time.NewTicker(idleReadEvery)
	defer idle.Stop()
	quiet, paused := 0, false // idle reads since the last recording; the source paused
	for {
		ready, slow := r.src.ready(), (<-chan time.Time)(nil)
		if !r.recording && r.src.tick() == nil {
			ready = nil
			if !paused {
				slow = idle.C
			}
		}
		select {
		case <-r.quit:
			if r.recording {
				r.finish()
			}
			return
		case c := <-r.cmds:
			if c.start && paused {
				if err := r.src.wake(); err != nil {
					c.reply <- recReply{err: err}
					continue
				}
				paused = false
				idle.Reset(idleReadEvery)
			}
			quiet = 0
			drain()
			c.reply <- r.handle(c)
		case <-ready:
			drain()
		case <-slow:
			drain()
			if quiet++; !paused && quiet >= int(idlePauseAfter/idleReadEvery) {
				if paused = r.src.idle(); paused {
					idle.Stop()
				}
			}
		case <-r.src.tick():
			drain()
		}
	}
}

// idleReadEvery is how often a Recorder reads the capture ring while it is
// not recording.
const idleReadEvery = 100 * time.Millisecond

// idlePauseAfter is how long a warm microphone runs without a recording
// before the Recorder pauses its source (deviceSource.idle: PulseAudio
// corks the stream, which stays connected and keeps its latency). Start
// resumes it: the first samples come one period or two after the uncork
// (TestPulseFirstSyllable), where opening a device cold takes 0.7-1.8 s.
// Paused, an idle app has no capture callbacks and no reads: the capture
// thread had woken 100 times a second and the loop 10 (make cpu).
const idlePauseAfter = 2 * time.Second

func (r *Recorder) handle(c recCmd) recReply {
	if c.start {
		if r.recording {
			return recReply{err: ErrRecording}
		}
		r.recording, r.finished = true, nil
		r.seq, r.peaks = 0, r.peaks[:0]
		r.out = make(chan Packet, r.cfg.PacketBuffer)
		r.frames.reset()
		r.src.begin()
		if roll := r.warmClean(int(durationToSamples(r.cfg.PreRoll))); len(roll) > 0 {
			r.frames.push(roll, r.onFrame)
		}
		return recReply{packets: r.out}
	}
	if r.recording {
		return recReply{rec: r.finish()}
	}
	if r.finished != nil {
		rec := *r.finished
		r.finished = nil
		return recReply{rec: rec}
	}
	return recReply{err: ErrNotRecording}
}

// process runs freshly captured samples through the clean-up stages that
// are on (in 20 ms frames; speexdsp delays them by one frame), then hands
// them on. Between recordings, once the first idleCleanFor after opening
// has settled the noise estimate and gain on the room, the samples go to
// the meter and the history as captured: the clean-up cost about 0.8 % of
// a core on idle audio (make cpu's profile). The state then carries over
// from that or from the last recording, and warmClean brings it up to
// date on the history when a recording starts.
func (r *Recorder) process(s []int16) {
	bits := r.preWant.Load()
	want := PreprocessConfig{Denoise: bits&1 != 0, AGC: bits&2 != 0, VAD: bits&4 != 0}
	if want != r.preOn {
		r.pre.set(want)
		r.preOn = want
	}
	settling := r.idleCleaned < durationToSamples(idleCleanFor)
	if !want.Any() || !r.recording && !settling {
		if r.preFrames.n > 0 { // switched off or stopped mid-frame: pass the rest on as is
			r.processClean(r.preFrames.buf[:r.preFrames.n])
			r.preFrames.reset()
		}
		r.processClean(s)
		return
	}
	if !r.recording {
		r.idleCleaned += int64(len(s))
	}
	r.preFrames.push(s, func(f []int16) {
		r.pre.process(f)
		r.processClean(f)
	})
}

// processClean handles samples after the clean-up: meter, pre-roll
// history, and the recording if one runs.
func (r *Recorder) processClean(s []int16) {
	r.level.store(measureLevel(s[max(0, len(s)-FrameSamples):]))
	for _, v := range s {
		r.history[r.histPos] = v
		r.histPos++
		if r.histPos == len(r.history) {
			r.histPos, r.histFull = 0, true
		}
	}
	if r.recording {
		if TraceEnabled() {
			// The oldest of these samples has waited about as long as
			// they last (they were read when the newest arrived).
			now := time.Now()
			Trace(StageCapture, samplesToDuration(int64(len(s))))
			if r.frames.n == 0 {
				r.frameStart = now
			}
		}
		r.frames.push(s, r.onFrame)
	}
}

// idleCleanFor is how long the clean-up runs on idle audio after the
// Recorder opens: speexdsp's noise estimate takes about 2 s to settle
// (TestWarmClean: -29 dBFS white noise came out at -37 dBFS after 300 ms of
// it, -45 after 1 s, -61 after 2 s).
const idleCleanFor = 2 * time.Second

// preWarm is how much of the audio before a recording the clean-up runs
// over when the recording starts (its output discarded, but for the
// pre-roll), so that the voice gate and the estimates follow the last
// moments before the press. 15 frames: a few ms of work at the press (2 s
// took 10-30 ms at load 9, a delay every live listener would hear).
const preWarm = 300 * time.Millisecond

// warmClean runs the clean-up stages that are on over the newest preWarm
// (or preRoll, if longer) of the history, in whole frames ending at the
// newest sample, and returns the newest preRoll samples of the result.
func (r *Recorder) warmClean(preRoll int) []int16 {
	hist := r.lastHistory(max(preRoll, int(durationToSamples(preWarm))))
	if r.preOn.Any() {
		hist = hist[len(hist)%FrameSamples:]
		for i := 0; i < len(hist); i += FrameSamples {
			r.pre.process(hist[i : i+FrameSamples])
		}
	}
	return hist[max(0, len(hist)-preRoll):]
}

func (r *Recorder) lastHistory(n int) []int16 {
	avail := r.histPos
	if r.histFull {
		avail = len(r.history)
	}
	n = min(n, avail)
	out := make([]int16, 0, n)
	start := (r.histPos - n + len(r.history)) % len(r.history)
	for i := range n {
		out = append(out, r.history[(start+i)%len(r.history)])
	}
	return out
}

func (r *Recorder) onFrame(frame []int16) {
	tracing := TraceEnabled()
	var t0 time.Time
	if tracing {
		t0 = time.Now()
		if !r.frameStart.IsZero() {
			Trace(StageFramer, t0.Sub(r.frameStart))
		}
		r.frameStart = t0 // the next frame starts in this chunk
	}
	n, err := r.enc.EncodeTo(frame, r.pktBuf[:])
	if tracing {
		Trace(StageEncode, time.Since(t0))
	}
	if err != nil {
		r.err = err // keep recording: a bad frame must not end the message
		n = 0
	}
	p := Packet{Seq: r.seq, Data: append([]byte(nil), r.pktBuf[:n]...)}
	r.seq++
	r.peaks = append(r.peaks, measureLevel(frame).Peak)
	select {
	case r.out <- p:
	case <-r.quit:
	}
}

// finish flushes the partial frame, closes the channel and summarises.
func (r *Recorder) finish() Recording {
	r.frames.flush(r.onFrame)
	close(r.out)
	r.recording = false
	r.src.end()
	return Recording{
		Packets:  int(r.seq),
		Duration: time.Duration(r.seq) * FrameDuration,
		Waveform: waveform(r.peaks),
	}
}

// deviceSource reads the capture device's ring.
type deviceSource struct{ d *device }

func (s *deviceSource) ready() <-chan struct{}      { return s.d.ready }
func (s *deviceSource) tick() <-chan time.Time      { return nil }
func (s *deviceSource) read(p []int16) (int, error) { return s.d.readCapture(p), nil }
func (s *deviceSource) begin()                      { s.d.setWake(true) }
func (s *deviceSource) end()                        { s.d.setWake(false) }

// idle pauses (corks) the warm microphone. On PulseAudio a corked record
// stream stays connected and keeps its latency request, so its source
// keeps its short blocks and the stream delivers one period or two after
// the uncork. Checked on the e2e rig's stereo null sink (pactl list
// sinks: "configured 10000 usec" with only the corked stream on it;
// TestPulseFirstSyllable; the e2e scenarios' stored messages hold the
// whole utterance). What a null sink does not do is re-arm its render
// timer for a new stream: the first stream on an idle one waits up to its
// 2 s block, which is why a cold open is slow, not a resume.
//
// A device is paused only once it has been marked flowing and is settled
// on its current stream: paused, its watch stops, and a device the watch
// had not yet marked flowing (a fresh null sink can take 2 s to deliver)
// would leave Flowing's waiters hanging. Until then the Recorder asks
// again at its next idle read.
func (s *deviceSource) idle() bool {
	if !s.d.settled() || !isClosed(s.d.flowing) {
		return false
	}
	return s.d.pause()
}
func (s *deviceSource) wake() error              { return s.d.resume() }
func (s *deviceSource) flowing() <-chan struct{} { return s.d.flowing }

// memSource plays samples in memory as a microphone, from the start of
// each recording.
type memSource struct {
	pcm      []int16
	realtime bool
	pos      int
	begun    bool
	started  time.Time
	ticker   *time.Ticker
	always   chan struct{}
}

func (s *memSource) idle() bool  { return false }
func (s *memSource) end()        {}
func (s *memSource) wake() error { return nil }
func (s *memSource) begin() {
	s.pos, s.begun, s.started = 0, true, time.Now()
	if s.realtime && s.ticker == nil {
		s.ticker = time.NewTicker(10 * time.Millisecond)
	}
	if !s.realtime && s.always == nil {
		s.always = make(chan struct{})
		close(s.always)
	}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *memSource) flowing() <-chan struct{} { return closedChan }

func (s *memSource) ready() <-chan struct{} {
	if !s.begun || s.realtime {
		return nil
	}
	return s.always
}

func (s *memSource) tick() <-chan time.Time {
	if !s.begun || !s.realtime {
		return nil
	}
	return s.ticker.C
}

func (s *memSource) read(p []int16) (int, error) {
	if !s.begun {
		return 0, nil
	}
	end := len(s.pcm)
	if s.realtime {
		end = min(end, int(durationToSamples(time.Since(s.started))))
	}
	n := copy(p, s.pcm[s.pos:max(s.pos, end)])
	s.pos += n
	if s.pos >= len(s.pcm) {
		s.begun = false
		return n, io.EOF
	}
	return n, nil
}

// isClosed reports whether c is closed (it is never sent on).
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

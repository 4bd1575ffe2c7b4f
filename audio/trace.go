package audio

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is one step of the live path from the talker's microphone to the
// listener's speaker, as the latency trace measures it.
type Stage int

// Stages of the live path, in order. Talker side: StageCapture (samples
// waiting in the capture ring when the recorder reads them), StageFramer
// (time the oldest sample of a frame waited for the frame to fill),
// StageEncode (Opus encode), StageSend (packet encoded and stored until
// handed to the connection's writer). StageServer is network plus server,
// from the talker's writer to the listener's reader (measured only when
// both are in one process, or when marks are joined across processes).
// Listener side: StageReceive (read off the connection until pushed into
// the jitter buffer), StageJitter (pushed until played out), StageDecode
// (Opus decode), StageMixer (decoded until the mixer takes it) and
// StageDevice (mixed until the playback callback takes it).
const (
	StageCapture Stage = iota
	StageFramer
	StageEncode
	StageSend
	StageServer
	StageReceive
	StageJitter
	StageDecode
	StageMixer
	StageDevice
	numStages
)

var stageNames = [numStages]string{"capture", "framer", "encode", "send", "server", "receive", "jitter", "decode", "mixer", "device"}

func (s Stage) String() string {
	if s < 0 || s >= numStages {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s]
}

// traceSamples is how many recent durations each stage keeps (about 80 s of
// packets).
const traceSamples = 4096

// maxTraceMarks bounds the per-packet marks waiting for their next stage.
const maxTraceMarks = 8192

// tracer collects the durations of the stages. It is off unless
// EnableTrace turns it on; when off, every Trace call is one atomic load.
// It is never called from the device callback: the device stage is
// computed by the mixer from what the ring holds.
type tracer struct {
	on atomic.Bool

	mu    sync.Mutex
	d     [numStages][]time.Duration
	n     [numStages]int
	marks map[traceKey]time.Time
}

type traceKey struct {
	stage Stage
	key   string
	seq   uint32
}

var theTracer tracer

// EnableTrace turns the latency trace on or off (the app turns it on with
// PARLEY_TRACE=1 or -trace) and clears what was collected.
func EnableTrace(on bool) {
	t := &theTracer
	t.mu.Lock()
	t.d, t.n, t.marks = [numStages][]time.Duration{}, [numStages]int{}, map[traceKey]time.Time{}
	t.mu.Unlock()
	t.on.Store(on)
}

// TraceEnabled reports whether the trace is on.
func TraceEnabled() bool { return theTracer.on.Load() }

// Trace records that one packet spent d in stage. Safe from any goroutine
// except the audio callback.
func Trace(stage Stage, d time.Duration) {
	t := &theTracer
	if !t.on.Load() || stage < 0 || stage >= numStages {
		return
	}
	t.mu.Lock()
	t.addLocked(stage, d)
	t.mu.Unlock()
}

func (t *tracer) addLocked(stage Stage, d time.Duration) {
	if t.d[stage] == nil {
		t.d[stage] = make([]time.Duration, traceSamples)
	}
	t.d[stage][t.n[stage]%traceSamples] = d
	t.n[stage]++
}

// TraceMark records that packet seq of the message key reached the end of
// stage at time at. If the end of stage-1 was marked for the same packet,
// the time between is recorded as stage's duration. Stages measured across
// components that share no packet type (sync and the recorder, two
// clients in one process) are joined this way.
func TraceMark(stage Stage, key string, seq uint32, at time.Time) {
	t := &theTracer
	if !t.on.Load() || stage < 0 || stage >= numStages {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.marks == nil || len(t.marks) >= maxTraceMarks {
		t.marks = map[traceKey]time.Time{} // marks nobody followed up: start over
	}
	prev := traceKey{stage - 1, key, seq}
	if from, ok := t.marks[prev]; ok && stage > 0 {
		delete(t.marks, prev)
		t.addLocked(stage, at.Sub(from))
	}
	if stage < numStages-1 {
		t.marks[traceKey{stage, key, seq}] = at
	}
}

// StageStats summarises one stage's recent durations.
type StageStats struct {
	Stage    Stage
	N        int // packets measured (all time; percentiles cover the last traceSamples)
	P50, P95 time.Duration
}

// TraceReport returns the stages measured so far, in path order.
func TraceReport() []StageStats {
	t := &theTracer
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []StageStats
	for s := range numStages {
		n := t.n[s]
		if n == 0 {
			continue
		}
		d := slices.Clone(t.d[s][:min(n, traceSamples)])
		slices.Sort(d)
		out = append(out, StageStats{Stage: s, N: n, P50: d[len(d)/2], P95: d[(len(d)*95)/100]})
	}
	return out
}

// FormatTrace renders a report as one line per stage, for example
//
//	trace: stage=jitter n=150 p50=21.30ms p95=40.12ms
//
// followed by a line with the sums of the p50 and p95 columns.
func FormatTrace(stats []StageStats) string {
	var b strings.Builder
	var s50, s95 time.Duration
	for _, s := range stats {
		fmt.Fprintf(&b, "trace: stage=%s n=%d p50=%.2fms p95=%.2fms\n", s.Stage, s.N, ms(s.P50), ms(s.P95))
		s50 += s.P50
		s95 += s.P95
	}
	fmt.Fprintf(&b, "trace: stage=total p50=%.2fms p95=%.2fms\n", ms(s50), ms(s95))
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

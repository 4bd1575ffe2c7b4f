package audio

import (
	"slices"
	"sync"
	"time"
)

// JitterConfig bounds the adaptive playout delay of a JitterBuffer.
type JitterConfig struct {
	// MinDelay is the smallest delay between the first packet's arrival and
	// its playout; default one frame (20 ms).
	MinDelay time.Duration
	// MaxDelay caps the delay the buffer grows to; default 400 ms.
	MaxDelay time.Duration
}

func (c JitterConfig) withDefaults() JitterConfig {
	if c.MinDelay <= 0 {
		c.MinDelay = FrameDuration
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 400 * time.Millisecond
	}
	c.MaxDelay = max(c.MaxDelay, c.MinDelay)
	return c
}

// FrameKind says what a JitterBuffer wants played for one 20 ms slot.
type FrameKind int

const (
	// FrameWait: playout has not started (or restarted after an underrun
	// ran dry); play silence, the position does not advance.
	FrameWait FrameKind = iota
	// FrameNormal: decode Data, the packet numbered Seq.
	FrameNormal
	// FrameFEC: packet Seq was lost but Seq+1 is here; decode Seq from the
	// FEC data in Data (the payload of Seq+1).
	FrameFEC
	// FrameConceal: packet Seq is lost; conceal it.
	FrameConceal
	// FrameStall: the next packet is late and nothing after it has arrived;
	// conceal for continuity but the position does not advance, so the
	// packet still plays when it comes.
	FrameStall
	// FrameEnd: the stream ended and everything has been played.
	FrameEnd
)

var frameKindNames = [...]string{"wait", "normal", "fec", "conceal", "stall", "end"}

func (k FrameKind) String() string { return frameKindNames[k] }

// JitterFrame is what to play for one 20 ms slot.
type JitterFrame struct {
	Kind FrameKind
	Seq  uint32
	Data []byte
	// Pushed is when a FrameNormal packet was pushed (for the trace).
	Pushed time.Time
	// Wait, for a FrameWait while packets are buffered, is how long until
	// the target delay has passed and playout can start (0: nothing is
	// buffered, wait for a packet).
	Wait time.Duration
	// Excess is how many whole frames more than the target delay are
	// queued behind this one. A player may discard a FrameNormal slot that
	// decodes to silence while Excess > 0: the delay then shrinks inside a
	// pause, where nobody hears it, instead of by dropping speech.
	Excess int
	// Spare is how much less delay every packet of the last
	// jitterSpareWindow slots would have needed (the least any of them
	// waited here, less jitterSpareHeadroom): a player may shorten a
	// silent frame by it, and then calls Shed. Zero until a whole window
	// has been seen since playout (re)started or last stalled; the window
	// slides, so one packet that came just in time holds the shedding
	// back for one window only.
	Spare time.Duration
}

// JitterStats counts what a JitterBuffer did.
type JitterStats struct {
	Delay     time.Duration // current target playout delay
	Depth     int           // packets buffered ahead of playout
	Played    int           // FrameNormal slots
	FEC       int           // packets rebuilt from FEC
	Concealed int           // packets concealed
	Stalls    int           // FrameStall slots
	Late      int           // packets that arrived after their slot
	Dropped   int           // packets skipped to shrink the delay
	Skipped   int           // silent frames a Player discarded to shrink the delay
	Shed      time.Duration // delay a Player took off inside pauses (see Spare)
	// LateWrites counts frames a Player wrote after the mixer had found
	// its voice empty (the loop was scheduled late); each raises what it
	// keeps queued (see Player's low water).
	LateWrites int
}

const (
	jitterSlots  = 512 // 10 s of packets ahead
	jitterWindow = 128 // arrivals (2.5 s) over which jitter is measured
	// jitterPercentile of the window's transit variation is the target: a
	// few outliers (a scheduling hiccup of either app) do not set the
	// delay for everyone, which the spread (max - min) did.
	jitterPercentile = 95
	jitterHeadroom   = 1  // frames above target before dropping
	jitterDropAfter  = 25 // over-target slots before a drop, one frame over
	jitterDropMinGap = 4  // slots between drops however far over (sheds <= 25 %)
	jitterStallLimit = 3  // stalls before playout re-buffers
	// jitterSpareWindow slots (2.5 s) of waits show how much of the delay
	// is spare; jitterSpareHeadroom of it is kept.
	jitterSpareWindow   = 128
	jitterSpareHeadroom = 4 * time.Millisecond
)

// JitterBuffer reorders one incoming stream by packet number and decides,
// slot by slot, what to play. Its delay adapts: it starts at MinDelay (one
// frame), grows to cover the 95th percentile of the transit variation
// (transit time less the window's fastest) over the last 128 packets, and
// shrinks back when the variation does. Measured between two app
// processes the old target (the whole spread plus a frame) sat at
// 48-54 ms because of a few late packets per second caused by the apps'
// own CPU scheduling. The delay runs from the fastest arrival seen before
// playout starts, not from the first packet's own: between two apps the
// first packet of a message came 10-45 ms behind the cadence of the rest
// (the message's set-up on the talker, the server and the listener), and
// every packet after it waited that much longer.
//
// Whatever queues beyond the target is delay that jitter does not need:
// it builds up when a sender's clock runs fast, and whenever the output
// stalls (a playback device that missed its deadline under CPU load plays
// silence and resumes where it was, so every stall adds its length to the
// delay for good). It is shed two ways: each Pop reports the excess so the
// player can discard silent frames (JitterFrame.Excess), and when more than
// one frame above target stays queued the buffer skips packets, one per
// jitterDropAfter/excess slots (half a second one frame over; at most one
// slot in jitterDropMinGap far over), so that a long stall is recovered in
// about a second instead of growing the delay. A slow sender shows up as
// stalls.
//
// Push and Pop may be called from different goroutines; a mutex guards the
// state and is held only for bookkeeping, never for decoding. Time is passed
// in so tests can drive it with a synthetic clock.
type JitterBuffer struct {
	mu  sync.Mutex
	cfg JitterConfig

	slots [jitterSlots]struct {
		seq  uint32
		data []byte
		at   time.Time // pushed
		ok   bool
	}

	started    bool
	buffering  bool // waiting to (re)start playout
	bufferFrom time.Time
	next       uint32 // next seq to play
	highest    uint32 // highest seq received
	haveAny    bool
	closed     bool

	base     time.Time // arrival time of the first timed packet minus its seq offset
	haveBase bool
	catchUp  bool // the player sheds the excess by playing faster: no drops
	transits [jitterWindow]time.Duration
	nTransit int
	sorted   [jitterWindow]time.Duration // scratch for the percentile

	overTarget int
	stalls     int
	stats      JitterStats

	// How long each of the last jitterSpareWindow packets waited here
	// between its push and its slot (a ring; see Spare), and how many
	// were counted since playout (re)started or stalled.
	waitRing [jitterSpareWindow]time.Duration
	waits    int
}

// NewJitterBuffer returns an empty buffer.
func NewJitterBuffer(cfg JitterConfig) *JitterBuffer {
	return &JitterBuffer{cfg: cfg.withDefaults(), buffering: true}
}

// Push adds a packet handed over at now. Its transit (for the target) is
// taken at p.Arrived when set, else at now. Duplicates and packets whose
// slot has passed are dropped (and counted as late).
func (j *JitterBuffer) Push(p Packet, now time.Time) { j.push(p, now, true) }

// PushBacklog adds a packet that was recorded before the listener joined
// the stream (read from a store, not off the network as it was sent): it
// is played like any other, but its arrival says nothing about network
// jitter, so it adds no transit sample. A burst of backlog counted as
// arrivals would read as hundreds of milliseconds of jitter and raise the
// target to MaxDelay for the rest of the message.
func (j *JitterBuffer) PushBacklog(p Packet, now time.Time) { j.push(p, now, false) }

// SetCatchUp tells the buffer that its player is playing the excess off
// faster (Player's catch-up): while on, the buffer drops no packets to
// shrink the delay.
func (j *JitterBuffer) SetCatchUp(on bool) {
	j.mu.Lock()
	j.catchUp = on
	j.overTarget = 0
	j.mu.Unlock()
}

func (j *JitterBuffer) push(p Packet, now time.Time, timed bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	sent := time.Duration(p.Seq) * FrameDuration
	if !j.haveAny {
		j.haveAny = true
		j.highest = p.Seq
		j.bufferFrom = now
		if !j.started {
			j.next = p.Seq
		}
	}
	at := now
	if timed {
		// The network's jitter is in when the packet was read off the
		// connection; a packet handed over later (a listener who joins a
		// stream whose packets are already in memory) keeps that time.
		if !p.Arrived.IsZero() && !p.Arrived.After(now) {
			at = p.Arrived
		}
		if !j.haveBase {
			j.base = at.Add(-sent)
			j.haveBase = true
		}
		transit := at.Sub(j.base) - sent
		j.transits[j.nTransit%jitterWindow] = transit
		j.nTransit++
	}

	if j.started && seqBefore(p.Seq, j.next) {
		j.stats.Late++
		return
	}
	if !j.started && seqBefore(p.Seq, j.next) {
		// An earlier packet arrived before playout started: it plays
		// first, a frame earlier per packet than the one it precedes.
		j.bufferFrom = j.bufferFrom.Add(-time.Duration(j.next-p.Seq) * FrameDuration)
		j.next = p.Seq
	}
	if p.Seq-j.next >= jitterSlots {
		// Far ahead of playout (sender restarted numbering, or a gap of
		// more than 10 s): start over from this packet.
		j.clearLocked()
		j.next = p.Seq
		j.started = false
		j.buffering = true
		j.bufferFrom = now
	}
	s := &j.slots[p.Seq%jitterSlots]
	if s.ok && s.seq == p.Seq {
		return
	}
	s.seq, s.data, s.at, s.ok = p.Seq, p.Data, now, true
	if seqBefore(j.highest, p.Seq) {
		j.highest = p.Seq
	}
	if timed && j.buffering && !seqBefore(p.Seq, j.next) {
		// The target delay runs from when the packet to play first would
		// have arrived by the fastest path seen so far: a first packet
		// held up on its way (the talker's and the server's set-up of a
		// new message cost it 10-25 ms) does not hold up every packet
		// after it.
		if from := at.Add(-time.Duration(p.Seq-j.next) * FrameDuration); from.Before(j.bufferFrom) {
			j.bufferFrom = from
		}
	}
}

// CloseInput marks the end of the stream: once the buffered packets are
// played, Pop returns FrameEnd.
func (j *JitterBuffer) CloseInput() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// Pop returns what to play for the next 20 ms slot at time now. It never
// blocks.
func (j *JitterBuffer) Pop(now time.Time) JitterFrame {
	j.mu.Lock()
	defer j.mu.Unlock()
	target := j.targetLocked()
	j.stats.Delay = target
	if j.buffering {
		if !j.haveAny || j.depthLocked() == 0 {
			if j.closed {
				return JitterFrame{Kind: FrameEnd}
			}
			return JitterFrame{Kind: FrameWait}
		}
		if waited := now.Sub(j.bufferFrom); !j.closed && waited < target {
			return JitterFrame{Kind: FrameWait, Wait: target - waited}
		}
		j.buffering = false
		j.started = true
		j.waits = 0
	}

	depth := j.depthLocked()
	j.stats.Depth = depth
	// Shrink the delay (or absorb a fast sender) by skipping packets, the
	// faster the further over the target the queue is.
	targetFrames := int((target + FrameDuration - 1) / FrameDuration)
	// Over is counted in time, not in whole frames of target: rounding
	// the target up to frames kept up to a frame more queued than needed.
	over := 0
	if ex := time.Duration(depth-jitterHeadroom)*FrameDuration - target; ex > 0 {
		over = int((ex + FrameDuration - 1) / FrameDuration)
	}
	if over > 0 && !j.catchUp {
		j.overTarget++
		if j.overTarget >= max(jitterDropMinGap, jitterDropAfter/over) {
			j.overTarget = 0
			j.takeLocked(j.next)
			j.next++
			j.stats.Dropped++
			j.shedLocked(FrameDuration)
			depth--
		}
	} else {
		j.overTarget = 0
	}

	seq := j.next
	pushed := j.slots[seq%jitterSlots].at
	if data, ok := j.takeLocked(seq); ok {
		j.next++
		j.stalls = 0
		j.stats.Played++
		f := JitterFrame{Kind: FrameNormal, Seq: seq, Data: data, Pushed: pushed, Excess: max(0, depth-1-targetFrames)}
		j.waitRing[j.waits%jitterSpareWindow] = now.Sub(pushed)
		j.waits++
		if j.waits >= jitterSpareWindow {
			f.Spare = max(0, slices.Min(j.waitRing[:])-jitterSpareHeadroom)
		}
		return f
	}
	if seqBefore(seq, j.highest) {
		// Lost (or hopelessly late): something after it has arrived.
		j.next++
		j.stalls = 0
		if s := &j.slots[(seq+1)%jitterSlots]; s.ok && s.seq == seq+1 {
			j.stats.FEC++
			return JitterFrame{Kind: FrameFEC, Seq: seq, Data: s.data}
		}
		j.stats.Concealed++
		return JitterFrame{Kind: FrameConceal, Seq: seq}
	}
	if j.closed {
		return JitterFrame{Kind: FrameEnd}
	}
	// Underrun: nothing at or after seq yet.
	j.stalls++
	j.stats.Stalls++
	j.waits = 0 // every later packet waits a frame longer
	if j.stalls > jitterStallLimit {
		j.buffering = true
		j.bufferFrom = now
		return JitterFrame{Kind: FrameWait}
	}
	return JitterFrame{Kind: FrameStall, Seq: seq}
}

// Due reports whether Pop would play something other than a stall now:
// the next packet is here, a later one is (the next is lost), the input
// is closed, or playout has not started. A player that still has time
// before its device needs the next frame waits for the packet while this
// is false, instead of concealing a packet that is only a little late.
func (j *JitterBuffer) Due() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.buffering || j.closed {
		return true
	}
	if s := &j.slots[j.next%jitterSlots]; s.ok && s.seq == j.next {
		return true
	}
	return seqBefore(j.next, j.highest)
}

// Shed tells the buffer that its player shortened the delay by d (it
// played d less of a silent frame, or skipped one): every packet from now
// on waits d less than it would have, so the waits seen are counted d
// shorter, and the rest of the spare can go in the same pause.
func (j *JitterBuffer) Shed(d time.Duration) {
	j.mu.Lock()
	j.shedLocked(d)
	j.stats.Shed += d
	j.mu.Unlock()
}

// shedLocked counts every wait of the window d shorter: each packet from
// now on waits d less than it would have.
func (j *JitterBuffer) shedLocked(d time.Duration) {
	for i := range j.waitRing {
		j.waitRing[i] -= d
	}
}

// Stats returns a snapshot of the counters.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Delay = j.targetLocked()
	s.Depth = j.depthLocked()
	return s
}

// targetLocked is the playout delay: the jitterPercentile of recent
// transit variation (each transit less the window's smallest), within the
// configured bounds.
func (j *JitterBuffer) targetLocked() time.Duration {
	n := min(j.nTransit, jitterWindow)
	if n < 2 {
		return j.cfg.MinDelay
	}
	d := j.sorted[:n]
	copy(d, j.transits[:n])
	slices.Sort(d)
	v := d[(n-1)*jitterPercentile/100] - d[0]
	return min(j.cfg.MaxDelay, max(j.cfg.MinDelay, v))
}

func (j *JitterBuffer) depthLocked() int {
	if !j.haveAny || seqBefore(j.highest, j.next) {
		return 0
	}
	return int(j.highest-j.next) + 1
}

func (j *JitterBuffer) takeLocked(seq uint32) ([]byte, bool) {
	s := &j.slots[seq%jitterSlots]
	if !s.ok || s.seq != seq {
		return nil, false
	}
	data := s.data
	s.ok, s.data = false, nil
	return data, true
}

func (j *JitterBuffer) clearLocked() {
	for i := range j.slots {
		j.slots[i].ok, j.slots[i].data = false, nil
	}
}

// seqBefore reports whether a comes before b, with wrap-around.
func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

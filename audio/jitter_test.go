package audio

import (
	"sort"
	"testing"
	"time"
)

type jitterCase struct {
	name    string
	packets int
	drift   float64                     // sender clock rate error: +0.02 = 2 % fast
	delay   func(seq int) time.Duration // network delay of each packet
	lost    func(seq int) bool
	// outStalled reports receiver slots in which the output did not pull
	// (a playback device that missed its deadline): no Pop happens.
	outStalled func(slot int) bool
	check      func(t *testing.T, r jitterRun)
}

type jitterRun struct {
	stats    JitterStats
	played   []uint32 // seqs decoded normally
	kinds    map[FrameKind]int
	maxDelay time.Duration // largest target delay seen
	endDelay time.Duration // target delay at the end
	maxDepth int
	depths   []int // depth after each slot
	excess   int   // largest JitterFrame.Excess seen
	ended    bool
}

// simulate pushes packets at their arrival times and pops a slot every
// 20 ms of receiver time, like a player does.
func simulate(t *testing.T, c jitterCase) jitterRun {
	t.Helper()
	start := time.Unix(1000, 0)
	type arrival struct {
		at  time.Time
		seq int
	}
	var arrivals []arrival
	for s := range c.packets {
		if c.lost != nil && c.lost(s) {
			continue
		}
		sent := time.Duration(float64(time.Duration(s)*FrameDuration) / (1 + c.drift))
		var d time.Duration
		if c.delay != nil {
			d = c.delay(s)
		}
		arrivals = append(arrivals, arrival{start.Add(sent + 5*time.Millisecond + d), s})
	}
	sort.SliceStable(arrivals, func(i, j int) bool { return arrivals[i].at.Before(arrivals[j].at) })
	jb := NewJitterBuffer(JitterConfig{})
	r := jitterRun{kinds: map[FrameKind]int{}}
	ai := 0
	now := start
	for slot := 0; slot < 4*c.packets+500; slot++ {
		for ai < len(arrivals) && !arrivals[ai].at.After(now) {
			jb.Push(Packet{Seq: uint32(arrivals[ai].seq), Data: []byte{byte(arrivals[ai].seq)}}, arrivals[ai].at)
			ai++
		}
		if ai == len(arrivals) {
			jb.CloseInput()
		}
		if c.outStalled != nil && c.outStalled(slot) {
			r.depths = append(r.depths, jb.Stats().Depth)
			now = now.Add(FrameDuration)
			continue
		}
		f := jb.Pop(now)
		r.excess = max(r.excess, f.Excess)
		r.kinds[f.Kind]++
		st := jb.Stats()
		r.maxDelay = max(r.maxDelay, st.Delay)
		r.maxDepth = max(r.maxDepth, st.Depth)
		r.depths = append(r.depths, st.Depth)
		switch f.Kind {
		case FrameNormal:
			if f.Data[0] != byte(f.Seq) {
				t.Fatalf("slot %d: data of packet %d returned for %d", slot, f.Data[0], f.Seq)
			}
			if n := len(r.played); n > 0 && !seqBefore(r.played[n-1], f.Seq) {
				t.Fatalf("slot %d: played %d after %d", slot, f.Seq, r.played[n-1])
			}
			r.played = append(r.played, f.Seq)
		case FrameFEC:
			if f.Data[0] != byte(f.Seq+1) {
				t.Fatalf("slot %d: FEC for %d carries packet %d, want %d", slot, f.Seq, f.Data[0], f.Seq+1)
			}
		case FrameEnd:
			r.ended = true
		}
		if r.ended {
			break
		}
		now = now.Add(FrameDuration)
	}
	r.stats = jb.Stats()
	r.endDelay = r.stats.Delay
	return r
}

func TestJitterBuffer(t *testing.T) {
	cases := []jitterCase{
		{
			name:    "steady",
			packets: 200,
			check: func(t *testing.T, r jitterRun) {
				if len(r.played) != 200 || r.stats.Late+r.stats.Dropped+r.stats.Stalls != 0 {
					t.Errorf("played %d, stats %+v; want all 200 played cleanly", len(r.played), r.stats)
				}
				if r.maxDelay > 2*FrameDuration {
					t.Errorf("delay grew to %v on a clean network, want <= 40ms", r.maxDelay)
				}
			},
		},
		{
			name:    "reordering",
			packets: 200,
			// every 5th packet is overtaken by the next one
			delay: func(s int) time.Duration {
				if s%5 == 0 {
					return 30 * time.Millisecond
				}
				return 0
			},
			check: func(t *testing.T, r jitterRun) {
				if len(r.played) < 195 {
					t.Errorf("played %d of 200 after reordering (stats %+v)", len(r.played), r.stats)
				}
				if r.stats.Late > 5 {
					t.Errorf("%d late packets, want <= 5 once the delay adapts", r.stats.Late)
				}
			},
		},
		{
			name:    "loss",
			packets: 200,
			lost:    func(s int) bool { return s%10 == 3 },
			check: func(t *testing.T, r jitterRun) {
				if r.stats.FEC != 20 {
					t.Errorf("FEC %d, want 20 (every lost packet's successor arrived)", r.stats.FEC)
				}
				if len(r.played) != 180 {
					t.Errorf("played %d, want 180", len(r.played))
				}
			},
		},
		{
			name:    "double loss conceals then FEC",
			packets: 100,
			lost:    func(s int) bool { return s == 40 || s == 41 },
			check: func(t *testing.T, r jitterRun) {
				if r.stats.Concealed != 1 || r.stats.FEC != 1 {
					t.Errorf("concealed %d FEC %d, want 1 and 1", r.stats.Concealed, r.stats.FEC)
				}
			},
		},
		{
			name:    "burst after a stall",
			packets: 300,
			// packets 100..119 are held up and arrive together at once
			delay: func(s int) time.Duration {
				if s >= 100 && s < 120 {
					return time.Duration(120-s) * FrameDuration
				}
				return 0
			},
			check: func(t *testing.T, r jitterRun) {
				if got := len(r.played) + r.stats.Late + r.stats.Dropped; got != 300 {
					t.Errorf("played+late+dropped = %d, want 300", got)
				}
				if r.maxDelay < 200*time.Millisecond {
					t.Errorf("delay peaked at %v, want it to grow past 200ms during the burst", r.maxDelay)
				}
				if r.endDelay > 60*time.Millisecond {
					t.Errorf("delay ended at %v, want it to shrink back (<= 60ms)", r.endDelay)
				}
			},
		},
		{
			name:    "random jitter",
			packets: 500,
			delay: func(s int) time.Duration {
				return time.Duration((s*7919)%61) * time.Millisecond // 0..60 ms, pseudo-random
			},
			check: func(t *testing.T, r jitterRun) {
				if len(r.played) < 490 {
					t.Errorf("played %d of 500 (stats %+v)", len(r.played), r.stats)
				}
				if r.maxDelay > 120*time.Millisecond {
					t.Errorf("delay %v, want <= 120ms for 60ms of jitter", r.maxDelay)
				}
			},
		},
		{
			name:    "rare outliers do not set the delay",
			packets: 500,
			// one packet in 50 is 40 ms late (a scheduling hiccup)
			delay: func(s int) time.Duration {
				if s%50 == 25 {
					return 40 * time.Millisecond
				}
				return 0
			},
			check: func(t *testing.T, r jitterRun) {
				if r.endDelay > FrameDuration {
					t.Errorf("delay ended at %v, want one frame: 2%% outliers are above the 95th percentile", r.endDelay)
				}
				if len(r.played) < 490 {
					t.Errorf("played %d of 500 (stats %+v)", len(r.played), r.stats)
				}
			},
		},
		{
			name:    "sender clock 2% fast",
			packets: 1500,
			drift:   0.02,
			check: func(t *testing.T, r jitterRun) {
				if r.stats.Dropped == 0 {
					t.Errorf("no packet dropped: a fast sender must be absorbed")
				}
				if r.maxDepth > 8 {
					t.Errorf("queue grew to %d packets, want <= 8", r.maxDepth)
				}
				if r.stats.Late != 0 {
					t.Errorf("%d late packets, want 0", r.stats.Late)
				}
			},
		},
		{
			name:    "output stall is shed",
			packets: 300,
			// the output pulls nothing for 400 ms: 20 packets queue up
			outStalled: func(slot int) bool { return slot >= 50 && slot < 70 },
			check: func(t *testing.T, r jitterRun) {
				if r.excess < 10 {
					t.Errorf("largest excess reported %d, want >= 10 after a 400 ms stall", r.excess)
				}
				// One drop per 25 slots would need ten seconds; shedding
				// in proportion to the excess takes about one.
				if d := r.depths[70+75]; d > 4 {
					t.Errorf("depth %d packets 1.5 s after the stall, want <= 4", d)
				}
				if got := len(r.played) + r.stats.Dropped; got != 300 {
					t.Errorf("played+dropped = %d, want 300", got)
				}
			},
		},
		{
			name:    "sender clock 2% slow",
			packets: 1500,
			drift:   -0.02,
			check: func(t *testing.T, r jitterRun) {
				if len(r.played) != 1500 || r.stats.Late != 0 {
					t.Errorf("played %d late %d, want all 1500 and none late", len(r.played), r.stats.Late)
				}
				if r.maxDepth > 4 {
					t.Errorf("queue grew to %d packets, want <= 4", r.maxDepth)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := simulate(t, c)
			if !r.ended {
				t.Fatalf("stream never ended (stats %+v)", r.stats)
			}
			t.Logf("stats %+v kinds %v maxDelay %v", r.stats, r.kinds, r.maxDelay)
			c.check(t, r)
		})
	}
}

func BenchmarkJitterBuffer(b *testing.B) {
	jb := NewJitterBuffer(JitterConfig{})
	data := make([]byte, 60)
	now := time.Unix(0, 0)
	b.ReportAllocs()
	var seq uint32
	for b.Loop() {
		jb.Push(Packet{Seq: seq, Data: data}, now)
		jb.Pop(now)
		seq++
		now = now.Add(FrameDuration)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

// TestJitterSpare: once a whole window of slots shows that every packet
// waited longer than it needed, the buffer reports the spare (the least
// wait, less headroom); what the player sheds comes off it at once;
// after a stall it is measured afresh. Packets arrive 0-3 ms late in turn, the
// player pops every 20 ms.
func TestJitterSpare(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	t0 := time.Unix(1000, 0)
	late := -1 // a packet that arrives more than a frame late
	arrival := func(seq int) time.Time {
		at := t0.Add(time.Duration(seq)*FrameDuration + time.Duration(seq%4)*time.Millisecond)
		if seq == late {
			at = at.Add(FrameDuration + 5*time.Millisecond)
		}
		return at
	}
	pushed := map[int]bool{}
	popAt := func(now time.Time) JitterFrame {
		from := int(now.Sub(t0)/FrameDuration) - 8
		for seq := max(0, from); seq < from+16; seq++ {
			if !pushed[seq] && !arrival(seq).After(now) {
				jb.Push(Packet{Seq: uint32(seq), Data: []byte{1}}, arrival(seq))
				pushed[seq] = true
			}
		}
		return jb.Pop(now)
	}
	offset := FrameDuration // the target: the first packet plays 20 ms after it came
	slot := 0
	run := func(slots int) (last JitterFrame) {
		for range slots {
			f := popAt(t0.Add(offset + time.Duration(slot)*FrameDuration))
			if f.Kind != FrameNormal && f.Kind != FrameStall {
				t.Fatalf("slot %d: %v", slot, f.Kind)
			}
			slot++
			last = f
		}
		return last
	}
	steps := []struct {
		name  string
		slots int
		shed  time.Duration // the player sheds this after the step
		want  time.Duration // Spare at the step's last slot
	}{
		{"before a whole window", jitterSpareWindow - 1, 0, 0},
		{"a whole window: waits 17-20 ms", 1, 10 * time.Millisecond, 17*time.Millisecond - jitterSpareHeadroom},
		{"right after shedding 10 ms: the waits seen count 10 ms less", 1, 0, 7*time.Millisecond - jitterSpareHeadroom},
		{"waits 7-10 ms", jitterSpareWindow, 0, 7*time.Millisecond - jitterSpareHeadroom},
	}
	for _, s := range steps {
		f := run(s.slots)
		if f.Spare != s.want {
			t.Errorf("%s: spare %v, want %v", s.name, f.Spare, s.want)
		}
		if s.shed > 0 {
			jb.Shed(s.shed)
			offset -= s.shed
		}
	}
	// A packet more than a frame late: a stall, after which every packet waits
	// a frame longer than before, so nothing seen earlier counts.
	late = slot
	if f := run(1); f.Kind != FrameStall {
		t.Fatalf("late packet: %v, want a stall", f.Kind)
	}
	if f := run(jitterSpareWindow - 1); f.Spare != 0 {
		t.Errorf("spare %v within a window of a stall, want 0", f.Spare)
	}
	if st := jb.Stats(); st.Shed != 10*time.Millisecond || st.Stalls != 1 {
		t.Errorf("stats %+v, want 10 ms shed and 1 stall", st)
	}
}

// TestJitterStartsFromFastest: playout starts the target delay after the
// first packet would have arrived by the fastest path seen before it
// starts, not after the first packet's own arrival: a first packet held
// up by the set-up of a new message (measured 10-25 ms between two apps)
// does not add its lateness to every packet after it. Packets after the
// first arrive on time, one every 20 ms from t0; the buffer is popped
// every millisecond until the first packet plays.
func TestJitterStartsFromFastest(t *testing.T) {
	cases := []struct {
		name      string
		firstLate time.Duration // packet 0 arrives at t0 + this
		want      time.Duration // packet 0 plays at t0 + this
	}{
		{"first on time", 0, FrameDuration},
		{"first 15 ms late: packet 1 shows it", 15 * time.Millisecond, FrameDuration},
		{"first 5 ms late: packet 1 shows it as it arrives", 5 * time.Millisecond, FrameDuration},
		{"first after the second", 30 * time.Millisecond, 30 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jb := NewJitterBuffer(JitterConfig{})
			t0 := time.Unix(1000, 0)
			arrival := func(seq int) time.Time {
				if seq == 0 {
					return t0.Add(c.firstLate)
				}
				return t0.Add(time.Duration(seq) * FrameDuration)
			}
			pushed := map[int]bool{}
			for ms := range 200 {
				now := t0.Add(time.Duration(ms) * time.Millisecond)
				for seq := range 12 {
					if !pushed[seq] && !arrival(seq).After(now) {
						jb.Push(Packet{Seq: uint32(seq), Data: []byte{1}, Arrived: arrival(seq)}, now)
						pushed[seq] = true
					}
				}
				f := jb.Pop(now)
				if f.Kind == FrameWait {
					continue
				}
				if f.Kind != FrameNormal || f.Seq != 0 {
					t.Fatalf("first frame %v seq %d, want packet 0", f.Kind, f.Seq)
				}
				if got := now.Sub(t0); got != c.want {
					t.Errorf("packet 0 played at t0+%v, want t0+%v", got, c.want)
				}
				return
			}
			t.Fatal("playout did not start within 200 ms")
		})
	}
}

// TestJitterSpareSlides: the spare is the least wait over the last window
// of slots, not since playout started: one packet that came just in time
// (it waited 1 ms) stops the shedding only until a whole window has
// passed it. Packets arrive 0-3 ms late in turn, the player pops every
// 20 ms, 20 ms after the first packet came.
func TestJitterSpareSlides(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	t0 := time.Unix(1000, 0)
	const tight = 10 // this packet arrives 1 ms before its slot
	arrival := func(seq int) time.Time {
		if seq == tight {
			return t0.Add(time.Duration(seq+1)*FrameDuration - time.Millisecond)
		}
		return t0.Add(time.Duration(seq)*FrameDuration + time.Duration(seq%4)*time.Millisecond)
	}
	next := 0
	var spare []time.Duration // Spare at each slot
	for slot := range tight + 2*jitterSpareWindow {
		now := t0.Add(time.Duration(slot+1) * FrameDuration)
		for ; !arrival(next).After(now); next++ {
			jb.Push(Packet{Seq: uint32(next), Data: []byte{1}}, arrival(next))
		}
		f := jb.Pop(now)
		if f.Kind != FrameNormal {
			t.Fatalf("slot %d: %v", slot, f.Kind)
		}
		spare = append(spare, f.Spare)
	}
	for _, c := range []struct {
		slot int
		want time.Duration
	}{
		{jitterSpareWindow - 1, 0},                                             // the first whole window holds the 1 ms wait
		{tight + jitterSpareWindow - 1, 0},                                     // the last window that holds it
		{tight + jitterSpareWindow, 17*time.Millisecond - jitterSpareHeadroom}, // past it: waits 17-20 ms
	} {
		if spare[c.slot] != c.want {
			t.Errorf("slot %d: spare %v, want %v", c.slot, spare[c.slot], c.want)
		}
	}
}

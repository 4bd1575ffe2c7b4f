package hotkey

// repeatFilter turns raw key events into clean edges. With detectable
// auto-repeat (XKB) a held key gives press, press, press…, release; without
// it, each repeat is a release and a press with the same server timestamp.
// The filter keeps a release pending until the next event shows whether it
// was a repeat (a press at the same time) or real (anything else, or expire).
type repeatFilter struct {
	down        bool
	pending     bool   // a release waiting to be confirmed
	pendingTime uint32 // its server timestamp (ms)
	repeats     int    // auto-repeats dropped, for tests and logs
}

// press handles a key press at server time t and returns the edges to emit.
func (f *repeatFilter) press(t uint32) []Event {
	if f.pending {
		f.pending = false
		if t == f.pendingTime {
			f.repeats++ // release+press pair of an auto-repeat
			return nil
		}
		// The release was real; this is a new press.
		f.down = true
		return []Event{{Down: false}, {Down: true}}
	}
	if f.down {
		f.repeats++ // detectable auto-repeat: presses only
		return nil
	}
	f.down = true
	return []Event{{Down: true}}
}

// release handles a key release at server time t. With detectable repeat
// the release is final at once; otherwise it waits for press or expire.
func (f *repeatFilter) release(t uint32, detectable bool) []Event {
	if !f.down {
		return nil
	}
	if detectable {
		f.down = false
		return []Event{{Down: false}}
	}
	f.pending, f.pendingTime = true, t
	return nil
}

// expire confirms a pending release when no press followed it in time.
func (f *repeatFilter) expire() []Event {
	if !f.pending {
		return nil
	}
	f.pending, f.down = false, false
	return []Event{{Down: false}}
}

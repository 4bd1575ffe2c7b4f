package audio

// framer cuts a stream of samples arriving in chunks of any size into exact
// 20 ms frames. It is used by one goroutine at a time.
type framer struct {
	buf [FrameSamples]int16
	n   int
}

// push appends samples and calls emit for every completed frame. The frame
// slice is only valid during the call.
func (f *framer) push(s []int16, emit func(frame []int16)) {
	for len(s) > 0 {
		c := copy(f.buf[f.n:], s)
		f.n += c
		s = s[c:]
		if f.n == FrameSamples {
			emit(f.buf[:])
			f.n = 0
		}
	}
}

// flush emits the partial frame, padded with silence, if there is one.
func (f *framer) flush(emit func(frame []int16)) {
	if f.n == 0 {
		return
	}
	clear(f.buf[f.n:])
	f.n = 0
	emit(f.buf[:])
}

// reset drops a partial frame.
func (f *framer) reset() { f.n = 0 }

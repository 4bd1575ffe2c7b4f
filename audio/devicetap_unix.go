//go:build unix

package audio

import "os"

// wakePipe makes the pipe a tapped device's C callback writes a byte to
// after each callback. Both ends are non-blocking (os.Pipe puts them in
// the runtime's poller): the audio thread never waits on it. fd is the
// write end's descriptor, -1 with no pipe.
func wakePipe() (r, w *os.File, fd int) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, -1
	}
	rc, err := w.SyscallConn() // w.Fd would make it blocking
	if err == nil {
		err = rc.Control(func(f uintptr) { fd = int(f) })
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, -1
	}
	return r, w, fd
}

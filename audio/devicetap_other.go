//go:build !unix

package audio

import "os"

// wakePipe: no pipe here; the tap's callback calls malgo's instead.
func wakePipe() (r, w *os.File, fd int) { return nil, nil, -1 }

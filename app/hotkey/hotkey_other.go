//go:build (!unix && !windows) || android

package hotkey

// open has no global key on this platform (mobile, wasm, plan9).
func open(Key) (Source, error) { return nil, ErrUnsupported }

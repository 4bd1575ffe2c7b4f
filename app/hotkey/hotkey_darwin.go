//go:build darwin

package hotkey

// open on macOS keeps the window key: a global key needs a CGEventTap (or
// NSEvent global monitor), which only works once the user grants Parley the
// Accessibility permission, and it has to be built and tested on a Mac.
// Until then Settings says the talk key works while Parley has the focus.
func open(Key) (Source, error) { return nil, ErrUnsupported }

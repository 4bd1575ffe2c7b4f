//go:build unix && !darwin && !android

package hotkey

import "os"

// open picks the mechanism of the session: the GlobalShortcuts portal on
// Wayland (an X grab through XWayland would only see keys while an X
// window has the focus), the root-window grab on X11.
func open(k Key) (Source, error) {
	if os.Getenv("WAYLAND_DISPLAY") != "" || os.Getenv("XDG_SESSION_TYPE") == "wayland" {
		return openPortal(k)
	}
	if os.Getenv("DISPLAY") == "" {
		return nil, ErrUnsupported
	}
	return openX11("", k)
}

// Package hotkey is Parley's talk key from any window: a global key that
// reports both press and release, whichever window has the focus.
//
// One Source per platform:
//   - X11: a passive grab of the key on the root window (XGrabKey through
//     github.com/jezek/xgb), with XKB detectable auto-repeat so a held key
//     gives one press and one release (timestamp matching where the server
//     has no XKB);
//   - Wayland: the xdg-desktop-portal GlobalShortcuts interface over the
//     session bus; the portal shows its own binding dialog. When no portal
//     answers, Open fails with ErrNoPortal and the window key stays;
//   - Windows: a low-level keyboard hook (SetWindowsHookEx WH_KEYBOARD_LL),
//     since RegisterHotKey reports no release;
//   - macOS: not implemented (it needs the Accessibility permission and a
//     Mac to test on): Open returns ErrUnsupported and the window key stays.
//
// A Source owns its goroutines; Close stops them and waits. Events are
// edges (Down true, then false), already free of auto-repeat; the consumer
// still treats them as idempotent talk-state inputs.
package hotkey

//go:build !unix || darwin || android

package app

import "fyne.io/fyne/v2"

// otherPlacement knows no window positions: Fyne 2.8 has no API for them,
// and macOS and Windows would need native calls of their own (see
// placement_x11.go), so the system places the window.
type otherPlacement struct{}

func newWindowPlacement() otherPlacement { return otherPlacement{} }

// Position implements ui.WindowPlacement.
func (otherPlacement) Position(fyne.Window) (int, int, bool) { return 0, 0, false }

// Move implements ui.WindowPlacement.
func (otherPlacement) Move(fyne.Window, int, int) error { return nil }

func (otherPlacement) close() {}

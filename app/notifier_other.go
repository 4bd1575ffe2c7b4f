//go:build !(linux || freebsd || netbsd || openbsd)

package app

import (
	"log/slog"

	"fyne.io/fyne/v2"
)

// newNotifier is Fyne's notifier: outside freedesktop systems there is no
// way here to learn of a click.
func newNotifier(a fyne.App, _ func(conversation string), _ *slog.Logger) notifier {
	return fyneNotifier{a}
}

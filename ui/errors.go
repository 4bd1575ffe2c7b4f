package ui

import (
	"errors"

	"fyne.io/fyne/v2/lang"
)

// Errors the user sees in their own words. Adapters in app/ wrap the errors of
// sync and audio with these (fmt.Errorf("%w: %w", ui.ErrDeviceBusy, err)) so
// userMessage can recognise them with errors.Is.
var (
	ErrNoMicrophone      = errors.New("no microphone")
	ErrDeviceBusy        = errors.New("audio device busy")
	ErrServerUnreachable = errors.New("server unreachable")
	ErrWrongPassword     = errors.New("wrong username or password")
	ErrUsernameTaken     = errors.New("username taken")
	ErrServerReset       = errors.New("server was reset")
)

// userMessage is the one place that turns an error into words for the user.
func userMessage(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoMicrophone):
		return lang.L("No microphone found. Plug one in or choose another input in Settings.")
	case errors.Is(err, ErrDeviceBusy):
		return lang.L("The audio device is busy in another program.")
	case errors.Is(err, ErrServerUnreachable):
		return lang.L("Can't reach the server. Messages wait and are sent when it is back.")
	case errors.Is(err, ErrWrongPassword):
		return lang.L("Wrong username or password.")
	case errors.Is(err, ErrUsernameTaken):
		return lang.L("That username is taken.")
	case errors.Is(err, ErrCertificateChanged):
		return lang.L("The server's certificate changed, so nothing was sent to it. Compare its fingerprint before you trust it.")
	case errors.Is(err, ErrServerReset):
		return lang.L("The server was reset. Your unsent messages are being sent again.")
	case fileErrorMessage(err) != "":
		return fileErrorMessage(err)
	default:
		return lang.L("Something went wrong: ") + err.Error()
	}
}

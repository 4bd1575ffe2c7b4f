package app

import (
	"errors"
	"fmt"

	"parley/audio"
	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// userErrors pairs the errors of sync and audio with the ui error whose
// words the user should see. Server answers (*wire.Error) need no entry:
// ui recognises them by code.
var userErrors = []struct {
	from []error
	to   error
}{
	{[]error{sync.ErrAuthFailed, sync.ErrNoCredentials}, ui.ErrWrongPassword},
	{[]error{sync.ErrTokenInvalid}, ui.ErrSignInExpired},
	{[]error{sync.ErrRevoked}, ui.ErrRevoked},
	{[]error{sync.ErrUsernameTaken}, ui.ErrUsernameTaken},
	{[]error{sync.ErrInvalidName}, &ui.InputError{Field: ui.FieldUsername, Problem: ui.ProblemInvalid}},
	{[]error{sync.ErrWeakPassword}, &ui.InputError{Field: ui.FieldPassword, Problem: ui.ProblemWeak, Limit: wire.MinPasswordRunes}},
	{[]error{sync.ErrInsecure}, ui.ErrBadAddress},
	{[]error{sync.ErrRegistrationClosed}, ui.ErrRegistrationOff},
	{[]error{sync.ErrProtocolMismatch}, ui.ErrOtherVersion},
	{[]error{sync.ErrServerUnreachable}, ui.ErrServerUnreachable},
	{[]error{sync.ErrNotConnected}, ui.ErrNeedsServer},
	{[]error{sync.ErrSignedOut, sync.ErrClosed}, ui.ErrNotSignedIn},
	{[]error{audio.ErrNoMicrophone}, ui.ErrNoMicrophone},
	{[]error{audio.ErrPermissionDenied}, ui.ErrMicrophoneDenied},
	{[]error{audio.ErrNoAudioSystem}, ui.ErrNoAudioSystem},
	{[]error{audio.ErrNoSpeaker}, ui.ErrNoSpeaker},
	{[]error{audio.ErrDeviceBusy}, ui.ErrDeviceBusy},
	{[]error{audio.ErrDeviceUnplugged}, ui.ErrDeviceUnplugged},
}

// userError wraps err with the ui error the user should see; err stays in
// the chain for the log and for errors.Is.
func userError(err error) error {
	if err == nil {
		return nil
	}
	if te := trustError(err); te != nil {
		return te
	}
	for _, e := range userErrors {
		for _, from := range e.from {
			if errors.Is(err, from) {
				if errors.Is(err, e.to) {
					return err
				}
				return fmt.Errorf("%w: %w", e.to, err)
			}
		}
	}
	return err
}

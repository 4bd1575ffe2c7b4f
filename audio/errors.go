package audio

import (
	"errors"
	"fmt"

	"github.com/gen2brain/malgo"
)

// DeviceErrorKind says, in terms a user understands, what went wrong with an
// audio device.
type DeviceErrorKind int

const (
	// KindUnknown is a device failure without a more precise cause.
	KindUnknown DeviceErrorKind = iota
	// KindNoMicrophone: there is no capture device to record from.
	KindNoMicrophone
	// KindNoSpeaker: there is no playback device to play to.
	KindNoSpeaker
	// KindDeviceBusy: the device is in use by another program.
	KindDeviceBusy
	// KindPermissionDenied: the system refused access (for example the
	// microphone permission on macOS).
	KindPermissionDenied
	// KindDeviceUnplugged: the device went away while in use.
	KindDeviceUnplugged
	// KindNoAudioSystem: no audio backend could be initialised.
	KindNoAudioSystem
)

// Sentinel errors, one per kind, for errors.Is. A *DeviceError matches the
// sentinel of its Kind.
var (
	ErrNoMicrophone     = errors.New("no microphone found")
	ErrNoSpeaker        = errors.New("no speaker or headphones found")
	ErrDeviceBusy       = errors.New("audio device is busy (used by another program)")
	ErrPermissionDenied = errors.New("permission to use the audio device was denied")
	ErrDeviceUnplugged  = errors.New("audio device was unplugged")
	ErrNoAudioSystem    = errors.New("no audio system is available")
	errDeviceUnknown    = errors.New("audio device error")
)

// Errors of the player, recorder and engine state machines.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("audio: closed")
	// ErrRecording is returned by Recorder.Start while a recording runs.
	ErrRecording = errors.New("audio: already recording")
	// ErrNotRecording is returned by Recorder.Stop when no recording runs.
	ErrNotRecording = errors.New("audio: not recording")
	// ErrNotSeekable is returned by seek and speed changes on a live player.
	ErrNotSeekable = errors.New("audio: live stream cannot seek or change speed")
	// ErrBadSpeed is returned for a speed outside 0.5..2.
	ErrBadSpeed = errors.New("audio: speed must be between 0.5 and 2")
)

func (k DeviceErrorKind) sentinel() error {
	switch k {
	case KindNoMicrophone:
		return ErrNoMicrophone
	case KindNoSpeaker:
		return ErrNoSpeaker
	case KindDeviceBusy:
		return ErrDeviceBusy
	case KindPermissionDenied:
		return ErrPermissionDenied
	case KindDeviceUnplugged:
		return ErrDeviceUnplugged
	case KindNoAudioSystem:
		return ErrNoAudioSystem
	}
	return errDeviceUnknown
}

// String returns the user-facing sentence for the kind.
func (k DeviceErrorKind) String() string { return k.sentinel().Error() }

// DeviceError is a failure of an audio device operation. Op is what was
// being done ("open capture device", "start playback"…), Device the device
// ID or "" for the system default, Kind the user-facing cause and Err the
// underlying miniaudio error. It is an immutable value, safe to share.
type DeviceError struct {
	Op     string
	Device string
	Kind   DeviceErrorKind
	Err    error
}

func (e *DeviceError) Error() string {
	dev := e.Device
	if dev == "" {
		dev = "default"
	}
	return fmt.Sprintf("audio: %s (device %s): %s: %v", e.Op, dev, e.Kind, e.Err)
}

// Unwrap exposes both the kind's sentinel and the underlying error.
func (e *DeviceError) Unwrap() []error { return []error{e.Kind.sentinel(), e.Err} }

// UserMessage is the sentence to show to a user.
func (e *DeviceError) UserMessage() string {
	s := e.Kind.String()
	return string(s[0]-'a'+'A') + s[1:] + "."
}

// deviceError classifies a miniaudio error for an operation on a device of
// the given direction.
func deviceError(op, id string, capture bool, err error) *DeviceError {
	kind := KindUnknown
	var res malgo.Result
	if errors.As(err, &res) {
		switch res {
		case malgo.ErrNoDevice, malgo.ErrDoesNotExist:
			if capture {
				kind = KindNoMicrophone
			} else {
				kind = KindNoSpeaker
			}
		case malgo.ErrBusy, malgo.ErrAlreadyInUse, malgo.ErrShareModeNotSupported:
			kind = KindDeviceBusy
		case malgo.ErrAccessDenied:
			kind = KindPermissionDenied
		case malgo.ErrNoBackend:
			kind = KindNoAudioSystem
		case malgo.ErrDeviceNotStarted, malgo.ErrNotConnected, malgo.ErrConnectionReset:
			kind = KindDeviceUnplugged
		}
	}
	return &DeviceError{Op: op, Device: id, Kind: kind, Err: err}
}

package sync

import (
	"errors"
	"fmt"

	"parley/server/wire"
)

// kindError is a sentinel error that knows whether trying again later may
// help.
type kindError struct {
	msg   string
	retry bool
}

func (e *kindError) Error() string { return e.msg }

// Retry reports whether the operation may succeed later.
func (e *kindError) Retry() bool { return e.retry }

// Errors returned by the Client, compared with errors.Is. Each is either
// final (the same action fails again: ask the user) or retry (the client
// keeps trying on its own); Retryable tells which for any error.
var (
	// ErrAuthFailed: wrong username or password. Final.
	ErrAuthFailed error = &kindError{msg: "wrong username or password"}
	// ErrTokenInvalid: the stored sign-in is no longer valid and no
	// password was given. Final.
	ErrTokenInvalid error = &kindError{msg: "signed out by the server: sign in again"}
	// ErrRevoked: this device was signed out from another device. Final.
	ErrRevoked error = &kindError{msg: "this device was signed out"}
	// ErrRegistrationClosed: the server takes no new accounts. Final.
	ErrRegistrationClosed error = &kindError{msg: "the server does not accept new accounts"}
	// ErrUsernameTaken: registering a name that exists with another
	// password. Final.
	ErrUsernameTaken error = &kindError{msg: "username already taken"}
	// ErrInvalidName: the username or device name breaks wire.CheckName
	// (control, bidi or invisible characters, stray spaces, too long).
	// Final.
	ErrInvalidName error = &kindError{msg: "the name is not allowed"}
	// ErrWeakPassword: a new account's password breaks
	// wire.CheckPassword. Final.
	ErrWeakPassword error = &kindError{msg: "the password is too weak"}
	// ErrProtocolMismatch: the server speaks another protocol version.
	// Final.
	ErrProtocolMismatch error = &kindError{msg: "the server speaks another protocol version"}
	// ErrSignedOut: SignOut was called; Run stops. Final.
	ErrSignedOut error = &kindError{msg: "signed out"}
	// ErrNoCredentials: there is no stored token and no password. Final.
	ErrNoCredentials error = &kindError{msg: "no stored sign-in and no password"}
	// ErrServerUnreachable: the server could not be reached or the
	// connection dropped. Retry.
	ErrServerUnreachable error = &kindError{msg: "server unreachable", retry: true}
	// ErrNotConnected: a request that needs the server was made while
	// offline. Retry.
	ErrNotConnected error = &kindError{msg: "not connected", retry: true}
	// ErrClosed: the client was closed. Final.
	ErrClosed error = &kindError{msg: "client closed"}
	// ErrFingerprintChanged: the server's TLS certificate is not the one
	// pinned for its address; nothing was sent. The error is a
	// *FingerprintError with both fingerprints. Final until the user
	// accepts the new certificate (PinStore.Pin).
	ErrFingerprintChanged error = &kindError{msg: "the server's certificate changed"}
	// ErrInsecure: a ws:// or http:// address; Parley speaks only TLS.
	// Final.
	ErrInsecure error = &kindError{msg: "plain ws:// and http:// are refused: Parley servers speak only TLS"}
)

// Retryable reports whether err is worth retrying later: true for
// connection trouble and for server errors whose code says retry.
func Retryable(err error) bool {
	var k *kindError
	if errors.As(err, &k) {
		return k.retry
	}
	var w *wire.Error
	if errors.As(err, &w) {
		return w.Code.Retry()
	}
	return false
}

// stopsRun reports whether err ends Run: only the client's own final
// errors do (bad credentials, revoked, signed out, protocol mismatch,
// closed). Anything else is retried with backoff.
func stopsRun(err error) bool {
	var k *kindError
	return errors.As(err, &k) && !k.retry
}

// RequestError is a server's error answer to a request, with the
// operation that failed.
type RequestError struct {
	Op  string
	Err *wire.Error
}

func (e *RequestError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

// Unwrap returns the wire error, so errors.As finds its Code.
func (e *RequestError) Unwrap() error { return e.Err }

// Code returns the server's error code.
func (e *RequestError) Code() wire.Code { return e.Err.Code }

// authError maps a hello's error code to the client's final errors.
func authError(e *wire.Error) error {
	var base error
	switch e.Code {
	case wire.CodeAuthFailed:
		base = ErrAuthFailed
	case wire.CodeTokenInvalid:
		base = ErrTokenInvalid
	case wire.CodeRegistrationClosed:
		base = ErrRegistrationClosed
	case wire.CodeUsernameTaken:
		base = ErrUsernameTaken
	case wire.CodeProtocol:
		base = ErrProtocolMismatch
	case wire.CodeInvalidName:
		base = ErrInvalidName
	case wire.CodeWeakPassword:
		base = ErrWeakPassword
	default:
		return &RequestError{Op: "hello", Err: e}
	}
	return fmt.Errorf("%w (%s)", base, e.Message)
}

// closeError maps a close code to an error.
func closeError(code int, text string) error {
	switch code {
	case wire.CloseRevoked:
		return fmt.Errorf("%w (%s)", ErrRevoked, text)
	case wire.CloseProtocolError, wire.CloseTooLarge:
		return fmt.Errorf("%w (closed %d: %s)", ErrProtocolMismatch, code, text)
	}
	return fmt.Errorf("%w (closed %d: %s)", ErrServerUnreachable, code, text)
}

package wire

import (
	"errors"
	"fmt"
)

// Code is a typed error code carried by an Error payload. Each code is
// either final (repeating the request will fail again) or retry (the same
// request may succeed later); Code.Retry tells which.
type Code string

// Error codes.
const (
	// CodeBadRequest: malformed JSON, a missing or invalid field. Final.
	CodeBadRequest Code = "bad_request"
	// CodeUnknownType: the envelope's type is not a request the server
	// takes. Final.
	CodeUnknownType Code = "unknown_type"
	// CodeTooLarge: a text, waveform, packet or frame exceeds its limit. Final.
	CodeTooLarge Code = "too_large"
	// CodeProtocol: the client speaks another protocol version. Final.
	CodeProtocol Code = "protocol_mismatch"
	// CodeAuthRequired: a request arrived before a successful hello. Final.
	CodeAuthRequired Code = "auth_required"
	// CodeAuthFailed: wrong username or password. Final.
	CodeAuthFailed Code = "auth_failed"
	// CodeTokenInvalid: the token is unknown, expired or revoked. Final:
	// sign in again with a password.
	CodeTokenInvalid Code = "token_invalid"
	// CodeRegistrationClosed: the server does not accept new accounts. Final.
	CodeRegistrationClosed Code = "registration_closed"
	// CodeUsernameTaken: registration with a name already in use, or one
	// that differs from a name in use only by case or by look-alike
	// letters (Latin/Cyrillic/Greek, accents, 0/O, 1/l/I). Final: pick
	// another name.
	CodeUsernameTaken Code = "username_taken"
	// CodeInvalidName: a username, device name or group title breaks the
	// rules of CheckName (control, format/bidi or invisible characters,
	// stray spaces). Final: the message names the offending character.
	CodeInvalidName Code = "invalid_name"
	// CodeWeakPassword: a new password breaks the rules of CheckPassword
	// (too short, or the username). Final: choose another password.
	CodeWeakPassword Code = "weak_password"
	// CodeNotMember: the conversation does not exist or the user is not a
	// member; the two are not distinguished so nothing leaks. Final.
	CodeNotMember Code = "not_member"
	// CodeNotFound: the message, user or device does not exist or is not
	// visible to this user. Final.
	CodeNotFound Code = "not_found"
	// CodeConflict: an id already names something different (another
	// conversation, sender or kind). Final.
	CodeConflict Code = "conflict"
	// CodeStreamUnknown: a binary frame names a stream this connection does
	// not own or that has ended. Final.
	CodeStreamUnknown Code = "stream_unknown"
	// CodeMessageClosed: the voice message is complete or abandoned and
	// takes no more packets. Final.
	CodeMessageClosed Code = "message_closed"
	// CodeIncomplete: voice.end arrived before every packet was stored;
	// resend from the last voice.ack's upto, then end again. Retry.
	CodeIncomplete Code = "incomplete"
	// CodeOutOfRange: a listened receipt's position is past the end of
	// the message (its duration, or what has arrived of a message still
	// recording, plus one FrameDuration), or a text message's receipt
	// carries a position. Final.
	CodeOutOfRange Code = "out_of_range"
	// CodeMismatch: voice.end disagrees with the message: fewer packets
	// than the server has stored, or a duration more than one
	// FrameDuration away from packets x FrameDuration. Final.
	CodeMismatch Code = "mismatch"
	// CodePacketGap: a packet was dropped because it is more than
	// MaxPacketsAhead past the first packet still missing (what the next
	// voice.ack's upto will be), or because the packets this user has
	// waiting behind gaps already hold MaxPendingBytes. Retry: resend from
	// the last voice.ack's upto, in order.
	CodePacketGap Code = "packet_gap"
	// CodeRateLimited: the connection sends faster than allowed, or (at
	// hello, then closed with CloseRateLimited) too many password
	// sign-ins for the account or from the address; the message says in
	// how many seconds to try again. Retry.
	CodeRateLimited Code = "rate_limited"
	// CodeUnavailable: the server is shutting down or overloaded. Retry.
	CodeUnavailable Code = "unavailable"
	// CodeInternal: the server failed; nothing was changed. Retry.
	CodeInternal Code = "internal"
)

var retryCodes = map[Code]bool{
	CodeIncomplete:  true,
	CodePacketGap:   true,
	CodeRateLimited: true,
	CodeUnavailable: true,
	CodeInternal:    true,
}

// Retry reports whether a request that failed with c may succeed if sent
// again later.
func (c Code) Retry() bool { return retryCodes[c] }

// Error is the payload of an "error" envelope and the error type this
// package returns for invalid input. Ref names the request id or the
// stream the error is about.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

func (e *Error) Error() string {
	if e.Ref != "" {
		return fmt.Sprintf("%s: %s (ref %s)", e.Code, e.Message, e.Ref)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or
// CodeInternal if there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// WebSocket close codes the server uses. Codes in 4000-4999 are Parley's.
const (
	// CloseNormal: the peer closed on purpose.
	CloseNormal = 1000
	// CloseGoingAway: the server is shutting down. Retry.
	CloseGoingAway = 1001
	// CloseProtocolError: an unreadable frame or a text frame that is not an
	// envelope before the hello. Final.
	CloseProtocolError = 1002
	// CloseTooLarge: a frame exceeded MaxFrameBytes. Final.
	CloseTooLarge = 1009
	// CloseSlowConsumer: the client did not read fast enough: its queue
	// overflowed, or it was more than SlowConsumerAfter behind. Retry,
	// then catch up (sync, audio.fetch of the messages it was hearing).
	CloseSlowConsumer = 4000
	// CloseAuthFailed: the hello failed; the error frame before it says why.
	// Final for the same credentials.
	CloseAuthFailed = 4001
	// CloseRevoked: the device's token was revoked. Final.
	CloseRevoked = 4003
	// ClosePongTimeout: two keepalive pings went unanswered. Retry.
	ClosePongTimeout = 4004
	// CloseRateLimited: the client kept flooding after rate_limited errors.
	// Retry after a pause.
	CloseRateLimited = 4005
	// CloseHelloTimeout: no hello arrived in time. Retry.
	CloseHelloTimeout = 4006
)

// CloseRetry reports whether a client closed with code should reconnect.
func CloseRetry(code int) bool {
	switch code {
	case CloseProtocolError, CloseTooLarge, CloseAuthFailed, CloseRevoked:
		return false
	}
	return true
}

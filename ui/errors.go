package ui

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"fyne.io/fyne/v2/lang"

	"parley/server/wire"
)

// Errors the user sees in their own words. Adapters in app/ wrap the errors
// of sync and audio with these (fmt.Errorf("%w: %w", ui.ErrDeviceBusy, err))
// so userMessage can recognise them with errors.Is. Server answers need no
// wrapping: a *wire.Error anywhere in the chain is recognised by its code.
var (
	ErrNoMicrophone      = errors.New("no microphone")
	ErrMicrophoneDenied  = errors.New("microphone permission denied")
	ErrNoAudioSystem     = errors.New("no audio system")
	ErrNoSpeaker         = errors.New("no speaker")
	ErrDeviceBusy        = errors.New("audio device busy")
	ErrDeviceUnplugged   = errors.New("audio device unplugged")
	ErrBadAddress        = errors.New("not a server address")
	ErrNotParley         = errors.New("not a Parley server")
	ErrServerUnreachable = errors.New("server unreachable")
	ErrNeedsServer       = errors.New("needs the server")
	ErrWrongPassword     = errors.New("wrong username or password")
	ErrUsernameTaken     = errors.New("username taken")
	ErrRegistrationOff   = errors.New("registration closed")
	ErrSignInExpired     = errors.New("sign-in expired")
	ErrRevoked           = errors.New("device signed out elsewhere")
	ErrOtherVersion      = errors.New("server speaks another protocol version")
	ErrNotSignedIn       = errors.New("not signed in")
	ErrExportFailed      = errors.New("export failed")
	ErrSaveSettings      = errors.New("settings not saved")
)

// Field names an input the user typed, for InputError.
type Field string

// Fields checked before anything is sent.
const (
	FieldUsername Field = "username"
	FieldPassword Field = "password"
	FieldMembers  Field = "members"
	FieldTitle    Field = "title"
	FieldAddress  Field = "address"
)

// Problem says what is wrong with a Field.
type Problem int

// Problems with an input.
const (
	ProblemMissing  Problem = iota // empty
	ProblemTooLong                 // longer than Limit bytes
	ProblemTooShort                // shorter than Limit bytes
	ProblemInvalid                 // not allowed characters
	ProblemUnknown                 // Value names no user on the server
	ProblemTooMany                 // more than Limit entries
	ProblemWeak                    // a password the server's rules refuse
)

// InputError is input the user must correct. It is checked before sending
// (and sent back by app/ when the server names the culprit), so the screen
// can keep what was typed and point at the wrong part.
type InputError struct {
	Field   Field
	Problem Problem
	Limit   int    // the bound for TooLong, TooShort and TooMany
	Value   string // the offending entry, e.g. the unknown username
}

func (e *InputError) Error() string {
	switch e.Problem {
	case ProblemMissing:
		return fmt.Sprintf("%s is missing", e.Field)
	case ProblemTooLong:
		return fmt.Sprintf("%s longer than %d bytes", e.Field, e.Limit)
	case ProblemTooShort:
		return fmt.Sprintf("%s shorter than %d bytes", e.Field, e.Limit)
	case ProblemUnknown:
		return fmt.Sprintf("no user %q on this server", e.Value)
	case ProblemTooMany:
		return fmt.Sprintf("%s: more than %d", e.Field, e.Limit)
	default:
		return fmt.Sprintf("%s %q is not allowed", e.Field, e.Value)
	}
}

// checkUsername applies the server's username rules (wire.CheckName) before
// anything is sent.
func checkUsername(name string) error {
	return checkName(FieldUsername, name)
}

func checkName(f Field, name string) error {
	if name == "" {
		return &InputError{Field: f, Problem: ProblemMissing}
	}
	if err := wire.CheckName(string(f), name); err != nil {
		if wire.CodeOf(err) == wire.CodeTooLarge {
			return &InputError{Field: f, Problem: ProblemTooLong, Limit: wire.MaxNameBytes, Value: name}
		}
		return &InputError{Field: f, Problem: ProblemInvalid, Value: name}
	}
	return nil
}

// checkPassword applies the server's password rules (wire.CheckPassword)
// for a new account; signing in only needs a password of allowed length.
func checkPassword(user, pass string, signUp bool) error {
	switch {
	case pass == "":
		return &InputError{Field: FieldPassword, Problem: ProblemMissing}
	case len(pass) > wire.MaxPasswordBytes:
		return &InputError{Field: FieldPassword, Problem: ProblemTooLong, Limit: wire.MaxPasswordBytes}
	case !signUp:
		return nil
	case utf8.RuneCountInString(pass) < wire.MinPasswordRunes:
		return &InputError{Field: FieldPassword, Problem: ProblemTooShort, Limit: wire.MinPasswordRunes}
	}
	if err := wire.CheckPassword(user, pass); err != nil {
		return &InputError{Field: FieldPassword, Problem: ProblemWeak, Limit: wire.MinPasswordRunes}
	}
	return nil
}

// userMessage is the one place that turns an error into words for the
// user, fitted to the screen it shows on ("connect", "signin", "main",
// "settings"). It never shows an error's own text: protocol and system
// messages are for the log.
func userMessage(err error, screen string) string {
	var in *InputError
	var we *wire.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &in):
		return inputMessage(in)
	case errors.Is(err, ErrNoMicrophone):
		return lang.L("No microphone found. Plug one in or choose another input in Settings.")
	case errors.Is(err, ErrMicrophoneDenied):
		return lang.L("Parley may not use the microphone. Allow it in the system's privacy settings.")
	case errors.Is(err, ErrNoAudioSystem):
		return lang.L("No sound system is running on this computer, so Parley cannot record or play.")
	case errors.Is(err, ErrNoSpeaker):
		return lang.L("No speaker or headphones found. Plug some in or choose another output in Settings.")
	case errors.Is(err, ErrDeviceBusy):
		return lang.L("The audio device is busy in another program.")
	case errors.Is(err, ErrDeviceUnplugged):
		return lang.L("The audio device was unplugged. Plug it back in or choose another in Settings.")
	case errors.Is(err, ErrBadAddress):
		return lang.L("That is not a server address. Enter it as host:port, e.g. 192.168.1.20:7447.")
	case errors.Is(err, ErrNotParley):
		return lang.L("Something answers at that address, but it is not a Parley server.")
	case errors.Is(err, ErrServerUnreachable):
		switch screen {
		case "connect":
			return lang.L("Can't reach a server at that address. Check the address and that the server is running.")
		case "signin":
			return lang.L("Can't reach the server. Check that it is running, then try again.")
		}
		return lang.L("Can't reach the server. Messages wait and are sent when it is back.")
	case errors.Is(err, ErrNeedsServer):
		return lang.L("This needs the server, which can't be reached right now. Try again when connected.")
	case errors.Is(err, ErrWrongPassword):
		return lang.L("Wrong username or password.")
	case errors.Is(err, ErrUsernameTaken):
		return lang.L("That username is taken. Choose another, or sign in if it is yours.")
	case errors.Is(err, ErrRegistrationOff):
		return lang.L("This server does not accept new accounts. Ask the person who runs it.")
	case errors.Is(err, ErrSignInExpired):
		return lang.L("Your sign-in is no longer valid. Sign in again with your password.")
	case errors.Is(err, ErrRevoked):
		return lang.L("This device was signed out from another of your devices. Sign in again to use it.")
	case errors.Is(err, ErrOtherVersion):
		return lang.L("This server runs a different version of Parley. Update Parley here or on the server.")
	case errors.Is(err, ErrNotSignedIn):
		return lang.L("You are not signed in. Sign in first.")
	case errors.Is(err, ErrExportFailed):
		return lang.L("The voice message could not be saved to that file.")
	case errors.Is(err, ErrSaveSettings):
		return lang.L("Your settings could not be saved.")
	case errors.Is(err, ErrCertificateChanged):
		return lang.L("The server's certificate changed, so nothing was sent to it. Compare its fingerprint before you trust it.")
	case fileErrorMessage(err) != "":
		return fileErrorMessage(err)
	case errors.As(err, &we):
		return codeMessage(we.Code)
	default:
		return lang.L("Something went wrong. Try again; if it keeps happening, restart Parley.")
	}
}

// inputMessage names the field and the rule it breaks.
func inputMessage(e *InputError) string {
	data := map[string]any{"Limit": e.Limit, "Value": e.Value}
	switch e.Field {
	case FieldUsername:
		switch e.Problem {
		case ProblemMissing:
			return lang.L("Enter a username.")
		case ProblemTooLong:
			return lang.L("A username can be at most {{.Limit}} bytes long.", data)
		}
		return lang.L("A username can only use visible characters, with single spaces between words.")
	case FieldPassword:
		switch e.Problem {
		case ProblemMissing:
			return lang.L("Enter a password.")
		case ProblemTooShort:
			return lang.L("A password needs at least {{.Limit}} characters.", data)
		case ProblemWeak:
			return lang.L("Choose a stronger password: at least {{.Limit}} characters, and not your username.", data)
		}
		return lang.L("A password can be at most {{.Limit}} bytes long.", data)
	case FieldMembers:
		switch e.Problem {
		case ProblemMissing:
			return lang.L("Choose at least one person.")
		case ProblemTooMany:
			return lang.L("A conversation can have at most {{.Limit}} members.", data)
		}
		return lang.L("There is no user “{{.Value}}” on this server.", data)
	case FieldTitle:
		switch e.Problem {
		case ProblemMissing:
			return lang.L("Give the group a name.")
		case ProblemTooLong:
			return lang.L("A group name can be at most {{.Limit}} bytes long.", data)
		}
		return lang.L("A group name can only use visible characters, with single spaces between words.")
	default:
		if e.Problem == ProblemMissing {
			return lang.L("Enter the server's address, or pick a server found on this network.")
		}
		return lang.L("That is not a server address. Enter it as host:port, e.g. 192.168.1.20:7447.")
	}
}

// codeMessage says what a server error code means for the user.
func codeMessage(c wire.Code) string {
	switch c {
	case wire.CodeBadRequest:
		return lang.L("The server did not accept that. Check what you entered and try again.")
	case wire.CodeUnknownType:
		return lang.L("The server does not support this yet; it may run an older Parley.")
	case wire.CodeTooLarge:
		return lang.L("That is too long for the server. Shorten it and try again.")
	case wire.CodeProtocol:
		return lang.L("This server runs a different version of Parley. Update Parley here or on the server.")
	case wire.CodeAuthRequired:
		return lang.L("You are not signed in. Sign in first.")
	case wire.CodeAuthFailed:
		return lang.L("Wrong username or password.")
	case wire.CodeTokenInvalid:
		return lang.L("Your sign-in is no longer valid. Sign in again with your password.")
	case wire.CodeRegistrationClosed:
		return lang.L("This server does not accept new accounts. Ask the person who runs it.")
	case wire.CodeUsernameTaken:
		return lang.L("That username is taken. Choose another, or sign in if it is yours.")
	case wire.CodeInvalidName:
		return lang.L("The server does not allow that name. Use visible characters, with single spaces between words.")
	case wire.CodeWeakPassword:
		return lang.L("The server finds that password too weak. Choose a longer one that is not your username.")
	case wire.CodeNotMember:
		return lang.L("You are not in that conversation any more.")
	case wire.CodeNotFound:
		return lang.L("That no longer exists on the server.")
	case wire.CodeConflict:
		return lang.L("The server already has something different under that name. Try again.")
	case wire.CodeStreamUnknown:
		return lang.L("The voice stream was interrupted. What was recorded is sent again.")
	case wire.CodeMessageClosed:
		return lang.L("That voice message is already finished.")
	case wire.CodeIncomplete:
		return lang.L("The voice message is still arriving at the server; it completes on its own.")
	case wire.CodeOutOfRange:
		return lang.L("The server did not accept where playback stopped; it keeps the last position it had.")
	case wire.CodeMismatch:
		return lang.L("The server did not accept the end of that voice message: its length does not match what arrived.")
	case wire.CodePacketGap:
		return lang.L("Part of the voice message did not arrive in order; it is sent again from where the server has it.")
	case wire.CodeRateLimited:
		return lang.L("You are sending faster than the server allows. Wait a moment and try again.")
	case wire.CodeUnavailable:
		return lang.L("The server is busy or restarting. Try again in a moment.")
	case wire.CodeInternal:
		return lang.L("The server had a problem and changed nothing. Try again.")
	}
	return lang.L("The server refused that. Try again; if it keeps happening, ask the person who runs it.")
}

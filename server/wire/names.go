package wire

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// # Names
//
// Usernames, device names and group titles are shown to other people, so
// they must not be able to pass for something they are not. A name is
// valid when CheckName accepts it:
//
//   - 1..MaxNameBytes bytes of valid UTF-8, measured after the server has
//     normalised it to NFC (it stores and shows the NFC form);
//   - every character printable (unicode.IsPrint): letters, marks,
//     numbers, punctuation, symbols and the ASCII space; no control
//     characters (C0, C1), no format characters (bidi overrides and
//     isolates such as U+202E, zero-width spaces and joiners), no private
//     use or unassigned code points, no other spaces (U+00A0, U+3000 …);
//   - none of the invisible look-alikes of a blank (U+115F, U+1160,
//     U+3164, U+FFA0 Hangul fillers, U+2800 braille blank, and the other
//     default-ignorable code points) except U+FE0F, which selects the
//     emoji form of the character before it;
//   - not starting with a combining mark, and without leading, trailing or
//     doubled spaces.
//
// A name that breaks a rule gets CodeInvalidName (length: CodeTooLarge).
// Usernames are unique regardless of case and of the common Latin,
// Cyrillic and Greek look-alikes ("аlice" with a Cyrillic а is "alice");
// a name too close to an existing one gets CodeUsernameTaken. The server
// does that comparison (it needs Unicode tables this package does not
// carry); clients only need CheckName to reject what will be refused.
//
// Text messages may carry any printable text, bidi controls included (the
// client must render them harmlessly, e.g. isolated per message); only C0
// and C1 control characters other than tab, line feed and carriage return
// are refused, with CodeBadRequest.

// CheckName validates a username, device name or title (field names it in
// the error): an *Error with CodeInvalidName or CodeTooLarge, or nil.
func CheckName(field, name string) error {
	if e := checkName(field, name); e != nil {
		return e
	}
	return nil
}

func checkName(field, name string) *Error {
	if name == "" {
		return Errorf(CodeInvalidName, "%s is required", field)
	}
	if len(name) > MaxNameBytes {
		return Errorf(CodeTooLarge, "%s longer than %d bytes", field, MaxNameBytes)
	}
	if !utf8.ValidString(name) {
		return Errorf(CodeInvalidName, "%s is not UTF-8", field)
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' || strings.Contains(name, "  ") {
		return Errorf(CodeInvalidName, "%s has leading, trailing or doubled spaces", field)
	}
	for i, r := range name {
		if i == 0 && unicode.In(r, unicode.Mn, unicode.Me) {
			return Errorf(CodeInvalidName, "%s starts with a combining mark", field)
		}
		if e := nameRune(field, r); e != nil {
			return e
		}
	}
	return nil
}

// nameRune checks one character of a name.
func nameRune(field string, r rune) *Error {
	switch {
	case r == '\uFE0F': // emoji presentation selector
		return nil
	case r == utf8.RuneError: // what JSON decoding makes of invalid UTF-8
		return Errorf(CodeInvalidName, "%s is not valid UTF-8 (U+FFFD)", field)
	case unicode.IsControl(r):
		return Errorf(CodeInvalidName, "%s contains the control character %U", field, r)
	case unicode.Is(unicode.Cf, r):
		return Errorf(CodeInvalidName, "%s contains the invisible format character %U", field, r)
	case invisible(r):
		return Errorf(CodeInvalidName, "%s contains the invisible character %U", field, r)
	case !unicode.IsPrint(r):
		return Errorf(CodeInvalidName, "%s contains the unprintable character %U", field, r)
	}
	return nil
}

// invisible reports characters that are printable by category but show
// nothing: default-ignorable code points and blank-looking letters.
func invisible(r rune) bool {
	return r == '\u2800' || unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// checkText validates a text message's body: UTF-8 without C0 or C1
// controls other than tab, line feed and carriage return.
func checkText(text string) *Error {
	if !utf8.ValidString(text) {
		return badf("text is not UTF-8")
	}
	for _, r := range text {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return badf("text contains the control character %U", r)
		}
	}
	return nil
}

// # Passwords
//
// A password has at least MinPasswordRunes characters and at most
// MaxPasswordBytes bytes of UTF-8, and is not the username itself (in any
// case). CheckPassword applies these rules; the server applies the same
// at registration (CodeWeakPassword, final) and clients call it before
// sending so they can say why.

// CheckPassword validates a new password for username: an *Error with
// CodeWeakPassword or CodeTooLarge, or nil.
func CheckPassword(username, password string) error {
	if e := checkPassword(username, password); e != nil {
		return e
	}
	return nil
}

func checkPassword(username, password string) *Error {
	if len(password) > MaxPasswordBytes {
		return Errorf(CodeTooLarge, "password longer than %d bytes", MaxPasswordBytes)
	}
	if !utf8.ValidString(password) {
		return Errorf(CodeWeakPassword, "password is not UTF-8")
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordRunes {
		return Errorf(CodeWeakPassword, "password has %d characters, at least %d are needed", n, MinPasswordRunes)
	}
	if strings.EqualFold(password, username) {
		return Errorf(CodeWeakPassword, "password is the username")
	}
	return nil
}

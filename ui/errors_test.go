package ui

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"parley/assets"
	"parley/server/wire"
	"parley/sync"
)

// wireCodes parses server/wire for every Code constant, so a code added
// there without words here fails the test.
func wireCodes(t *testing.T) []wire.Code {
	t.Helper()
	files, err := filepath.Glob("../server/wire/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var codes []wire.Code
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						codes = append(codes, wire.Code(s))
					}
				}
			}
		}
	}
	if len(codes) < 18 {
		t.Fatalf("found %d wire codes, want at least the 18 of today", len(codes))
	}
	return codes
}

// TestEveryWireCodeHasWords walks every code the protocol defines, as the
// sync client returns it (a RequestError-like wrapper around *wire.Error)
// and in both languages: each has its own sentence, and none shows the
// protocol's text, code or ref.
func TestEveryWireCodeHasWords(t *testing.T) {
	zh, err := assets.TranslationKeys("zh")
	if err != nil {
		t.Fatal(err)
	}
	fallback := codeMessage("no_such_code")
	for _, lang := range []string{"en", "zh"} {
		t.Run(lang, func(t *testing.T) {
			if lang == "zh" {
				useLanguage(t, "en_US.UTF-8", "zh")
			}
			for _, c := range wireCodes(t) {
				raw := &wire.Error{Code: c, Message: "hello: username longer than 64 bytes", Ref: "req-17"}
				err := fmt.Errorf("sign in bob at 10.0.0.5:7447: %w", fmt.Errorf("hello: %w", raw))
				got := userMessage(err, "main")
				if got == "" || got == userMessage(errors.New("x"), "main") {
					t.Errorf("%s: generic or empty message %q", c, got)
				}
				for _, leak := range []string{raw.Message, string(c), raw.Ref, "hello", "64"} {
					if strings.Contains(got, leak) {
						t.Errorf("%s: message %q shows protocol text %q", c, got, leak)
					}
				}
				if codeMessage(c) == fallback {
					t.Errorf("%s: no sentence of its own (falls back to %q)", c, fallback)
				}
				if lang == "zh" && !isValueOf(zh, got) {
					t.Errorf("%s: %q is not a Chinese sentence of the bundle", c, got)
				}
			}
		})
	}
}

func isValueOf(m map[string]string, s string) bool {
	for _, v := range m {
		if v == s {
			return true
		}
	}
	return false
}

// TestUserMessage covers the local failures and the screen each message
// is fitted to.
func TestUserMessage(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		screen string
		want   string
	}{
		{"nil", nil, "main", ""},
		{"unreachable on connect", fmt.Errorf("connect 10.0.0.9:7447: %w", ErrServerUnreachable), "connect",
			"Can't reach a server at that address. Check the address and that the server is running."},
		{"unreachable on sign-in", ErrServerUnreachable, "signin", "Can't reach the server. Check that it is running, then try again."},
		{"unreachable signed in", errors.Join(errors.New("dial tcp"), ErrServerUnreachable), "main",
			"Can't reach the server. Messages wait and are sent when it is back."},
		{"not parley", ErrNotParley, "connect", "Something answers at that address, but it is not a Parley server."},
		{"device busy", ErrDeviceBusy, "main", "The audio device is busy in another program."},
		{"revoked", fmt.Errorf("%w: this device was signed out (close 4003)", ErrRevoked), "signin",
			"This device was signed out from another of your devices. Sign in again to use it."},
		{"unknown user", &InputError{Field: FieldMembers, Problem: ProblemUnknown, Value: "bbo"}, "main",
			"There is no user “bbo” on this server."},
		{"long username", checkUsername(strings.Repeat("a", wire.MaxNameBytes+1)), "signin",
			"A username can be at most 64 bytes long."},
		{"control character", checkUsername("bob\x07"), "signin", "A username can only use visible characters, with single spaces between words."},
		{"bidi override", checkUsername("bob\u202e"), "signin", "A username can only use visible characters, with single spaces between words."},
		{"short password on sign-up", checkPassword("dave", "abc", true), "signin", "A password needs at least 8 characters."},
		{"password is the username", checkPassword("davedave", "davedave", true), "signin", "Choose a stronger password: at least 8 characters, and not your username."},
		{"short password signing in", checkPassword("dave", "abc", false), "signin", ""},
		{"local failure", errors.New("open store /x: disk I/O error"), "main",
			"Something went wrong. Try again; if it keeps happening, restart Parley."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := userMessage(c.err, c.screen); got != c.want {
				t.Errorf("userMessage = %q, want %q", got, c.want)
			}
		})
	}
}

// TestSignUpChecksRulesBeforeSending: a name or password the server would
// refuse never reaches the Messenger, and the screen says which rule.
func TestSignUpChecksRulesBeforeSending(t *testing.T) {
	cases := []struct {
		name, user, pass string
		create           bool
		want             string
	}{
		{"empty username", "", "secret1", true, "Enter a username."},
		{"username too long", strings.Repeat("é", 33), "secret1", true, "A username can be at most 64 bytes long."},
		{"password too short", "dave", "abc", true, "A password needs at least 8 characters."},
		{"password is the username", "davedave", "davedave", true, "Choose a stronger password: at least 8 characters, and not your username."},
		{"doubled space in username", "dave  smith", "secret-password", true, "A username can only use visible characters, with single spaces between words."},
		{"password too long", "dave", strings.Repeat("p", wire.MaxPasswordBytes+1), false, "A password can be at most 256 bytes long."},
		{"empty password", "dave", "", false, "Enter a password."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.m.status = ConnStatus{State: sync.StateConnecting, Server: "10.0.0.5:7420"}
			h.u.showSignIn()
			h.u.signIn.username.SetText(c.user)
			h.u.signIn.password.SetText(c.pass)
			h.u.signIn.submit(c.create)
			if got := h.bannerText(); got != c.want {
				t.Errorf("banner = %q, want %q", got, c.want)
			}
			if n := h.m.signInCalls; n != 0 {
				t.Errorf("messenger called %d times with input the server would refuse", n)
			}
			if h.u.signIn.username.Text != c.user {
				t.Errorf("username entry = %q, want the typed %q kept", h.u.signIn.username.Text, c.user)
			}
		})
	}
}

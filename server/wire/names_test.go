package wire

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Code // "" for valid
	}{
		{"plain", "alice", ""},
		{"with a space", "Ana Lopez", ""},
		{"accents", "José Müller", ""},
		{"cyrillic", "Даша", ""},
		{"greek", "Ελένη", ""},
		{"cjk", "李小龍", ""},
		{"emoji with presentation selector", "ana \u2764\uFE0F", ""},
		{"punctuation", "o'brien-smith_2", ""},
		{"combining accent inside", "Jose\u0301", ""},
		{"empty", "", CodeInvalidName},
		{"too long", strings.Repeat("a", MaxNameBytes+1), CodeTooLarge},
		{"longest", strings.Repeat("é", MaxNameBytes/2), ""},
		{"invalid utf-8", "ana\xff", CodeInvalidName},
		{"replacement character", "ana\ufffd", CodeInvalidName},
		{"C0 control", "ana\x07", CodeInvalidName},
		{"tab", "ana\tb", CodeInvalidName},
		{"newline", "ana\nadmin", CodeInvalidName},
		{"DEL", "ana\x7f", CodeInvalidName},
		{"C1 CSI", "ana\u009b2J", CodeInvalidName},
		{"bidi override", "admin\u202egpj.exe", CodeInvalidName},
		{"bidi isolate", "\u2067admin", CodeInvalidName},
		{"left-to-right mark", "admin\u200e", CodeInvalidName},
		{"zero width space", "ad\u200bmin", CodeInvalidName},
		{"zero width joiner", "ad\u200dmin", CodeInvalidName},
		{"byte order mark", "\ufeffadmin", CodeInvalidName},
		{"soft hyphen", "ad\u00admin", CodeInvalidName},
		{"hangul filler", "admin\u3164", CodeInvalidName},
		{"halfwidth hangul filler", "\uffa0", CodeInvalidName},
		{"braille blank", "admin\u2800", CodeInvalidName},
		{"combining grapheme joiner", "ad\u034fmin", CodeInvalidName},
		{"variation selector 1", "a\ufe00", CodeInvalidName},
		{"no-break space", "ana\u00a0lopez", CodeInvalidName},
		{"ideographic space", "ana\u3000lopez", CodeInvalidName},
		{"line separator", "ana\u2028", CodeInvalidName},
		{"private use", "ana\ue000", CodeInvalidName},
		{"unassigned", "ana\U000e0fff", CodeInvalidName},
		{"leading space", " admin", CodeInvalidName},
		{"trailing space", "admin ", CodeInvalidName},
		{"doubled space", "ana  lopez", CodeInvalidName},
		{"starts with a combining mark", "\u0301ana", CodeInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckName("username", tc.in)
			if tc.want == "" {
				if err != nil {
					t.Errorf("CheckName(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			if got := CodeOf(err); err == nil || got != tc.want {
				t.Errorf("CheckName(%q) = %v, want code %s", tc.in, err, tc.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, user, pw string
		want           Code
	}{
		{"long enough", "ana", "correct horse", ""},
		{"eight characters", "ana", "12345678", ""},
		{"eight characters of two bytes", "ana", "éééééééé", ""},
		{"seven", "ana", "1234567", CodeWeakPassword},
		{"eight bytes, four characters", "ana", "éééé", CodeWeakPassword},
		{"the username", "Ana Lopez", "ana lopez", CodeWeakPassword},
		{"too long", "ana", strings.Repeat("x", MaxPasswordBytes+1), CodeTooLarge},
		{"not utf-8", "ana", "abcdefgh\xff", CodeWeakPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.user, tc.pw)
			if tc.want == "" {
				if err != nil {
					t.Errorf("CheckPassword = %v, want nil", err)
				}
				return
			}
			if err == nil || CodeOf(err) != tc.want {
				t.Errorf("CheckPassword = %v, want code %s", err, tc.want)
			}
		})
	}
}

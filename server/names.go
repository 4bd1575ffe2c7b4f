package server

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"parley/server/wire"
)

// canonicalName returns a username, device name or title in the form the
// server stores and shows: NFC, then checked by wire.CheckName (so a name
// that only fits once composed is accepted, and one that grows past the
// limit is not).
func canonicalName(field, name string) (string, error) {
	n := norm.NFC.String(name)
	if err := wire.CheckName(field, n); err != nil {
		return "", err
	}
	return n, nil
}

// nameKey is a username's skeleton for uniqueness: two names with the same
// key look alike and cannot both be registered. It decomposes
// compatibility characters (fullwidth and mathematical letters become
// plain ones), folds case, drops combining marks (accents) and the emoji
// selector, maps common Cyrillic, Greek and digit look-alikes of Latin
// letters (l, 1 and | to i, so that a capital I and an l are one), then
// "rn" to "m". It is a function of the case-folded name, so it is
// case-insensitive by construction, and it is deliberately stricter than
// Unicode's UTS #39 skeleton on accents: "José" and "Jose" are one name
// here, as are "bill" and "bili".
func nameKey(name string) string {
	s := cases.Fold().String(norm.NFKD.String(name))
	s = norm.NFKD.String(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.In(r, unicode.Mn, unicode.Me) || r == '\uFE0F' {
			continue
		}
		if m, ok := confusables[r]; ok {
			r = m
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "rn", "m")
}

// confusables maps lower-case (folded) look-alikes to the Latin letter
// they pass for.
var confusables = map[rune]rune{
	// Digits and punctuation.
	'0': 'o', 'l': 'i', '1': 'i', '|': 'i', 'ı': 'i', 'ǀ': 'i', 'ӏ': 'i',
	// Cyrillic.
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'з': '3', 'і': 'i', 'ї': 'i', 'ј': 'j',
	'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y',
	'х': 'x', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ь': 'b',
	'ɡ': 'g', 'ү': 'y', 'ө': 'o', 'ʏ': 'y',
	// Greek.
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'ζ': 'z', 'η': 'n', 'ι': 'i', 'κ': 'k',
	'μ': 'u', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w',
	'ς': 'c', 'σ': 'o',
}

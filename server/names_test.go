package server

import "testing"

// TestNameKey: names that pass for each other share a key; names that
// merely resemble each other do not.
func TestNameKey(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"case", "Alice", "aLICE", true},
		{"cyrillic a", "alice", "\u0430lice", true},
		{"cyrillic word", "poco", "\u0440\u043e\u0441\u043e", true},
		{"greek omicron and alpha", "oscar", "\u03bfsc\u03b1r", true},
		{"greek capitals", "TAKE", "\u03a4\u0391\u039a\u0395", true},
		{"cyrillic capitals", "HOME", "\u041d\u041e\u041c\u0415", true},
		{"greek case", "\u039f\u039c\u0395\u0393\u0391", "\u03bf\u03bc\u03b5\u03b3\u03b1", true},
		{"digit zero", "bob0", "bobo", true},
		{"digit one and capital i", "wi11iam", "wiIIiam", true},
		{"capital i and l", "Ian", "lan", true},
		{"fullwidth", "\uff41\uff4e\uff41", "ana", true},
		{"mathematical bold", "\U0001d41a\U0001d427\U0001d41a", "ana", true},
		{"accent", "José", "Jose", true},
		{"decomposed accent", "Jose\u0301", "José", true},
		{"rn and m", "rnallory", "mallory", true},
		{"emoji selector", "ana\u2764\ufe0f", "ana\u2764", true},
		{"different names", "alice", "alina", false},
		{"order matters", "ana", "naa", false},
		{"spaces matter", "ana lopez", "analopez", false},
		{"different scripts, different letters", "Даша", "dawa", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := nameKey(tc.a), nameKey(tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("nameKey(%q) = %q, nameKey(%q) = %q; same = %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
			}
		})
	}
}

// TestCanonicalName: names are stored in NFC, so one written decomposed
// is the same account.
func TestCanonicalName(t *testing.T) {
	got, err := canonicalName("username", "Jose\u0301")
	if err != nil || got != "José" {
		t.Errorf("canonicalName = %q, %v; want %q", got, err, "José")
	}
	if _, err := canonicalName("username", "admin\u202e"); err == nil {
		t.Error("canonicalName accepted a bidi override")
	}
}

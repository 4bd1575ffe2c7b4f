package assets

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTrustPromptTranslated: the trust prompt's words (ui/trust.go) are in
// every language, and the warning keeps the address placeholder.
func TestTrustPromptTranslated(t *testing.T) {
	keys := []string{
		"The server at {{.Address}} shows a different certificate than the one this computer trusted before. It may have been reinstalled or given a new certificate — or another computer may be pretending to be it. Nothing was sent to it.",
		"Ask the person who runs the server to read you its fingerprint (shown by its \"Host a server\" switch or in parleyd's log) and compare it with the one shown now. Trust it only if they match.",
		"Trusted before", "Shown now", "The server's identity changed", "Trust the new certificate", "Fingerprint: ",
		"The server's certificate changed, so nothing was sent to it. Compare its fingerprint before you trust it.",
	}
	for _, l := range Languages {
		data, err := Translations.ReadFile("translations/" + l + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("parse %s: %v", l, err)
		}
		for _, k := range keys {
			v, ok := m[k]
			if !ok || v == "" {
				t.Errorf("%s: no translation of %q", l, k)
			}
			if strings.Contains(k, "{{.Address}}") && !strings.Contains(v, "{{.Address}}") {
				t.Errorf("%s: %q lost the {{.Address}} placeholder", l, v)
			}
		}
	}
}

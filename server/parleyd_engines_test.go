package server

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestParleydEngineFlags: -store and -broker values that name no engine
// stop parleyd at once with an error that says what is accepted (and hides
// a URL's password); PARLEY_STORE is read like the flag.
func TestParleydEngineFlags(t *testing.T) {
	bin := parleydBinary(t)
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"unknown store", []string{"-store", "mysql://root:secret@db/parley"}, "", "-store must be empty (SQLite in the data folder) or a postgres:// URL, not \"mysql://root:***@db/parley\""},
		{"store from env", nil, "PARLEY_STORE=redis://x", "-store must be"},
		{"unknown broker", []string{"-broker", "kafka://k"}, "", "-broker must be empty (in-process) or a nats:// URL"},
		{"no database there", []string{"-store", "postgres://127.0.0.1:1/none?connect_timeout=2"}, "", "-store: open postgres store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-mdns", "off", "-metrics-addr", "off"}, tc.args...)...)
			cmd.Env = os.Environ()
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("parleyd started; output:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "secret") {
				t.Errorf("output %q, want it to contain %q (and no password)", out, tc.want)
			}
		})
	}
}

package pulsetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStartStop starts a daemon in a folder of its own, finds it
// answering, stops it and finds it gone; a second Start on a running
// daemon uses it and its Stop leaves it alone.
func TestStartStop(t *testing.T) {
	for _, tool := range []string{"pulseaudio", "pactl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PARLEY_TEST_PULSE") == "1" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed (apt-get install pulseaudio pulseaudio-utils)", tool)
		}
	}
	script, err := filepath.Abs("../../.ci/pulseaudio.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := Start(script, dir)
	if err != nil {
		t.Fatal(err)
	}
	pid := d.pid
	if !d.Started() || !answers(d.Server) {
		t.Fatalf("daemon at %s: started %v, answers %v; want both", d.Server, d.Started(), answers(d.Server))
	}

	again, err := Start(script, dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Started() || again.Server != d.Server {
		t.Errorf("second Start: started %v at %s, want the running daemon at %s used", again.Started(), again.Server, d.Server)
	}
	if err := again.Stop(); err != nil || !answers(d.Server) {
		t.Errorf("Stop of a daemon it did not start: %v, answers %v; want it left running", err, answers(d.Server))
	}

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if answers(d.Server) {
		t.Errorf("daemon (pid %d) still answers at %s after Stop", pid, d.Server)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
}

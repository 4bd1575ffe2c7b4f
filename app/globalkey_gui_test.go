package app

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGlobalTalkKeyFromOtherWindow: with another X client (xev) holding the
// focus, F8 pressed and released through XTEST (as a keyboard does, not
// sent to a window) reaches Parley through its root-window grab and sends a
// complete voice message; the focus never moves to Parley.
func TestGlobalTalkKeyFromOtherWindow(t *testing.T) {
	requireGUI(t)
	for _, tool := range []string{"xev", "stdbuf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed", tool)
		}
	}
	mouth, mic := virtualMic(t, "global")
	wav := speech(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	in := startBinary(t, t.TempDir(), []string{"PULSE_SOURCE=" + mic},
		"-host", "-host-addr", "127.0.0.1", "-port", strconv.Itoa(port),
		"-user", "alice", "-password", "correct horse", "-signup", "-audio", "pulse")
	checker := watchClient(t, addr, "checker")
	in.waitLog(t, regexp.MustCompile(`"global talk key".*key=F8 via="X11 key grab"`), 20*time.Second)
	select {
	case <-in.micOn:
	case <-time.After(20 * time.Second):
		t.Fatalf("the app did not open its microphone within 20 s:\n%s", in.output())
	}

	other := exec.Command("xev", "-name", "parley-global-other")
	other.Env = append(os.Environ(), "DISPLAY="+fixture.display)
	if err := other.Start(); err != nil {
		t.Fatalf("start xev: %v", err)
	}
	defer func() {
		other.Process.Kill()
		other.Wait()
	}()
	otherWin := strings.Fields(xdotool(t, "search", "--sync", "--onlyvisible", "--name", "^parley-global-other$"))[0]
	xdotool(t, "windowfocus", "--sync", otherWin)

	play := exec.Command("paplay", "-d", mouth, wav)
	play.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	if err := play.Start(); err != nil {
		t.Fatalf("paplay: %v", err)
	}
	defer func() {
		play.Process.Kill()
		play.Wait()
	}()
	time.Sleep(300 * time.Millisecond) // let the speech reach the microphone
	t0 := time.Now()
	xdotool(t, "keydown", "F8")
	time.Sleep(2 * time.Second) // the user holds the key this long
	if f := xdotool(t, "getwindowfocus"); f != otherWin {
		t.Errorf("focus moved to window %s while talking, want %s (the other window)", f, otherWin)
	}
	xdotool(t, "keyup", "F8")
	held := time.Since(t0) // from before the press to after the release (xdotool is slow on a loaded machine)

	msg := waitVoice(t, checker, "alice", 30*time.Second)
	if d := msg.Duration; d < 1800*time.Millisecond || d > held+500*time.Millisecond {
		t.Errorf("message duration = %v, want the 2 s hold (at most %v between press and release commands)", d, held)
	}
	t.Logf("message %s from the global key: %v, %d packets; key held %v by the clock around xdotool", msg.ID, msg.Duration, msg.Packets, held)
}

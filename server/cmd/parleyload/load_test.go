package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for parleyload when a scenario
// starts the baseline subprocess ("<self> baseline ...").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := runBaseline(os.Args[2:]); err != nil {
			os.Stderr.WriteString("baseline: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs every scenario at a tiny size against a real parleyd and
// the baseline: nothing is lost on loopback, every figure is filled in,
// and the report and plot are written.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs parleyd")
	}
	cfg := config{
		fanoutN: []int{3}, fanoutDur: time.Second,
		rooms: 2, roomSize: 3, roomsDur: time.Second,
		idleConns: 40,
		storeTalk: 4, storeDur: time.Second, storeFlat: 500 * time.Millisecond,
		catchupMsgs: 20,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := measure(ctx, cfg, "", func(format string, a ...any) { t.Logf(format, a...) })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rep.fanout, rep.rooms...) {
		if r.sent == 0 || r.loss() != 0 || len(r.lat) != int(r.received) {
			t.Errorf("%s on %s: sent %d, expected %d, received %d, %d samples", r.name, r.system, r.sent, r.expected, r.received, len(r.lat))
		}
		if r.peakKiB == 0 {
			t.Errorf("%s on %s: no peak RSS", r.name, r.system)
		}
	}
	if len(rep.fanout) != 2 || len(rep.rooms) != 2 || len(rep.idle) != 2 {
		t.Errorf("got %d fan-out, %d rooms, %d idle results; want 2 each", len(rep.fanout), len(rep.rooms), len(rep.idle))
	}
	for _, r := range rep.idle {
		if r.conns != cfg.idleConns || r.rssKiB == 0 {
			t.Errorf("idle on %s: %d connections, RSS %d KiB", r.system, r.conns, r.rssKiB)
		}
	}
	if len(rep.store) != 2 {
		t.Fatalf("got %d store phases, want 2", len(rep.store))
	}
	for _, r := range rep.store {
		if r.committed == 0 || r.committed != r.sent || len(r.ack) != int(r.committed) {
			t.Errorf("store %s: sent %d, committed %d, %d ack samples", r.phase, r.sent, r.committed, len(r.ack))
		}
	}
	if len(rep.catchup) != 2 {
		t.Fatalf("got %d catch-up results, want 2", len(rep.catchup))
	}
	for _, r := range rep.catchup {
		if r.metadata <= 0 || r.fullAudio <= 0 {
			t.Errorf("catch-up %s: metadata %v, audio %v", r.path, r.metadata, r.fullAudio)
		}
	}
	if raw := rep.catchup[0]; raw.events < 2*cfg.catchupMsgs {
		t.Errorf("raw catch-up saw %d events, want at least %d (created + finished per message)", raw.events, 2*cfg.catchupMsgs)
	}

	md := rep.markdown()
	for _, want := range []string{"parley ÷ baseline", "## Idle scale", "## Store", "## Catch-up", "## Targets"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	png := filepath.Join(t.TempDir(), "fanout.png")
	if err := rep.plot(png); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("plot: %v, %v", st, err)
	}
}

package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	gosync "sync"
	"testing"

	"parley/server/wire"
)

// heapAfterGC returns the live heap once garbage is collected.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHeapReturns: after a busy period — several senders each draining
// a long message of large packets, then signing out — the server's heap
// comes back near where it started: finished messages' audio lives in the
// store, not in memory. PARLEY_HEAPPROFILE=file writes the heap profile
// taken at the end.
func TestHeapReturns(t *testing.T) {
	const (
		senders = 4
		packets = 1000
		size    = 1000
	)
	ts := startServer(t)
	watcher := register(t, ts, "watcher")
	clients := make([]*client, senders)
	groups := make([]string, senders)
	for i := range clients {
		clients[i] = register(t, ts, fmt.Sprintf("sender%d", i))
		// Each talks in a group of their own, so the test's clients do
		// not keep the audio as received frames.
		groups[i] = call[wire.ConversationInfo](clients[i], wire.TypeConversationCreate,
			wire.ConversationCreate{Kind: wire.ConversationGroup, Title: fmt.Sprintf("solo %d", i)}).Conversation.ID
	}
	before := heapAfterGC()

	msgs := make([]string, senders)
	streams := make([]uint32, senders)
	for i, c := range clients {
		msgs[i] = newID()
		streams[i] = c.startVoice(groups[i], msgs[i]).Stream
	}
	var wg gosync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := make([]byte, size)
			for n := uint32(0); n < packets; n++ {
				data[0], data[1], data[2] = byte(n), byte(n>>8), byte(i)
				c.sendPacket(streams[i], n, data)
			}
			// Each ack within the wait, however long the whole takes on a
			// busy machine.
			for upto := uint32(0); upto < packets; {
				upto = c.waitAck(msgs[i], upto+1).Upto
			}
			c.endVoice(msgs[i], packets)
			c.close()
		}()
	}
	wg.Wait()
	// Every sender's session has ended once the watcher saw them go.
	offline := map[string]bool{}
	for len(offline) < senders {
		f := watcher.waitFor("offline", isType(wire.TypePresence))
		for _, e := range decodeAs[wire.Presence](f.env).Users {
			if e.State == wire.PresenceOffline {
				offline[e.User] = true
			}
		}
	}
	watcher.pending = nil
	after := heapAfterGC()
	if path := os.Getenv("PARLEY_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	audio := uint64(senders * packets * size)
	grown := int64(after) - int64(before)
	t.Logf("heap before %.1f MB, after %.1f MB (grown %.1f MB) for %.1f MB of audio",
		float64(before)/1e6, float64(after)/1e6, float64(grown)/1e6, float64(audio)/1e6)
	if grown > int64(audio/10) {
		t.Errorf("heap grew by %.1f MB after %.1f MB of audio was stored and its senders left; want under %.1f MB",
			float64(grown)/1e6, float64(audio)/1e6, float64(audio/10)/1e6)
	}
}

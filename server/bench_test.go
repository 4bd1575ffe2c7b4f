package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"parley/server/wire"
)

// benchMessage opens a store in a temporary folder with one user and one
// recording voice message in the Lobby.
func benchMessage(b *testing.B) (Store, string) {
	b.Helper()
	ctx := context.Background()
	st, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "parley.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	lobby, err := st.EnsureLobby(ctx, newID(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	u, _, err := st.CreateUser(ctx, "ana", "ana", "x", []string{lobby}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	convs, err := st.Conversations(ctx, u.ID)
	if err != nil || len(convs) == 0 {
		b.Fatalf("conversations: %v %v", convs, err)
	}
	m, _, err := st.CreateMessage(ctx, wire.Message{ID: newID(), Conversation: convs[0].ID, Sender: u, Kind: wire.KindVoice,
		Created: time.Now().UnixMilli(), State: wire.StateRecording, Codec: wire.CodecOpus})
	if err != nil {
		b.Fatal(err)
	}
	return st, m.ID
}

// BenchmarkStoreCommit commits packets to SQLite (WAL, synchronous=FULL)
// in transactions of batch packets, as the commit loop does: one op is
// one packet.
func BenchmarkStoreCommit(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			st, msg := benchMessage(b)
			ctx := context.Background()
			data := packetData(msg, 1)[:40]
			records := make([]PacketRecord, batch)
			n := uint32(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for j := range records {
					records[j] = PacketRecord{Message: msg, Number: n, Data: data}
					n++
				}
				if err := st.CommitPackets(ctx, records); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkFanout delivers one live packet to n listening sessions (one
// frame encode, n queue pushes) and lets each session's writer side take
// it off its queue: one op is one packet to every listener.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 200, 1000} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			srv := &Server{cfg: Config{QueueFrames: 1024}, metrics: newMetrics()}
			srv.cfg.setDefaults()
			sessions := make([]*session, n)
			for i := range sessions {
				sessions[i] = newSession(srv, nil)
			}
			m := &liveView{srv: srv, stream: 7, listeners: sessions, tails: map[*session]tail{}}
			packet := packetData("bench", 3)[:60]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.mu.Lock()
				m.deliverLocked(uint32(i), [][]byte{packet})
				m.mu.Unlock()
				for _, s := range sessions {
					if _, ok := s.pop(); !ok {
						b.Fatal("packet not queued")
					}
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

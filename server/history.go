package server

import "parley/server/wire"

// fetchBatch is how many packets one history batch frame carries.
const fetchBatch = wire.MaxBatchPackets

// streamStored sends a finished message's packets from from as batches,
// then voice.done. It runs on a goroutine owned by s.
func (srv *Server) streamStored(s *session, msg wire.Message, stream, from uint32, reqID string) {
	head := wire.AudioStream{Message: msg.ID, Stream: stream, From: from, State: msg.State, Packets: msg.Packets}
	if !s.sendText(wire.TypeAudioStream, reqID, head) {
		return
	}
	for next := from; next < msg.Packets; {
		packets, err := srv.packets.Packets(s.ctx, msg.ID, next, fetchBatch)
		if err != nil || len(packets) == 0 {
			if err != nil && s.ctx.Err() == nil {
				srv.log.Error("fetch packets", "message", msg.ID, "from", next, "err", err)
			}
			break
		}
		frame, err := wire.AppendBatch(nil, stream, next, packets)
		if err != nil || s.sendBulk(true, frame) != nil {
			return
		}
		next += uint32(len(packets))
	}
	s.sendText(wire.TypeVoiceDone, "", wire.VoiceDone{Message: msg.ID, Stream: stream, State: msg.State,
		Packets: msg.Packets, DurationMs: msg.DurationMs, Waveform: msg.Waveform})
}

// goTask runs fn on a goroutine the session waits for when it ends.
func (s *session) goTask(fn func()) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		fn()
	}()
}

// sendText hands an envelope to the writer in order with bulk frames.
func (s *session) sendText(typ, id string, payload any) bool {
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		return false
	}
	return s.sendBulk(false, b) == nil
}

package server

import (
	"context"
	"errors"
	"time"
)

// janitorPeriod is how often the janitor runs: a quarter of AbandonAfter
// (at least 10 ms).
func (srv *Server) janitorPeriod() time.Duration {
	return max(srv.cfg.AbandonAfter/4, 10*time.Millisecond)
}

// janitor keeps this node's recordings in order, every janitorPeriod: it
// renews the leases of the recordings it owns (forgetting those another
// node took), abandons those whose sender went silent, takes over
// recordings whose owner's lease ran out (a node that died), and finishes
// the live views whose done was lost.
func (srv *Server) janitor() {
	defer close(srv.janitorDone)
	t := time.NewTicker(srv.janitorPeriod())
	defer t.Stop()
	for {
		select {
		case <-srv.stopJanitor:
			return
		case <-t.C:
			srv.tidy(context.Background(), srv.now())
		}
	}
}

// tidy is one round of the janitor.
func (srv *Server) tidy(ctx context.Context, now time.Time) {
	srv.liveMu.Lock()
	live := make([]*liveMessage, 0, len(srv.live))
	for _, m := range srv.live {
		live = append(live, m)
	}
	srv.liveMu.Unlock()
	for _, m := range live {
		held, err := srv.store.ClaimRecording(ctx, m.id, srv.nodeID, now, now.Add(srv.leaseTTL()), false)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // finished meanwhile
		case err != nil:
			// Keep it: the lease outlives a few failed renewals.
			srv.log.Error("renew recording lease", "message", m.id, "err", err)
		case !held:
			srv.forgetLive(m)
			continue
		}
		m.abandonIfSilent(now)
	}
	srv.adoptOrphans(ctx)
	srv.sweepViews(ctx, now)
}

// adoptOrphans takes over the recordings that no node holds a lease on
// (at startup: those an earlier run left; later: those of a node that
// died). Their senders resume them here or anywhere; the janitor abandons
// those that do not come back.
func (srv *Server) adoptOrphans(ctx context.Context) {
	// A message younger than a lease is left alone: the node that made it
	// is about to claim it.
	recording, err := srv.store.RecordingMessages(ctx)
	if err != nil {
		srv.log.Error("find orphaned recordings", "err", err)
		return
	}
	young := srv.now().Add(-srv.leaseTTL()).UnixMilli()
	for _, msg := range recording {
		if srv.owned(msg.ID) != nil || msg.Created > young {
			continue // ours, or just made: its sender's node claims it
		}
		if _, _, err := srv.liveFor(ctx, msg, false); err != nil && !errors.Is(err, errNotOwner) && !errors.Is(err, ErrNotFound) {
			srv.log.Error("adopt recording", "message", msg.ID, "err", err)
		}
	}
}

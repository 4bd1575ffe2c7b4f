package app

// Export of a message as an Ogg Opus file, and the adapter from sync's
// packet source to audio's.

import (
	"context"
	"fmt"
	"io"
	"time"

	"parley/audio"
	"parley/sync"
)

// ExportOpus implements ui.Messenger: the message's packets (fetched if
// not cached) as an Ogg Opus file.
func (m *messenger) ExportOpus(message string, w io.Writer) error {
	_, c, err := m.store()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := c.OpenMessage(ctx, message, 0)
	if err != nil {
		return fmt.Errorf("export %s: %w", message, err)
	}
	return audio.ExportOpus(ctx, w, packetSource{src})
}

// packetSource adapts a sync.PacketSource to audio.PacketSource.
type packetSource struct{ src *sync.PacketSource }

func (p packetSource) Next(ctx context.Context) (audio.Packet, error) {
	pk, err := p.src.Next(ctx)
	if err != nil {
		return audio.Packet{}, err
	}
	return audio.Packet{Seq: pk.Seq, Data: pk.Data, Arrived: pk.Arrived}, nil
}

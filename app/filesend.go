package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"parley/audio"
	"parley/server/wire"
	"parley/ui"
)

// fileSender is ui.FileSender: audio.ImportFile decodes and encodes the
// whole file first (a bad file sends nothing), then the packets go into the
// outbox through sync.VoiceSend like a recording's, so the message survives
// a restart and is sent when the server is reachable.
type fileSender struct {
	msgr *messenger
	log  *slog.Logger
}

// SendFile implements ui.FileSender.
func (f fileSender) SendFile(ctx context.Context, conversation, path string, progress func(float64)) error {
	im, err := audio.ImportFile(ctx, path, audio.ImportConfig{MaxDuration: wire.MaxMessageDuration, Progress: progress})
	if err != nil {
		return fileError(err)
	}
	acc := f.msgr.current()
	if acc == nil {
		return fmt.Errorf("send file %q: not signed in", path)
	}
	vs, err := acc.c.StartVoice(conversation)
	if err != nil {
		return fmt.Errorf("send file %q: %w", path, userError(err))
	}
	for _, p := range im.Packets {
		if err := vs.Push(p.Data); err != nil {
			if cerr := vs.Cancel(); cerr != nil {
				f.log.Warn("withdraw file message", "message", vs.ID(), "err", cerr)
			}
			return fmt.Errorf("send file %q: store packet %d: %w", path, p.Seq, err)
		}
	}
	if err := vs.End(im.Duration, im.Waveform); err != nil {
		return fmt.Errorf("send file %q: %w", path, err)
	}
	f.log.Info("file sent", "file", path, "format", im.Format, "duration", im.Duration, "packets", len(im.Packets), "message", vs.ID())
	return nil
}

// fileError wraps audio's import errors with ui's, for the user's sentence.
func fileError(err error) error {
	var kind error
	switch {
	case errors.Is(err, audio.ErrFileEmpty):
		kind = ui.ErrFileEmpty
	case errors.Is(err, audio.ErrFileUnsupported):
		kind = ui.ErrFileUnsupported
	case errors.Is(err, audio.ErrFileCorrupt):
		kind = ui.ErrFileCorrupt
	case errors.Is(err, audio.ErrFileTooLong):
		kind = ui.ErrFileTooLong
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}

package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// FileSender sends an audio file as a voice message (app/ decodes,
// encodes and queues it in the outbox). SendFile runs off the UI thread;
// progress is called on the sender's goroutine with the fraction done.
// Errors wrap one of the ErrFile* values below for the user's sentence.
type FileSender interface {
	SendFile(ctx context.Context, conversation, path string, progress func(fraction float64)) error
}

// Errors of a file that cannot be sent; app/ wraps audio's with these.
var (
	ErrFileEmpty       = errors.New("audio file empty")
	ErrFileUnsupported = errors.New("audio file unsupported")
	ErrFileCorrupt     = errors.New("audio file damaged")
	ErrFileTooLong     = errors.New("audio file too long")
)

// audioFileExtensions are offered in the file dialog (content decides).
var audioFileExtensions = []string{".wav", ".mp3", ".flac", ".ogg", ".opus"}

// fileErrorMessage is userMessage's sentence for a file error, or "".
func fileErrorMessage(err error) string {
	switch {
	case errors.Is(err, ErrFileEmpty):
		return lang.L("That file holds no sound; nothing was sent.")
	case errors.Is(err, ErrFileUnsupported):
		return lang.L("Parley can send WAV, MP3, FLAC and Ogg Opus files; nothing was sent.")
	case errors.Is(err, ErrFileCorrupt):
		return lang.L("That file is damaged and cannot be read; nothing was sent.")
	case errors.Is(err, ErrFileTooLong):
		return lang.L("That file is longer than a voice message may be (10 minutes); nothing was sent.")
	}
	return ""
}

// newFileButton opens a file dialog and sends the chosen file; nil when
// the app sends no files.
func (u *UI) newFileButton() *widget.Button {
	if u.d.Files == nil {
		return nil
	}
	return widget.NewButtonWithIcon("", theme.FileAudioIcon(), func() {
		d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
			if err != nil {
				u.showError(err)
				return
			}
			if rc == nil {
				return // cancelled
			}
			path := rc.URI().Path()
			rc.Close()
			u.sendFile(path)
		}, u.win)
		d.SetFilter(storage.NewExtensionFileFilter(audioFileExtensions))
		d.Show()
	})
}

// installFileDrop sends audio files dropped onto the window to the open
// conversation.
func (u *UI) installFileDrop() {
	if u.d.Files == nil {
		return
	}
	u.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { u.dropFiles(uris) })
}

// dropFiles sends every local file of a drop (UI thread).
func (u *UI) dropFiles(uris []fyne.URI) {
	for _, uri := range uris {
		if uri.Scheme() == "file" {
			u.sendFile(uri.Path())
		}
	}
}

// sendFile imports and sends path off the UI thread, showing progress in
// the talk panel's note and any error in the banner.
func (u *UI) sendFile(path string) {
	conv := u.main.current
	if conv == "" {
		u.main.setNote(lang.L("Open a conversation to send a file"))
		return
	}
	name := path[strings.LastIndexAny(path, `/\`)+1:]
	u.filesSending++
	u.main.setNote(lang.L("Sending ") + name + "…")
	u.async(func() {
		last := -1
		err := u.d.Files.SendFile(context.Background(), conv, path, func(f float64) {
			pct := int(f * 100)
			if pct == last || pct%5 != 0 { // a redraw every 5 %
				return
			}
			last = pct
			fyne.Do(func() {
				if u.filesSending > 0 && !u.talk.Talking() {
					u.main.setNote(lang.L("Sending ") + name + " " + strconv.Itoa(pct) + " %")
				}
			})
		})
		fyne.Do(func() {
			u.filesSending--
			if !u.talk.Talking() {
				u.main.setNote("")
			}
			if err != nil {
				u.showError(err)
				return
			}
			u.reloadMessages()
		})
	})
}

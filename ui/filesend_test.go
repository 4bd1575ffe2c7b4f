package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
)

// fakeFiles records sends; err, if set, is returned wrapped as app/ does.
type fakeFiles struct {
	conv, path string
	err        error
	progress   []float64
}

func (f *fakeFiles) SendFile(_ context.Context, conv, path string, progress func(float64)) error {
	f.conv, f.path = conv, path
	for _, p := range []float64{0.01, 0.05, 0.5, 1} {
		progress(p)
		f.progress = append(f.progress, p)
	}
	if f.err != nil {
		return fmt.Errorf("send file %q: %w: %w", path, f.err, fmt.Errorf("decoder detail"))
	}
	return nil
}

func TestSendFile(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantBanner string
	}{
		{"sent", nil, ""},
		{"empty", ErrFileEmpty, "holds no sound"},
		{"unsupported", ErrFileUnsupported, "WAV, MP3, FLAC and Ogg Opus"},
		{"damaged", ErrFileCorrupt, "damaged"},
		{"too long", ErrFileTooLong, "longer than a voice message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			files := &fakeFiles{err: c.err}
			h.u.d.Files = files
			h.u.handleHint(Hint{Kind: HintConversations})
			h.u.sendFile("/music/take 1.flac")
			if files.conv != h.u.main.current || files.path != "/music/take 1.flac" {
				t.Fatalf("sent %q to %q, want the open conversation %q", files.path, files.conv, h.u.main.current)
			}
			got := h.bannerText()
			if c.wantBanner == "" && got != "" || !strings.Contains(got, c.wantBanner) {
				t.Errorf("banner %q, want it to contain %q", got, c.wantBanner)
			}
			if h.u.main.talkNote.Text != "" {
				t.Errorf("note %q left after the send", h.u.main.talkNote.Text)
			}
		})
	}
}

// TestFileDrop: local files dropped on the window go to the open
// conversation; other URIs are ignored.
func TestFileDrop(t *testing.T) {
	h := newHarness(t, true)
	files := &fakeFiles{}
	h.u.d.Files = files
	h.u.handleHint(Hint{Kind: HintConversations})
	web, err := storage.ParseURI("https://example.com/a.mp3")
	if err != nil {
		t.Fatal(err)
	}
	h.u.dropFiles([]fyne.URI{web, storage.NewFileURI("/tmp/hello.wav")})
	if files.path != "/tmp/hello.wav" {
		t.Errorf("dropped file sent as %q", files.path)
	}
}

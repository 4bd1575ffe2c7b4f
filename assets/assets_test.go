package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestIconIsSquarePNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(Icon.Content()))
	if err != nil {
		t.Fatalf("decode icon: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Errorf("icon size = %v, want 512x512", b.Size())
	}
}

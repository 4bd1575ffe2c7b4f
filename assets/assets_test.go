package assets

import (
	"bytes"
	"encoding/json"
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

func TestTranslationsParse(t *testing.T) {
	keys := map[string]map[string]string{}
	for _, l := range Languages {
		data, err := Translations.ReadFile("translations/" + l + ".json")
		if err != nil {
			t.Fatalf("read %s: %v", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("parse %s: %v", l, err)
		}
		keys[l] = m
	}
	if got := keys["zh"]["Hold to talk"]; got != "按住说话" {
		t.Errorf(`zh["Hold to talk"] = %q, want 按住说话`, got)
	}
	if err := LoadTranslations(""); err != nil {
		t.Fatalf("LoadTranslations: %v", err)
	}
}

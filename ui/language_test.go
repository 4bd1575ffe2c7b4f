package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"parley/assets"
)

// renderedTexts returns every text drawn on the window's canvas (label,
// button and entry texts all end up as canvas.Text in their renderers).
func renderedTexts(w fyne.Window) []string {
	var out []string
	for _, o := range test.LaidOutObjects(w.Content()) {
		if t, ok := o.(*canvas.Text); ok && t.Visible() && t.Text != "" {
			out = append(out, t.Text)
		}
	}
	return out
}

// useLanguage loads the translations as the app does at start-up, under a
// system locale and a language setting, and restores English afterwards.
func useLanguage(t *testing.T, systemLocale, setting string) string {
	t.Helper()
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANGUAGE"} {
		t.Setenv(v, "")
	}
	t.Setenv("LANG", systemLocale)
	code, err := assets.LoadTranslations(setting)
	if err != nil {
		t.Fatalf("LoadTranslations(%q): %v", setting, err)
	}
	t.Cleanup(func() {
		t.Setenv("LANG", "en_US.UTF-8")
		if _, err := assets.LoadTranslations("en"); err != nil {
			t.Errorf("restore English: %v", err)
		}
	})
	return code
}

// TestMainScreenInChinese starts the ui in Chinese, chosen in settings and
// by the system locale in its usual spellings, and checks what is drawn:
// the Chinese labels are there and no English text that has a translation.
func TestMainScreenInChinese(t *testing.T) {
	zh, err := assets.TranslationKeys("zh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, locale, setting string }{
		{"setting zh", "en_US.UTF-8", "zh"},
		{"system zh_CN.UTF-8", "zh_CN.UTF-8", ""},
		{"system zh-Hans", "zh-Hans", ""},
		{"system C, setting zh-CN", "C", "zh-CN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code := useLanguage(t, c.locale, c.setting); code != "zh" {
				t.Errorf("active language = %q, want zh", code)
			}
			h := newHarness(t, true)
			seedConversations(h)
			h.u.handleHint(Hint{Kind: HintConversations}) // after the open conversation was seen
			texts := renderedTexts(h.u.win)
			seen := map[string]bool{}
			for _, s := range texts {
				seen[s] = true
				if v, ok := zh[s]; ok && v != s {
					t.Errorf("English %q drawn, want %q", s, v)
				}
			}
			for _, want := range []string{zh["Hold to talk"], zh["Settings"], zh["New conversation"], zh["Connected"] + " · alice@10.0.0.5:7420"} {
				if !seen[want] {
					t.Errorf("%q not drawn; drawn: %q", want, texts)
				}
			}
			if c.setting == "zh" {
				test.AssertImageMatches(t, "main_zh.png", h.u.win.Canvas().Capture())
			}
		})
	}
}

// TestLanguageSwitchAppliesNow: choosing 中文 in Settings redraws the
// window in Chinese at once, without a restart.
func TestLanguageSwitchAppliesNow(t *testing.T) {
	useLanguage(t, "en_US.UTF-8", "")
	zh, err := assets.TranslationKeys("zh")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, true)
	seedConversations(h)
	h.u.showSettings()
	var sel *widget.Select
	for _, o := range test.LaidOutObjects(h.u.win.Content()) {
		if s, ok := o.(*widget.Select); ok && slices.Contains(s.Options, "中文") {
			sel = s
		}
	}
	if sel == nil {
		t.Fatal("no language choice in settings")
	}
	sel.SetSelected("中文")
	if h.set.p.Language != "zh" {
		t.Errorf("saved language = %q, want zh", h.set.p.Language)
	}
	if texts := renderedTexts(h.u.win); !slices.Contains(texts, zh["Settings"]) {
		t.Errorf("settings not redrawn in Chinese: %q", texts)
	}
	h.u.showMain()
	texts := renderedTexts(h.u.win)
	for _, want := range []string{zh["Hold to talk"], zh["New conversation"], zh["Lobby"]} {
		if !slices.Contains(texts, want) {
			t.Errorf("%q not drawn after the switch; drawn: %q", want, texts)
		}
	}
	if h.u.main.current == "" || len(h.u.main.msgs) == 0 {
		t.Errorf("the rebuilt main screen lost the open conversation")
	}
}

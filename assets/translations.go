package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

// Translations holds Fyne lang bundles, one file per language, keyed by the
// English text ui passes to lang.L. Files are named by BCP 47 tag: zh-Hans
// is the tag Fyne's own Chinese strings use, so ours and Fyne's (dialog
// buttons, file picker) land in one bundle and are found together.
//
//go:embed translations
var Translations embed.FS

// Languages are the language codes Parley offers, in the order settings
// lists them.
var Languages = []string{"en", "zh"}

// translationFile is the bundle of each language code.
var translationFile = map[string]string{"en": "en.json", "zh": "zh-Hans.json"}

// LanguageOf returns the language code (one of Languages) for a locale or
// language setting in any usual spelling — "zh", "zh-Hans", "zh-CN",
// "zh_CN.UTF-8", "zh_Hans_CN", "en-US", "C" — or "" when Parley has no
// translation for it.
func LanguageOf(locale string) string {
	base := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(base, "-_.@:"); i >= 0 {
		base = base[:i]
	}
	if _, ok := translationFile[base]; ok {
		return base
	}
	return ""
}

// TranslationKeys returns the message keys of one language's bundle.
func TranslationKeys(language string) (map[string]string, error) {
	name, ok := translationFile[language]
	if !ok {
		return nil, fmt.Errorf("read translations %q: no such language", language)
	}
	data, err := Translations.ReadFile("translations/" + name)
	if err != nil {
		return nil, fmt.Errorf("read translations %q: %w", language, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse translations %s: %w", name, err)
	}
	return m, nil
}

// LoadTranslations registers the bundles with Fyne's lang package and makes
// one language active: language if set (in any spelling LanguageOf takes),
// else the system locale's, else English. It returns the active code.
//
// Fyne picks the bundle that best matches the system locale and offers no
// way to choose another, and an environment variable would only work on
// Linux (and not under LC_ALL=C). So the chosen bundle is also registered
// under the system locale's own tag, which Fyne's matcher prefers over any
// other; that works on every platform and for every locale spelling. Call it
// at start-up before any window is built; calling it again switches the
// language for strings looked up afterwards.
func LoadTranslations(language string) (string, error) {
	if err := lang.AddTranslationsFS(Translations, "translations"); err != nil {
		return "", fmt.Errorf("load translations: %w", err)
	}
	sys := lang.SystemLocale()
	code := LanguageOf(language)
	if code == "" {
		code = LanguageOf(string(sys))
	}
	if code == "" {
		code = "en"
	}
	data, err := Translations.ReadFile("translations/" + translationFile[code])
	if err != nil {
		return "", fmt.Errorf("load translations %q: %w", code, err)
	}
	for _, tag := range []fyne.Locale{sys, "en"} {
		// "en" too: with no usable system locale (C, POSIX, unset) Fyne
		// falls back to its first bundle, English.
		if err := lang.AddTranslationsForLocale(data, tag); err != nil {
			return "", fmt.Errorf("load translations %q for locale %q: %w", code, tag, err)
		}
	}
	return code, nil
}

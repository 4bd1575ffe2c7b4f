package assets

import (
	"embed"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

//go:embed icon.png
var iconPNG []byte

//go:embed icon.svg
var iconSVG []byte

// Translations holds Fyne lang bundles, one file per language (en.json, zh.json),
// keyed by the English text ui passes to lang.L.
//
//go:embed translations
var Translations embed.FS

// Icon is the app icon as a 512×512 PNG.
var Icon fyne.Resource = fyne.NewStaticResource("icon.png", iconPNG)

// IconSVG is the app icon as SVG, for places that scale it.
var IconSVG fyne.Resource = fyne.NewStaticResource("icon.svg", iconSVG)

// Languages are the language codes with a bundle in Translations.
var Languages = []string{"en", "zh"}

// LoadTranslations registers the bundles with Fyne's lang package. language
// is "" to follow the system locale, or one of Languages to force it; forcing
// sets LANGUAGE, which Fyne's locale lookup reads on Linux and BSD, so call
// it once at start-up before any window is built.
func LoadTranslations(language string) error {
	if language != "" {
		if err := os.Setenv("LANGUAGE", language); err != nil {
			return fmt.Errorf("set language %q: %w", language, err)
		}
	}
	if err := lang.AddTranslationsFS(Translations, "translations"); err != nil {
		return fmt.Errorf("load translations: %w", err)
	}
	return nil
}

package ui

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestWaveColorsContrast checks the waveform's colours on own and others'
// bubbles in Fyne's dark and light themes (and the test theme the goldens
// use): unplayed bars stand at least 3:1 against the bubble, and played
// bars differ from them.
func TestWaveColorsContrast(t *testing.T) {
	test.NewTempApp(t)
	themes := []struct {
		name string
		th   fyne.Theme
	}{
		{"dark", variantTheme{theme.DefaultTheme(), theme.VariantDark}},
		{"light", variantTheme{theme.DefaultTheme(), theme.VariantLight}},
		{"test", test.Theme()},
	}
	for _, c := range themes {
		for _, mine := range []bool{false, true} {
			for _, live := range []bool{false, true} {
				played, unplayed := waveColors(c.th, live, mine)
				bubble := over(bubbleColor(c.th, mine), c.th.Color(theme.ColorNameBackground, theme.VariantDark))
				u, p := contrast(unplayed, bubble), contrast(played, bubble)
				t.Logf("%s mine=%v live=%v: bubble %v unplayed %v %.2f:1, played %v %.2f:1, played/unplayed %.2f:1",
					c.name, mine, live, hex(bubble), hex(unplayed), u, hex(played), p, contrast(played, unplayed))
				if u < 3 {
					t.Errorf("%s mine=%v: unplayed bars %.2f:1 against the bubble, want >= 3", c.name, mine, u)
				}
				if hex(played) == hex(unplayed) {
					t.Errorf("%s mine=%v live=%v: played and unplayed bars are both %s", c.name, mine, live, hex(played))
				}
			}
		}
	}
}

// variantTheme is a theme in one variant, as a user picks it.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

func hex(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	const d = "0123456789abcdef"
	return string([]byte{'#', d[n.R>>4], d[n.R&15], d[n.G>>4], d[n.G&15], d[n.B>>4], d[n.B&15]})
}

// TestContrast checks the WCAG ratio against known pairs.
func TestContrast(t *testing.T) {
	cases := []struct {
		a, b color.Color
		want float64
	}{
		{color.White, color.Black, 21},
		{color.Black, color.White, 21},
		{color.NRGBA{0x77, 0x77, 0x77, 0xff}, color.White, 4.48},
		{color.NRGBA{0x39, 0x39, 0x3a, 0xff}, color.NRGBA{0x20, 0x20, 0x23, 0xff}, 1.41},
	}
	for _, c := range cases {
		if got := contrast(c.a, c.b); got < c.want-0.01 || got > c.want+0.01 {
			t.Errorf("contrast(%v, %v) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

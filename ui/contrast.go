package ui

import (
	"image/color"
	"math"
)

// unplayedContrast is the contrast against its bubble that a waveform's
// unplayed bars are given: above WCAG's 3:1 for graphics, with a margin.
const unplayedContrast = 3.5

// luminance is c's relative luminance (WCAG 2), alpha ignored.
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG contrast ratio of a and b (1..21).
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over is c painted over the opaque back, as the screen shows it.
func over(c, back color.Color) color.NRGBA {
	f := color.NRGBAModel.Convert(c).(color.NRGBA)
	b := color.NRGBAModel.Convert(back).(color.NRGBA)
	return mix(b, color.NRGBA{R: f.R, G: f.G, B: f.B, A: 0xff}, float64(f.A)/255)
}

// mix is a moved the fraction t (0..1) of the way to b, opaque.
func mix(a, b color.NRGBA, t float64) color.NRGBA {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{R: m(a.R, b.R), G: m(a.G, b.G), B: m(a.B, b.B), A: 0xff}
}

// towards is the least step (in sixteenths) from the opaque back towards
// fg whose contrast against back reaches ratio; fg itself if none does.
func towards(back, fg color.Color, ratio float64) color.NRGBA {
	b := color.NRGBAModel.Convert(back).(color.NRGBA)
	f := over(fg, b)
	for k := 1; k < 16; k++ {
		if c := mix(b, f, float64(k)/16); contrast(c, b) >= ratio {
			return c
		}
	}
	return f
}

package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

//go:embed icon.svg
var iconSVG []byte

// Icon is the app icon as a 512×512 PNG.
var Icon fyne.Resource = fyne.NewStaticResource("icon.png", iconPNG)

// IconSVG is the app icon as SVG, for places that scale it.
var IconSVG fyne.Resource = fyne.NewStaticResource("icon.svg", iconSVG)

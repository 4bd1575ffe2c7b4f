// Package assets embeds Parley's icon, sounds and translations and exposes
// them as fyne.Resource values.
package assets

// Package ui holds Parley's Fyne screens, widgets and theme. It is the only
// package that touches widgets; goroutines update them through fyne.Do. The
// interfaces ui consumes (a recorder, a player, a messenger) are declared
// here, small, so its tests run on fakes without audio devices or a network.
package ui

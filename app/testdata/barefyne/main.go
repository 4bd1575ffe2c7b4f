// Command barefyne is the floor under the app's idle CPU: a Fyne window
// with one label, doing nothing, built with the app's tags. app's TestCPU
// measures it beside the app (PARLEY_CPU_STATES=bare).
package main

import (
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := fyneapp.NewWithID("net.parley.barefyne")
	w := a.NewWindow("Parley")
	w.SetContent(widget.NewLabel("a bare Fyne window"))
	w.ShowAndRun()
}

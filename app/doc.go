// Package app is the desktop application's composition root: it reads the
// configuration, chooses data paths, wires audio, sync, the optional
// in-process server and the ui together, and owns their lifecycle.
// Nothing imports app.
package app

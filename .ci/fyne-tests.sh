#!/bin/sh
# fyne-tests.sh runs Fyne's own tests of what third_party/fyne's patches
# change (the GLFW driver and its run loop, the animation runner) on the
# patched copy in build/fyne, on a private Xvfb display, which it stops by
# PID afterwards. make test runs it; it takes about a minute.
set -eu
cd "$(dirname "$0")/.."
./.ci/fyne-fork.sh

fifo=$(mktemp -u)
mkfifo "$fifo"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$fifo" &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; wait $xvfb 2>/dev/null; rm -f "$fifo"' EXIT
read -r display <"$fifo"

cd build/fyne
# Fyne's module as it stands, with its own go.sum, not Parley's workspace.
DISPLAY=":$display" LANG=C.UTF-8 GOWORK=off GOFLAGS= \
	go test -count=1 -timeout 10m ./internal/driver/glfw/ ./internal/animation/

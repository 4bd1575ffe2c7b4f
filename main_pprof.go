//go:build pprof

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling handlers on http.DefaultServeMux
	"os"
)

// With -tags pprof and PARLEY_PPROF=127.0.0.1:PORT the app serves
// net/http/pprof there, for app/cpu_test.go's profiles. It is a debug
// build only: the listener lives as long as the process.
func init() {
	addr := os.Getenv("PARLEY_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley: pprof:", err)
		return
	}
	go http.Serve(ln, nil)
}

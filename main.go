// Command parley is Parley's desktop app: push-to-talk voice messages on
// the local network. Flags (each with an environment variable) are listed
// by -help; app.Run does the rest.
package main

import (
	"flag"
	"fmt"
	"os"

	"parley/app"
)

func main() {
	cfg, err := app.ParseFlags(flag.CommandLine, os.Args[1:], os.Getenv)
	if err != nil {
		os.Exit(2)
	}
	if err := app.Run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

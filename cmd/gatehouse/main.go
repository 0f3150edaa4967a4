// Command gatehouse is the Gatehouse auth server and its tools.
package main

import (
	"os"

	"github.com/gatehouse/gatehouse/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }

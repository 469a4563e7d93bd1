// hello prints its version, its platform and its arguments: the smallest
// program that proves a cross-built artifact runs where it was meant to.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	fmt.Printf("hello %s (commit %s, built %s)\n", version, commit, date)
	fmt.Printf("platform %s/%s %s\n", runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Printf("args [%s]\n", strings.Join(os.Args[1:], " "))
}

//go:build !cgo

// Without cgo the same program is pure Go: the audit's "static" case.
package main

import "fmt"

func main() { fmt.Println("no cgo") }

//go:build cgo

// A tiny cgo program for the linkage-audit tests: it calls into the C library
// (getpid, printf) and looks up the current user through the C library.
package main

/*
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int cprog_pid(void) { return (int)getpid(); }
static void cprog_hello(const char *s) { printf("c says %s\n", s); fflush(stdout); }
*/
import "C"

import (
	"fmt"
	"os/user"
	"unsafe"
)

func main() {
	cs := C.CString("hi")
	defer C.free(unsafe.Pointer(cs))
	C.cprog_hello(cs)
	fmt.Println("pid>0:", C.cprog_pid() > 0)
	// With cgo, os/user asks the C library (getpwuid_r): glibc answers through NSS.
	if u, err := user.Current(); err == nil {
		fmt.Println("user:", u.Username)
	}
}

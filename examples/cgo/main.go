// cgo calls into the C library it was linked with (qsort, snprintf and, off
// Windows, getaddrinfo) and reports which libc it is running on, so a
// cross-built artifact proves its libc intent by its output.
package main

/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <sys/types.h>
#  include <sys/socket.h>
#  include <netdb.h>
#  include <arpa/inet.h>
#endif
#if defined(__GLIBC__)
#  include <gnu/libc-version.h>
#endif

static int cmp_int(const void *a, const void *b) {
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

// sort_ints sorts with the C library's qsort.
static void sort_ints(int *v, int n) { qsort(v, n, sizeof(int), cmp_int); }

// libc_name writes the libc this binary runs on: the glibc version comes from
// the running library (gnu_get_libc_version), not from the headers.
static void libc_name(char *out, size_t n) {
#if defined(__GLIBC__)
	snprintf(out, n, "glibc %s", gnu_get_libc_version());
#elif defined(_WIN32)
#  if defined(_UCRT)
	snprintf(out, n, "ucrt");
#  else
	snprintf(out, n, "msvcrt");
#  endif
#elif defined(__linux__)
	snprintf(out, n, "musl");
#else
	snprintf(out, n, "unknown");
#endif
}

// resolve turns a numeric host into its canonical text through getaddrinfo.
static int resolve(const char *host, char *out, size_t n) {
#if defined(_WIN32)
	snprintf(out, n, "%s", host);
	return 0;
#else
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_flags = AI_NUMERICHOST;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) return rc;
	struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
	inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)n);
	freeaddrinfo(res);
	return 0;
#endif
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

var version = "dev"

func main() {
	nums := []C.int{42, 7, 19, 3, 11}
	C.sort_ints((*C.int)(unsafe.Pointer(&nums[0])), C.int(len(nums)))

	var name [64]C.char
	C.libc_name(&name[0], C.size_t(len(name)))

	var addr [64]C.char
	host := C.CString("127.0.0.1")
	defer C.free(unsafe.Pointer(host))
	if rc := C.resolve(host, &addr[0], C.size_t(len(addr))); rc != 0 {
		fmt.Fprintf(os.Stderr, "getaddrinfo failed: %d\n", int(rc))
		os.Exit(1)
	}

	fmt.Printf("cgo %s on %s/%s\n", version, runtime.GOOS, runtime.GOARCH)
	fmt.Printf("qsort %v\n", nums)
	fmt.Printf("getaddrinfo %s\n", C.GoString(&addr[0]))
	fmt.Printf("libc %s\n", C.GoString(&name[0]))
}

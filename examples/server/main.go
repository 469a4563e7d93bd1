// server is a small HTTP service for gobuildx's server smoke mode: it listens on -addr
// (or $ADDR) and answers GET /healthz with "ok <goos>/<goarch>".
//
// Its other flags exist to prove that `gobuildx smoke` catches broken programs:
// -crash dereferences nil, -exit N exits with N, -hang starts a child and blocks forever.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"time"
)

var version = "dev"

func main() {
	addr := flag.String("addr", envOr("ADDR", "127.0.0.1:8080"), "listen address")
	crash := flag.Bool("crash", false, "crash with a nil pointer dereference")
	exit := flag.Int("exit", -1, "print a line and exit with this code instead of serving")
	hang := flag.Bool("hang", false, "start a child process, then block forever")
	sleep := flag.Bool("sleep", false, "block forever (the child of -hang)")
	flag.String("marker", "", "ignored; lets a test find its processes")
	flag.Parse()

	switch {
	case *crash:
		var p *struct{ n int }
		fmt.Println(p.n)
	case *exit >= 0:
		fmt.Printf("server %s exiting with %d\n", version, *exit)
		os.Exit(*exit)
	case *sleep: // before -hang: the child gets -hang too, and must not start a child of its own
		for {
			time.Sleep(time.Hour)
		}
	case *hang:
		child := exec.Command(os.Args[0], append([]string{"-sleep"}, os.Args[1:]...)...)
		if err := child.Start(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("hanging with child %d\n", child.Process.Pid)
		child.Wait() // blocks as long as the child sleeps: forever
		select {}
	}

	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s/%s %s\n", runtime.GOOS, runtime.GOARCH, version)
	})
	log.Printf("server %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// probe misbehaves on purpose, one way per mode, to prove that a smoke run is contained:
//
//	probe net            exit 0 only if it sees a network beyond loopback (an interface or a
//	                     route); it only looks, it never sends a packet
//	probe write PATH...  exit 0 only if it could create every PATH
//	probe read PATH...   exit 0 only if it could read every PATH
//	probe fork MARK      start `probe sleep MARK` children without bound (itself: a scratch
//	                     image has no shell)
//	probe sleep SECONDS  sleep
//	probe hog            allocate and touch memory without bound
//	probe big PATH       write PATH up to 64 MiB
//	probe serve ADDR     answer HTTP on ADDR
//	probe whoami         print its uid and effective capabilities
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: probe net|write|fork|hog|serve ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "net":
		os.Exit(lookForNetwork())
	case "write":
		os.Exit(write(os.Args[2:]))
	case "read":
		os.Exit(read(os.Args[2:]))
	case "fork":
		forkForever(os.Args[2])
	case "sleep":
		seconds, _ := strconv.ParseFloat(os.Args[2], 64)
		time.Sleep(time.Duration(seconds * float64(time.Second)))
		os.Exit(0)
	case "hog":
		hog()
	case "whoami":
		status, _ := os.ReadFile("/proc/self/status")
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "CapEff:") {
				fmt.Println(line)
			}
		}
		fmt.Printf("uid %d gid %d\n", os.Getuid(), os.Getgid())
		os.Exit(0)
	case "big":
		os.Exit(big(os.Args[2]))
	case "serve":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "probe %s\n", runtime.GOOS) })
		fmt.Println("serving on", os.Args[2])
		fmt.Println(http.ListenAndServe(os.Args[2], nil))
		os.Exit(1)
	}
	os.Exit(2)
}

// lookForNetwork lists interfaces and routes, as a program that wants the network would.
func lookForNetwork() int {
	found := 0
	ifaces, err := net.Interfaces()
	if err != nil {
		fmt.Println("interfaces:", err)
	}
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		fmt.Printf("interface %s flags=%v addrs=%v\n", ifc.Name, ifc.Flags, addrs)
		if ifc.Flags&net.FlagLoopback == 0 && ifc.Flags&net.FlagUp != 0 {
			found++
		}
	}
	for _, table := range []string{"/proc/net/route", `Z:\proc\net\route`} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 1 && fields[0] != "Iface" && fields[0] != "lo" {
				fmt.Println("route:", sc.Text())
				found++
			}
		}
		f.Close()
	}
	if found == 0 {
		fmt.Println("no network beyond loopback")
		return 7
	}
	fmt.Printf("network beyond loopback: %d interfaces and routes\n", found)
	return 0
}

func write(paths []string) int {
	failed := 0
	for _, p := range paths {
		if err := os.WriteFile(p, []byte("written by probe\n"), 0o644); err != nil {
			fmt.Println("cannot write:", err)
			failed++
		} else {
			fmt.Println("wrote", p)
		}
	}
	if failed > 0 {
		return 5
	}
	return 0
}

func read(paths []string) int {
	failed := 0
	for _, p := range paths {
		if data, err := os.ReadFile(p); err != nil {
			fmt.Println("cannot read:", err)
			failed++
		} else {
			fmt.Printf("read %s: %d bytes\n", p, len(data))
		}
	}
	if failed > 0 {
		return 6
	}
	return 0
}

func forkForever(mark string) {
	var kids []*exec.Cmd
	for i := 0; ; i++ {
		self, _ := os.Executable()
		cmd := exec.Command(self, "sleep", mark)
		if err := cmd.Start(); err != nil {
			fmt.Printf("fork %d failed: %v\n", i, err)
			time.Sleep(200 * time.Millisecond)
			os.Exit(4)
		}
		kids = append(kids, cmd)
	}
}

func big(path string) int {
	f, err := os.Create(path)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		if _, err := f.Write(chunk); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	fmt.Println("wrote 64 MiB")
	return 0
}

func hog() {
	var chunks [][]byte
	for i := 1; ; i++ {
		chunk := make([]byte, 16<<20)
		for j := range chunk {
			chunk[j] = byte(j)
		}
		chunks = append(chunks, chunk)
		if i%8 == 0 {
			fmt.Printf("holding %d MiB\n", 16*i)
		}
	}
}

// An OCI registry with the OCI 1.1 referrers API, for the tests of gobuildx's referrers:
// go-containerregistry's registry package (the registry crane and ko test against) with its
// referrers endpoint switched on, which its own cmd/registry leaves off. Debian's
// docker-registry (distribution 2.8) and distribution v3.1.2 have no referrers API.
// Built by ci/setup.sh into gobuildx's tool cache; listens on 127.0.0.1 only.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free one, printed)")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	s := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: registry.New(registry.WithReferrersSupport(true))}
	log.Fatal(s.Serve(listener))
}

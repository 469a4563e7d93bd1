// caddy is Caddy v2 built the way xcaddy builds it: a main package that imports
// github.com/caddyserver/caddy/v2/cmd and the standard modules, all fetched from the
// Go module proxy (go.mod pins the version; no Caddy source lives in this repository).
package main

import (
	_ "time/tzdata"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// version is stamped at build time: -X main.version=...
var version = "dev"

// flavour is the line bench/vs_goreleaser.py edits for its warm-rebuild measurement.
const flavour = "bench"

func main() {
	caddy.CustomVersion = "v" + version + "+" + flavour
	caddycmd.Main()
}

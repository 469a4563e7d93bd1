// sqlite creates an in-memory table with github.com/mattn/go-sqlite3 (cgo,
// the SQLite C amalgamation), inserts rows and prints their count: the
// classic program that fails to cross-compile without a C toolchain per target.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"runtime"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlite:", err)
		os.Exit(1)
	}
}

func run() error {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE fruit (name TEXT NOT NULL)`); err != nil {
		return err
	}
	for _, name := range []string{"apple", "banana", "cherry"} {
		if _, err := db.Exec(`INSERT INTO fruit (name) VALUES (?)`, name); err != nil {
			return err
		}
	}
	var count int
	if err := db.QueryRow(`SELECT count(*) FROM fruit`).Scan(&count); err != nil {
		return err
	}
	var version string
	if err := db.QueryRow(`SELECT sqlite_version()`).Scan(&version); err != nil {
		return err
	}
	fmt.Printf("sqlite %s on %s/%s\n", version, runtime.GOOS, runtime.GOARCH)
	fmt.Printf("rows %d\n", count)
	return nil
}

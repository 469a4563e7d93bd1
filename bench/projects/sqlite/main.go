// sqlite is github.com/mattn/go-sqlite3's _example/simple, condensed: it creates an
// SQLite database file, inserts rows in a transaction, queries them back and prints
// them. go-sqlite3 (and the SQLite C amalgamation it compiles with cgo, the real cost)
// comes from the Go module proxy. The example itself builds from the proxy too
// (`go build github.com/mattn/go-sqlite3/_example/simple`), but the benchmark needs a
// main package it can edit one line of, so this wrapper repeats it.
package main

import (
	"database/sql"
	"fmt"
	"log"
	"os"
	"runtime"

	_ "github.com/mattn/go-sqlite3"
)

// version is stamped at build time: -X main.version=...
var version = "dev"

// greeting is the line bench/vs_goreleaser.py edits for its warm-rebuild measurement.
const greeting = "hello"

func main() {
	path := "./simple.db"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	os.Remove(path)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`create table foo (id integer not null primary key, name text)`); err != nil {
		log.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	stmt, err := tx.Prepare("insert into foo(id, name) values(?, ?)")
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := stmt.Exec(i, fmt.Sprintf("%s %03d", greeting, i)); err != nil {
			log.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	var count int
	var sqliteVersion string
	if err := db.QueryRow("select count(*), sqlite_version() from foo").Scan(&count, &sqliteVersion); err != nil {
		log.Fatal(err)
	}
	rows, err := db.Query("select id, name from foo where id < 3 order by id")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, name)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sqlitebench %s: %d rows in %s (sqlite %s on %s/%s)\n",
		version, count, path, sqliteVersion, runtime.GOOS, runtime.GOARCH)
}

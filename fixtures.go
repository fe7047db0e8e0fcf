// Package pgfast holds the files the binary carries with it: the demo schema
// and the demo config that `pgfast serve` uses when no database is
// configured. The code lives in the packages below (see README.md).
package pgfast

import _ "embed"

// DemoSchema is testdata/schema.sql: the demo customer table.
//
//go:embed testdata/schema.sql
var DemoSchema []byte

// DemoConfig is testdata/demo.yaml: the routes served on the embedded
// default database.
//
//go:embed testdata/demo.yaml
var DemoConfig []byte

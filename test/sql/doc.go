// Package sql proves with a real SQL engine that what envoy_s3 writes can be
// queried: DuckDB (github.com/duckdb/duckdb-go/v2, a cgo build of DuckDB)
// reads the objects the real .so writes through the C host into MinIO, in both
// formats, and runs the README's Athena example queries over both.
//
// It is its own Go module so that DuckDB is never a dependency of the plugin:
// nothing here can be linked into envoy_s3.so. `make test` runs it.
package sql

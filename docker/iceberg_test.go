package docker_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
)

// TestIcebergTableMatchesSchema checks docker/iceberg.sql: the Iceberg table has the
// Parquet access table's columns and types (athena.sql's, which the schema test
// checks against the plugin) followed by the partitions as columns, and each MERGE
// selects, compares and inserts exactly those columns, in that order, from the
// _fleet table of its format.
func TestIcebergTableMatchesSchema(t *testing.T) {
	root := repoRoot(t)
	sql := readFile(t, filepath.Join(root, "docker", "iceberg.sql"))
	ddl := readFile(t, filepath.Join(root, "docker", "athena.sql"))
	const create = "CREATE TABLE IF NOT EXISTS envoy_access_logs_iceberg ("
	stmt := icebergStatement(t, sql, create, "")
	cols := ddlBlock(t, stmt, create)
	want := ddlBlock(t, statement(t, ddl, "envoy_access_logs_parquet"), createTable+"envoy_access_logs_parquet (")
	want = append(want, ddlBlock(t, statement(t, ddl, "envoy_access_logs_parquet"), "PARTITIONED BY (")...)
	if !slices.Equal(cols, want) {
		t.Fatalf("iceberg table columns\n %v\nwant the Parquet table's and its partitions\n %v", cols, want)
	}
	if n := len(parquetenc.Access.Columns()); n+4 != len(cols) {
		t.Errorf("iceberg table has %d columns; the schema %d and 4 partitions", len(cols), n)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.name)
	}
	for _, s := range []string{"PARTITIONED BY (`dt`, `cluster`, `family`)", "'table_type'='ICEBERG'", "LOCATION 's3://<BUCKET>/envoy-access-logs-iceberg/'"} {
		if !strings.Contains(stmt, s) {
			t.Errorf("the Iceberg table lacks %s", s)
		}
	}
	quoted := func(n string) string {
		if n == "timestamp" || n == "hour" {
			return `"` + n + `"`
		}
		return n
	}
	for _, source := range []string{"envoy_access_logs_fleet", "envoy_access_logs_parquet_fleet"} {
		m := icebergStatement(t, sql, "MERGE INTO envoy_access_logs_iceberg t", "FROM "+source+"\n")
		sel := m[strings.Index(m, "SELECT DISTINCT")+len("SELECT DISTINCT") : strings.Index(m, "\n  FROM ")]
		var got []string
		for _, e := range strings.Split(sel, ",\n") {
			e = strings.TrimSpace(e)
			if i := strings.LastIndex(e, " AS "); i >= 0 {
				e = e[i+len(" AS "):] // the alias of a conversion
			}
			got = append(got, strings.Trim(e, `"`))
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s: SELECT gives\n %q\nwant the Iceberg columns\n %q", source, got, names)
		}
		for _, n := range names {
			if !strings.Contains(m, "AND t."+quoted(n)+" IS NOT DISTINCT FROM s."+quoted(n)+"\n") {
				t.Errorf("%s: ON does not compare %s", source, n)
			}
		}
		var ins, vals []string
		for _, n := range names {
			ins = append(ins, quoted(n))
			vals = append(vals, "s."+quoted(n))
		}
		if !strings.Contains(m, "WHEN NOT MATCHED THEN INSERT ("+strings.Join(ins, ", ")+")\n  VALUES ("+strings.Join(vals, ", ")+");") {
			t.Errorf("%s: the INSERT does not name every column in order", source)
		}
		if regexp.MustCompile(`(?i)WHEN MATCHED`).MatchString(m) {
			t.Errorf("%s: a MERGE that changes rows already merged is not idempotent", source)
		}
	}
}

package docker_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
)

// column is one "`name` type" line of the DDL.
type column struct{ name, typ string }

var reColumn = regexp.MustCompile("^`([a-z0-9_]+)` ([a-z]+),?$")

// ddlBlock returns the column lines between "<start> (" and the closing ")".
func ddlBlock(t *testing.T, ddl, start string) []column {
	t.Helper()
	i := strings.Index(ddl, start)
	if i < 0 {
		t.Fatalf("athena.sql: no %q", start)
	}
	var cols []column
	for _, line := range strings.Split(ddl[i+len(start):], "\n")[1:] {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, ")") {
			return cols
		}
		m := reColumn.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("athena.sql: %q in %s is not a column", line, start)
		}
		cols = append(cols, column{m[1], m[2]})
	}
	t.Fatalf("athena.sql: %s is not closed", start)
	return nil
}

// TestAthenaColumnsMatchSchema fails when the normalised schema and the table drift apart.
func TestAthenaColumnsMatchSchema(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	cols := ddlBlock(t, ddl, "CREATE EXTERNAL TABLE IF NOT EXISTS envoy_access_logs (")
	var names []string
	for _, c := range cols {
		names = append(names, c.name)
	}
	want := accesslog.FieldNames()
	if !slices.Equal(names, want) {
		t.Fatalf("athena.sql columns\n %q\nwant the schema's fields in order\n %q", names, want)
	}
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		wantType := "string"
		if id.IsInt() {
			wantType = "bigint"
		}
		if cols[id].typ != wantType {
			t.Errorf("column %s is %s; want %s", cols[id].name, cols[id].typ, wantType)
		}
	}
	// A column named like a partition would shadow it.
	parts := ddlBlock(t, ddl, "PARTITIONED BY (")
	for _, p := range parts {
		if slices.Contains(names, p.name) {
			t.Errorf("partition %s is also a column", p.name)
		}
	}
}

// TestAthenaParquetTableMatchesSchema checks the Parquet table against the columns
// internal/parquetenc writes, with the types Athena maps them to, and its layout
// against the NDJSON table's.
func TestAthenaParquetTableMatchesSchema(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	const start = "CREATE EXTERNAL TABLE IF NOT EXISTS envoy_access_logs_parquet ("
	cols := ddlBlock(t, ddl, start)
	var names []string
	for _, c := range cols {
		names = append(names, c.name)
	}
	want := parquetenc.Access.Columns()
	if !slices.Equal(names, want) {
		t.Fatalf("athena.sql Parquet columns\n %q\nwant the file's columns in order\n %q", names, want)
	}
	for i, c := range cols {
		wantType := "string"
		switch id := accesslog.FieldID(i); {
		case i == 0:
			wantType = "timestamp"
		case id < accesslog.NumFields && id.IsInt():
			wantType = "bigint"
		}
		if c.typ != wantType {
			t.Errorf("column %s is %s; want %s", c.name, c.typ, wantType)
		}
	}
	table := ddl[strings.Index(ddl, start):]
	table = table[:strings.Index(table, ");")]
	if !strings.Contains(table, "STORED AS PARQUET") {
		t.Error("the Parquet table is not STORED AS PARQUET")
	}
	// The same partitions and projection as the NDJSON table.
	ndjson := ddl[:strings.Index(ddl, start)]
	section := func(ddl, from, to string) string {
		i := strings.Index(ddl, from)
		if i < 0 {
			return ""
		}
		if j := strings.Index(ddl[i:], to); j >= 0 {
			return ddl[i : i+j]
		}
		return ddl[i:]
	}
	for _, p := range [][2]string{{"PARTITIONED BY (", ")\n"}, {"LOCATION ", ");"}} {
		if a, b := section(ndjson, p[0], p[1]), section(table, p[0], p[1]); a == "" || a != b {
			t.Errorf("the Parquet table's %s differs from the NDJSON table's:\n%s\n%s", p[0], b, a)
		}
	}
}

// TestAthenaLayoutMatchesKeyFormat checks the projection template against the default
// s3_key_format, so Athena finds the objects envoy_s3 writes.
func TestAthenaLayoutMatchesKeyFormat(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	dir := config.DefaultS3KeyFormat[:strings.LastIndex(config.DefaultS3KeyFormat, "/")+1]
	want := "s3://BUCKET/" + strings.NewReplacer(
		"$CLUSTER", "${cluster}", "$FAMILY", "${family}", "%Y-%m-%d", "${dt}", "%H", "${hour}",
	).Replace(dir)
	if strings.ContainsAny(strings.NewReplacer("${", "").Replace(want), "$%") {
		t.Fatalf("default key format %q has a directory variable the table does not project", config.DefaultS3KeyFormat)
	}
	if !strings.Contains(ddl, "'storage.location.template'='"+want+"'") {
		t.Errorf("athena.sql: want 'storage.location.template'='%s'", want)
	}
	loc := "s3://BUCKET/" + keyPrefix(config.DefaultS3KeyFormat) + "/"
	if !strings.Contains(ddl, "LOCATION '"+loc+"'") {
		t.Errorf("athena.sql: want LOCATION '%s'", loc)
	}
	parts := ddlBlock(t, ddl, "PARTITIONED BY (")
	var names []string
	for _, p := range parts {
		names = append(names, p.name)
		if !strings.Contains(want, "${"+p.name+"}") {
			t.Errorf("partition %s is not in the location template", p.name)
		}
		if !strings.Contains(ddl, "'projection."+p.name+".type'=") {
			t.Errorf("partition %s has no projection type", p.name)
		}
	}
	if !slices.Equal(names, []string{"cluster", "family", "dt", "hour"}) {
		t.Errorf("partitions %q; want cluster, family, dt, hour", names)
	}
	for _, q := range []string{"approx_percentile(duration_ms", "response_code >= 500", "ORDER BY bytes_total DESC"} {
		if !strings.Contains(ddl, q) {
			t.Errorf("athena.sql: example query with %q is missing", q)
		}
	}
}

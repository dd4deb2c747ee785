package docker_test

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// column is one "`name` type" line of the DDL.
type column struct{ name, typ string }

var reColumn = regexp.MustCompile("^`([a-z0-9_]+)` ([a-z]+),?$")

const createTable = "CREATE EXTERNAL TABLE IF NOT EXISTS "

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

// statement returns table's CREATE statement, from its first line to the first
// line ending in ';': what README's sed command hands to Athena.
func statement(t *testing.T, ddl, table string) string {
	t.Helper()
	start := createTable + table + " ("
	i := strings.Index(ddl, start)
	if i < 0 {
		t.Fatalf("athena.sql: no %q", start)
	}
	s := ddl[i:]
	for j := 0; j < len(s); {
		n := strings.IndexByte(s[j:], '\n')
		if n < 0 {
			n = len(s) - j
		}
		if strings.HasSuffix(strings.TrimSpace(s[j:j+n]), ";") {
			return s[:j+n]
		}
		j += n + 1
	}
	t.Fatalf("athena.sql: %s has no line ending in ';'", table)
	return ""
}

// athenaTable is what one table of athena.sql must be.
type athenaTable struct {
	name      string
	cols      []string
	typ       func(i int, name string) string // Athena type of column i
	parquet   bool
	keyFormat string // the default key template whose objects it reads
}

// parquetTypes returns the Athena type of each column of a file parquetenc
// writes in schema s, read from the file itself: timestamp for TIMESTAMP, int for
// INT32, bigint for INT64, string for UTF-8 byte arrays.
func parquetTypes(t *testing.T, s parquetenc.Schema, line string) map[string]string {
	t.Helper()
	var buf bytes.Buffer
	lines := func(yield func([]byte) error) error { return yield([]byte(line + "\n")) }
	if _, err := parquetenc.NewEncoder(s, parquetenc.Options{Codec: compress.Zstd}).Encode(&buf, lines); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, field := range f.Schema().Fields() {
		typ := field.Type()
		var ts bool
		if lt := typ.LogicalType(); lt != nil {
			_, ts = lt.Value.(*format.TimestampType)
		}
		switch {
		case ts && typ.Kind() == parquet.Int64:
			out[field.Name()] = "timestamp"
		case typ.Kind() == parquet.ByteArray:
			out[field.Name()] = "string"
		case typ.Kind() == parquet.Int32:
			out[field.Name()] = "int"
		case typ.Kind() == parquet.Int64:
			out[field.Name()] = "bigint"
		default:
			t.Fatalf("column %s: no Athena type for %v", field.Name(), typ)
		}
	}
	return out
}

func athenaTables(t *testing.T) []athenaTable {
	accessNDJSON := func(i int, _ string) string {
		if accesslog.FieldID(i).IsInt() {
			return "bigint"
		}
		return "string"
	}
	pqAccess := parquetTypes(t, parquetenc.Access, `{"timestamp":"2025-11-11T07:40:46.216Z","path":"/"}`)
	pqOther := parquetTypes(t, parquetenc.Other, `[1762238947518,{"log":"a"}]`)
	accessParquet := func(_ int, name string) string { return pqAccess[name] }
	otherParquet := func(_ int, name string) string { return pqOther[name] }
	otherNDJSON := func(_ int, name string) string { return "string" }
	// An NDJSON other record is the FireLens record itself: no time of its own and
	// no record column, just its keys.
	var otherNDJSONCols []string
	for _, c := range parquetenc.Other.Columns() {
		if c != "timestamp" && c != "record" {
			otherNDJSONCols = append(otherNDJSONCols, c)
		}
	}
	return []athenaTable{
		{"envoy_access_logs", accesslog.FieldNames(), accessNDJSON, false, config.DefaultS3KeyFormat},
		{"envoy_access_logs_parquet", parquetenc.Access.Columns(), accessParquet, true, config.DefaultS3KeyFormat},
		{"envoy_other_logs", otherNDJSONCols, otherNDJSON, false, config.DefaultOtherKeyFormat},
		{"envoy_other_logs_parquet", parquetenc.Other.Columns(), otherParquet, true, config.DefaultOtherKeyFormat},
	}
}

// TestAthenaColumnsMatchSchema fails when a table and the schema its objects are
// written in (the normalised schema, parquetenc's Access and Other) drift apart.
// The Parquet tables' types are those of a file the encoder writes: Athena
// refuses a column whose declared type the file's does not map to.
func TestAthenaColumnsMatchSchema(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	var names []string
	for _, tb := range athenaTables(t) {
		names = append(names, tb.name)
		t.Run(tb.name, func(t *testing.T) {
			stmt := statement(t, ddl, tb.name)
			cols := ddlBlock(t, stmt, createTable+tb.name+" (")
			var got []string
			for _, c := range cols {
				got = append(got, c.name)
			}
			if !slices.Equal(got, tb.cols) {
				t.Fatalf("columns\n %q\nwant the schema's, in order\n %q", got, tb.cols)
			}
			for i, c := range cols {
				if want := tb.typ(i, c.name); c.typ != want {
					t.Errorf("column %s is %s; want %s", c.name, c.typ, want)
				}
			}
			serde := "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
			parquet := "STORED AS PARQUET\n"
			if tb.parquet != strings.Contains(stmt, parquet) || tb.parquet == strings.Contains(stmt, serde) {
				t.Errorf("want exactly one of %q and %q, the one for parquet=%v", serde, parquet, tb.parquet)
			}
			// A column named like a partition would shadow it.
			for _, p := range ddlBlock(t, stmt, "PARTITIONED BY (") {
				if slices.Contains(got, p.name) {
					t.Errorf("partition %s is also a column", p.name)
				}
			}
		})
	}
	if n := strings.Count(ddl, createTable); n != len(names) {
		t.Errorf("athena.sql has %d tables; this test knows %q", n, names)
	}
}

// TestAthenaLayoutMatchesKeyFormat checks each table's location and projection
// template against the default key format of the objects it reads, so Athena finds
// what envoy_s3 writes, and that every table partitions and projects alike.
func TestAthenaLayoutMatchesKeyFormat(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	// layout is a statement's PARTITIONED BY to its end, with its own location put
	// back to a placeholder, to compare tables.
	var first string
	for _, tb := range athenaTables(t) {
		t.Run(tb.name, func(t *testing.T) {
			stmt := statement(t, ddl, tb.name)
			dir := tb.keyFormat[:strings.LastIndex(tb.keyFormat, "/")+1]
			want := "s3://<BUCKET>/" + strings.NewReplacer(
				"$CLUSTER", "${cluster}", "$FAMILY", "${family}", "%Y-%m-%d", "${dt}", "%H", "${hour}",
			).Replace(dir)
			if strings.ContainsAny(strings.NewReplacer("${", "").Replace(want), "$%") {
				t.Fatalf("default key format %q has a directory variable the table does not project", tb.keyFormat)
			}
			if !strings.Contains(stmt, "'storage.location.template'='"+want+"'") {
				t.Errorf("want 'storage.location.template'='%s'", want)
			}
			loc := "s3://<BUCKET>/" + keyPrefix(tb.keyFormat) + "/"
			if !strings.Contains(stmt, "LOCATION '"+loc+"'") {
				t.Errorf("want LOCATION '%s'", loc)
			}
			var names []string
			for _, p := range ddlBlock(t, stmt, "PARTITIONED BY (") {
				names = append(names, p.name)
				if !strings.Contains(want, "${"+p.name+"}") {
					t.Errorf("partition %s is not in the location template", p.name)
				}
				if !strings.Contains(stmt, "'projection."+p.name+".type'=") {
					t.Errorf("partition %s has no projection type", p.name)
				}
			}
			if !slices.Equal(names, []string{"cluster", "family", "dt", "hour"}) {
				t.Errorf("partitions %q; want cluster, family, dt, hour", names)
			}
			layout := stmt[strings.Index(stmt, "PARTITIONED BY ("):]
			layout = strings.ReplaceAll(layout, "s3://<BUCKET>/"+keyPrefix(tb.keyFormat)+"/", "s3://BUCKET/PREFIX/")
			for _, s := range []string{"STORED AS PARQUET\n", "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"} {
				layout = strings.Replace(layout, s, "", 1)
			}
			if first == "" {
				first = layout
			} else if layout != first {
				t.Errorf("partitions or projection differ from envoy_access_logs':\n%s\nwant\n%s", layout, first)
			}
		})
	}
	for _, q := range []string{"approx_percentile(duration_ms", "response_code >= 500", "ORDER BY bytes_total DESC", "FROM envoy_other_logs\n"} {
		if !strings.Contains(ddl, q) {
			t.Errorf("athena.sql: example query with %q is missing", q)
		}
	}
}

// TestDeadLettersOutsideAthenaTables checks that the default dead_letter_prefix lies
// under no LOCATION of athena.sql, and that Init would refuse one that did: a table
// must never read dead letters, which are no records of its schema.
func TestDeadLettersOutsideAthenaTables(t *testing.T) {
	ddl := readFile(t, filepath.Join(repoRoot(t), "docker", "athena.sql"))
	locs := regexp.MustCompile(`LOCATION 's3://<BUCKET>/([^']*)'`).FindAllStringSubmatch(ddl, -1)
	if len(locs) == 0 {
		t.Fatal("athena.sql has no LOCATION")
	}
	for _, l := range locs {
		loc := l[1]
		if strings.HasPrefix(config.DefaultDeadLetterPrefix, loc) || strings.HasPrefix(loc, config.DefaultDeadLetterPrefix) {
			t.Errorf("the default dead_letter_prefix %q overlaps LOCATION %q", config.DefaultDeadLetterPrefix, loc)
		}
		g := map[string]string{"bucket": "b-1", "region": "us-east-1", "dead_letter_prefix": loc + "dead/"}
		if _, err := config.Parse(mapGetter(g), nil, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "dead_letter_prefix") {
			t.Errorf("dead_letter_prefix under LOCATION %q is not refused at Init (%v)", loc, err)
		}
	}
}

// TestReadmeNamesAthenaTables checks that README names every table of athena.sql,
// and that its command, run once per table, hands Athena one statement.
func TestReadmeNamesAthenaTables(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "README.md"))
	ddl := readFile(t, filepath.Join(root, "docker", "athena.sql"))
	for _, tb := range athenaTables(t) {
		if !strings.Contains(readme, "`"+tb.name+"`") {
			t.Errorf("README does not name the table `%s`", tb.name)
		}
		if n := strings.Count(statement(t, ddl, tb.name), "CREATE "); n != 1 {
			t.Errorf("%s: the statement README's sed extracts holds %d CREATEs", tb.name, n)
		}
	}
	const cmd = `sed -n "/^CREATE EXTERNAL TABLE IF NOT EXISTS $t (/,/;\$/p" docker/athena.sql`
	if !strings.Contains(readme, cmd) {
		t.Errorf("README: the Athena step does not extract one table at a time with\n%s", cmd)
	}
}

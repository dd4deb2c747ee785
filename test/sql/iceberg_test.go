package sql

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/test/gen"
)

// wantAccessOnly is the access records of lines.
func wantAccessOnly(t *testing.T, lines []gen.Labeled) []string {
	full, _ := wantAccess(t, lines)
	return full
}

// icebergSQL returns docker/iceberg.sql.
func icebergSQL(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker", "iceberg.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// icebergStatement returns the statement of iceberg.sql that starts a line with
// start and contains has, through its closing ';'.
func icebergStatement(t *testing.T, sql, start, has string) string {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?ms)^`+regexp.QuoteMeta(start)+`.*?;$`).FindAllString(sql, -1) {
		if strings.Contains(m, has) {
			return m
		}
	}
	t.Fatalf("iceberg.sql: no statement starting %q with %q", start, has)
	return ""
}

// icebergTable creates the Iceberg table of iceberg.sql as a DuckDB table: the
// same columns and types (Athena's string, int, bigint and timestamp).
func icebergTable(t *testing.T, db *sql.DB, ddl string) {
	t.Helper()
	types := map[string]string{"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "timestamp": "TIMESTAMP"}
	var cols []string
	for _, m := range regexp.MustCompile("(?m)^  `([a-z0-9_]+)` ([a-z]+),?$").FindAllStringSubmatch(ddl, -1) {
		typ, ok := types[m[2]]
		if !ok {
			t.Fatalf("iceberg.sql: column %s has type %s, which this test does not map", m[1], m[2])
		}
		cols = append(cols, fmt.Sprintf("%q %s", m[1], typ))
	}
	for _, q := range []string{
		`DROP TABLE IF EXISTS envoy_access_logs_iceberg`,
		`CREATE TABLE envoy_access_logs_iceberg (` + strings.Join(cols, ", ") + `)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}

// mergeInDuckDB turns iceberg.sql's MERGE into DuckDB's dialect over view, for the
// schedule firing at scheduled: Trino's date functions become DuckDB's; the
// statement is otherwise run as written.
func mergeInDuckDB(merge, source, view string, scheduled time.Time) string {
	return strings.NewReplacer(
		"FROM "+source+"\n", "FROM "+view+"\n",
		`from_iso8601_timestamp("timestamp")`, `CAST("timestamp" AS TIMESTAMPTZ)`,
		`from_iso8601_timestamp('SCHEDULED_TIME')`, `TIMESTAMPTZ '`+scheduled.Format(time.RFC3339)+`'`,
		"format_datetime(", "strftime(",
		"'yyyy-MM-dd')", "'%Y-%m-%d')",
	).Replace(merge)
}

// TestIcebergMergeExactlyOnce runs the hourly MERGE of docker/iceberg.sql in DuckDB
// over objects the real plugin wrote, in both formats, after a killed router's
// re-sent chunks left some objects twice, first before some objects of the hours
// have arrived (a late upload), then again with all of them, twice: every access
// record is in the table exactly once, in its hour, with the values the plugin
// wrote. What DuckDB cannot run is Athena's Iceberg DDL, OPTIMIZE and VACUUM:
// the table here is a DuckDB table with the same columns.
func TestIcebergMergeExactlyOnce(t *testing.T) {
	lines := gen.New(27).Mixed(4000)
	start := time.Date(2026, 11, 24, 20, 59, 57, 0, time.UTC) // two hours: 20 and 21
	dir := written(t, lines, start)
	// Another task's objects of the same hours, uploaded after the first run.
	lateLines := gen.New(28).Mixed(3500)
	lateDir := written(t, lateLines, start)

	// A chunk re-sent after a kill is a second object of the same records.
	resent := 0
	for _, f := range formats {
		objs, err := filepath.Glob(filepath.Join(dir, f.name, "envoy-access-logs", "*", "*", "*", "*", "*"+f.ext))
		if err != nil || len(objs) < 2 {
			t.Fatalf("%s: %d access objects (%v)", f.name, len(objs), err)
		}
		for i, o := range objs {
			if i%2 == 0 {
				b, err := os.ReadFile(o)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(strings.TrimSuffix(o, f.ext)+"-resent"+f.ext, b, 0o644); err != nil {
					t.Fatal(err)
				}
				resent++
			}
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`SET TimeZone = 'UTC'`); err != nil {
		t.Fatal(err)
	}
	views(t, db, dir)
	wantFull, wantSchema := wantAccess(t, append(slices.Clip(lines), lateLines...))
	var raw int64
	if err := db.QueryRow(`SELECT count(*) FROM access_parquet`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw <= int64(len(wantAccessOnly(t, lines))) {
		t.Fatalf("the raw table holds %d rows for %d records: no duplicates injected", raw, len(wantFull))
	}
	t.Logf("%d access records (%d in late objects); before they arrive, %d raw rows after %d re-sent objects", len(wantFull), len(wantFull)-len(wantAccessOnly(t, lines)), raw, resent)

	iceberg := icebergSQL(t)
	ddl := icebergStatement(t, iceberg, "CREATE TABLE IF NOT EXISTS envoy_access_logs_iceberg (", "")
	for _, c := range []struct{ format, source, view string }{
		{"json_lines", "envoy_access_logs_fleet", "access_json"},
		{"parquet", "envoy_access_logs_parquet_fleet", "access_parquet"},
	} {
		t.Run(c.format, func(t *testing.T) {
			icebergTable(t, db, ddl)
			merge := icebergStatement(t, iceberg, "MERGE INTO envoy_access_logs_iceberg t", "FROM "+c.source+"\n")
			mergeHours := func() {
				// Hours 20 and 21, each merged by the run 20 minutes after it closed.
				for _, hour := range []int{21, 22} {
					q := mergeInDuckDB(merge, c.source, c.view, time.Date(2026, 11, 24, hour, 20, 0, 0, time.UTC))
					if _, err := db.Exec(q); err != nil {
						t.Fatalf("%v\n%s", err, q)
					}
				}
			}
			distinct := func() int64 {
				var n int64
				if err := db.QueryRow(`SELECT count(*) FROM (SELECT DISTINCT * FROM ` + c.view + `)`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			early := distinct()
			mergeHours()
			arrived := 0
			err := filepath.WalkDir(filepath.Join(lateDir, c.format, "envoy-access-logs"), func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(lateDir, path)
				arrived++
				return os.Rename(path, filepath.Join(dir, rel))
			})
			if err != nil || arrived < 2 {
				t.Fatalf("%d late objects: %v", arrived, err)
			}
			if got := len(rows(t, db, `SELECT * FROM envoy_access_logs_iceberg`)); int64(got) != early || early >= int64(len(wantFull)) {
				t.Fatalf("before the late objects: %d rows, %d distinct records in the objects there, of %d", got, early, len(wantFull))
			}
			for run := 0; run < 2; run++ {
				mergeHours()
				got := rows(t, db, `SELECT * FROM envoy_access_logs_iceberg`)
				if len(got) != len(wantFull) {
					t.Fatalf("run %d after the late objects: the table holds %d rows; want %d records exactly once", run+1, len(got), len(wantFull))
				}
			}
			// Every row in the hour of the object it came from.
			misplaced := rows(t, db, `SELECT count(*) AS n FROM envoy_access_logs_iceberg i
				WHERE NOT EXISTS (SELECT 1 FROM `+c.view+` r WHERE r.dt = i.dt AND r."hour" = i."hour" AND r.request_id IS NOT DISTINCT FROM i.request_id)`)
			if n := misplaced[0]["n"].(int64); n != 0 {
				t.Errorf("%d rows are in an hour their object is not in", n)
			}
			want := wantSchema
			if c.format == "parquet" {
				want = wantFull // with extra, which only Parquet keeps
			}
			var got []string
			for _, r := range rows(t, db, `SELECT * FROM envoy_access_logs_iceberg`) {
				for _, p := range []string{"cluster", "family", "dt", "hour"} {
					delete(r, p)
				}
				if r["extra"] == nil {
					delete(r, "extra")
				}
				got = append(got, line(t, r))
			}
			sameCounts(t, "iceberg rows", count(want), count(got))
		})
	}
}

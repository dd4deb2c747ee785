package sql

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/envoy-s3/envoy_s3/internal/parquetread"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// format is one way the plugin is configured to write objects.
type format struct {
	name, compression, ext string
}

var formats = []format{
	{"json_lines", "zstd", ".ndjson.zst"},
	{"parquet", "zstd", ".parquet"},
}

// written runs the real .so through the host over the same chunks once per
// format, and downloads every object it wrote into dir/<key>.
func written(t *testing.T, lines []gen.Labeled, start time.Time) string {
	so, host := os.Getenv("ENVOY_S3_SO"), os.Getenv("ENVOY_S3_HOST")
	if so == "" || host == "" {
		t.Skip("ENVOY_S3_SO and ENVOY_S3_HOST name the plugin and the C host (make test sets them)")
	}
	m := miniotest.Start(t)
	const bucket = "sql"
	m.CreateBucket(bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 250, start)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, f := range formats {
		layout := "/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID"
		args := []string{"--instance",
			"bucket=" + bucket, "region=" + m.Region, "endpoint=" + m.Endpoint,
			"format=" + f.name, "compression=" + f.compression, "store_dir=" + t.TempDir(),
			"s3_key_format=" + f.name + "/envoy-access-logs" + layout,
			"other_key_format=" + f.name + "/envoy-other-logs" + layout,
			"redact_query_params=none", "redact_detectors=none", "redact_json_keys=none",
			"--tag", task.Tag()}
		for _, file := range files {
			args = append(args, "--flush", file)
		}
		r := hosttest.Run(t, host, so, args...)
		if r.InitRC(0) != hosttest.FLBOK || r.ExitRC(0) != hosttest.FLBOK {
			t.Fatalf("%s: init rc %d, exit rc %d\n%s", f.name, r.InitRC(0), r.ExitRC(0), r.Stderr)
		}
		for i, rc := range r.FlushRCs(0) {
			if rc != hosttest.FLBOK {
				t.Fatalf("%s: flush %d rc %d\n%s", f.name, i, rc, r.Stderr)
			}
		}
		objs := m.List(bucket, f.name+"/")
		if len(objs) < 4 { // access and other, two hours each
			t.Fatalf("%s: %d objects", f.name, len(objs))
		}
		for _, o := range objs {
			if !strings.HasSuffix(o.Key, f.ext) {
				t.Errorf("%s: key %s", f.name, o.Key)
			}
			path := filepath.Join(out, o.Key)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, m.Get(bucket, o.Key), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

const hiveTypes = `hive_partitioning=true, hive_types={'cluster': 'VARCHAR', 'family': 'VARCHAR', 'dt': 'VARCHAR', 'hour': 'INTEGER'}`

// views defines access_json, access_parquet, other_json and other_parquet over
// every object written, the NDJSON ones typed as docker/athena.sql types them.
func views(t *testing.T, db *sql.DB, dir string) {
	var cols []string
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		typ := "VARCHAR"
		if id.IsInt() {
			typ = "BIGINT"
		}
		cols = append(cols, fmt.Sprintf("'%s': '%s'", id.Name(), typ))
	}
	// An NDJSON other record has the Parquet columns but timestamp and record.
	var otherCols []string
	for _, c := range parquetenc.Other.Columns() {
		if c != "timestamp" && c != "record" {
			otherCols = append(otherCols, fmt.Sprintf("'%s': 'VARCHAR'", c))
		}
	}
	for _, q := range []string{
		`SET threads = 1`,
		fmt.Sprintf(`CREATE VIEW access_json AS SELECT * FROM read_json('%s/json_lines/envoy-access-logs/**/*.ndjson.zst', format='newline_delimited', compression='zstd', %s, columns={%s})`,
			dir, hiveTypes, strings.Join(cols, ", ")),
		fmt.Sprintf(`CREATE VIEW access_parquet AS SELECT * FROM read_parquet('%s/parquet/envoy-access-logs/**/*.parquet', %s)`, dir, hiveTypes),
		fmt.Sprintf(`CREATE VIEW other_json AS SELECT * FROM read_json('%s/json_lines/envoy-other-logs/**/*.ndjson.zst', format='newline_delimited', compression='zstd', %s, columns={%s})`, dir, hiveTypes, strings.Join(otherCols, ", ")),
		fmt.Sprintf(`CREATE VIEW other_parquet AS SELECT * FROM read_parquet('%s/parquet/envoy-other-logs/**/*.parquet', %s)`, dir, hiveTypes),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}

// rows runs q and returns each row's columns by name.
func rows(t *testing.T, db *sql.DB, q string) []map[string]any {
	t.Helper()
	rs, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	names, _ := rs.Columns()
	var out []map[string]any
	for rs.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for i, n := range names {
			m[n] = vals[i]
		}
		out = append(out, m)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// line renders a row read by DuckDB as the NDJSON line the plugin writes for it
// (an INT32 column reads as int32).
func line(t *testing.T, r map[string]any) string {
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		switch v := r[id.Name()].(type) {
		case int32:
			r[id.Name()] = int64(v)
		case nil, string, int64, time.Time:
		default:
			t.Fatalf("column %s: unexpected %T", id.Name(), v)
		}
	}
	return string(parquetread.AppendAccessLine(nil, r))
}

// schemaOnly drops the keys of a normalised line that the schema lacks.
func schemaOnly(t *testing.T, l string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(l), &m); err != nil {
		t.Fatal(err)
	}
	r := map[string]any{}
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		var v any
		d := json.NewDecoder(strings.NewReader(string(m[id.Name()])))
		d.UseNumber()
		if len(m[id.Name()]) > 0 {
			d.Decode(&v)
		}
		if n, ok := v.(json.Number); ok {
			v, _ = n.Int64()
		}
		r[id.Name()] = v
	}
	return line(t, r)
}

func count[T comparable](xs []T) map[T]int {
	m := map[T]int{}
	for _, x := range xs {
		m[x]++
	}
	return m
}

func sameCounts[T comparable](t *testing.T, what string, want, got map[T]int) {
	t.Helper()
	bad := 0
	for k, n := range want {
		if got[k] != n {
			if bad++; bad <= 3 {
				t.Errorf("%s: %v seen %d times, want %d", what, k, got[k], n)
			}
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s: unexpected %v (%d times)", what, k, n)
			}
		}
	}
}

func TestDuckDBReadsEveryObject(t *testing.T) {
	lines := gen.New(21).Mixed(6000)
	start := time.Date(2026, 11, 24, 20, 59, 57, 0, time.UTC) // crosses an hour boundary
	dir := written(t, lines, start)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	views(t, db, dir)

	task := chunkgen.DefaultTask()
	wantFull, wantSchema := wantAccess(t, lines)
	wantOther := map[[2]string]int{}
	for i, l := range lines {
		if !l.IsAccess {
			ms := start.Add(time.Duration(i) * time.Millisecond).UTC().Format(time.RFC3339Nano)
			wantOther[[2]string{ms, jsonText(l.Line)}]++
		}
	}

	t.Run("types", func(t *testing.T) {
		// Integer columns the file stores as INT32 read as INTEGER.
		int32s := map[string]bool{}
		for _, r := range rows(t, db, "SELECT DISTINCT name, type FROM parquet_schema('"+dir+"/parquet/*/**/*.parquet')") {
			if r["type"] == "INT32" {
				int32s[r["name"].(string)] = true
			}
		}
		for view, schema := range map[string]parquetenc.Schema{"access_parquet": parquetenc.Access, "other_parquet": parquetenc.Other} {
			desc := rows(t, db, "DESCRIBE "+view)
			if len(desc) != len(schema.Columns())+4 { // and the four partitions
				t.Errorf("%s has %d columns, want %d", view, len(desc), len(schema.Columns())+4)
			}
			for _, r := range desc {
				name, typ := r["column_name"].(string), r["column_type"].(string)
				want := "VARCHAR"
				switch id, ok := fieldID(name); {
				case name == "timestamp":
					want = "TIMESTAMP WITH TIME ZONE"
				case name == "hour":
					want = "INTEGER"
				case ok && id.IsInt() && int32s[name]:
					want = "INTEGER"
				case ok && id.IsInt():
					want = "BIGINT"
				}
				if typ != want {
					t.Errorf("%s.%s is %s, want %s", view, name, typ, want)
				}
			}
		}
	})
	t.Run("access", func(t *testing.T) {
		pq := rows(t, db, "SELECT * FROM access_parquet")
		js := rows(t, db, "SELECT * FROM access_json")
		if len(pq) != len(wantFull) || len(js) != len(wantFull) {
			t.Fatalf("rows: parquet %d, json_lines %d, want %d", len(pq), len(js), len(wantFull))
		}
		var gotFull, gotPQ, gotJS []string
		for i := range pq {
			gotFull = append(gotFull, line(t, pq[i]))
			delete(pq[i], "extra")
			gotPQ = append(gotPQ, line(t, pq[i]))
			gotJS = append(gotJS, line(t, js[i]))
		}
		sameCounts(t, "parquet (with extra)", count(wantFull), count(gotFull))
		sameCounts(t, "parquet", count(wantSchema), count(gotPQ))
		sameCounts(t, "json_lines", count(wantSchema), count(gotJS))
		// Within each file rows are in time order.
		sorted := rows(t, db, `SELECT count(*) AS n FROM (SELECT "timestamp" < lag("timestamp") OVER (PARTITION BY filename ORDER BY file_row_number) AS back
			FROM read_parquet('`+dir+`/parquet/envoy-access-logs/**/*.parquet', filename=true, file_row_number=true)) WHERE back`)
		if n := sorted[0]["n"].(int64); n != 0 {
			t.Errorf("%d Parquet rows earlier than the row before them", n)
		}
	})
	t.Run("statistics", func(t *testing.T) {
		// Engines skip row groups by their min/max: DuckDB reads back, for every
		// row group of every access file, bounds equal to the values in it.
		glob := dir + "/parquet/envoy-access-logs/**/*.parquet"
		for _, col := range []string{"timestamp", "response_code", "duration_ms", "bytes_received", "bytes_sent"} {
			typ := "BIGINT"
			if col == "timestamp" {
				typ = "TIMESTAMPTZ"
			}
			q := fmt.Sprintf(`WITH s AS (
					SELECT file_name, row_group_id AS g, CAST(stats_min_value AS %[2]s) AS lo, CAST(stats_max_value AS %[2]s) AS hi,
						stats_min_value IS NULL AND stats_null_count < row_group_num_rows AS missing
					FROM parquet_metadata('%[1]s') WHERE path_in_schema = '%[3]s'),
				groups AS (SELECT file_name, row_group_id AS g, min(row_group_num_rows) AS n FROM parquet_metadata('%[1]s') GROUP BY ALL),
				v AS (SELECT filename AS file_name, file_row_number AS r, "%[3]s" AS x FROM read_parquet('%[1]s', filename=true, file_row_number=true)),
				vg AS (SELECT v.file_name, g.g, min(x) AS lo, max(x) AS hi FROM v JOIN (
					SELECT file_name, g, sum(n) OVER (PARTITION BY file_name ORDER BY g) - n AS first, n FROM groups) g
					ON v.file_name = g.file_name AND v.r >= g.first AND v.r < g.first + g.n GROUP BY ALL)
				SELECT count(*) AS n, count(*) FILTER (WHERE s.missing OR s.lo IS DISTINCT FROM vg.lo OR s.hi IS DISTINCT FROM vg.hi) AS bad
				FROM s JOIN vg USING (file_name, g)`, glob, typ, col)
			r := rows(t, db, q)[0]
			if r["n"].(int64) == 0 || r["bad"].(int64) != 0 {
				t.Errorf("%s: %d of %d row groups have bounds other than their values", col, r["bad"], r["n"])
			}
		}
	})
	t.Run("other", func(t *testing.T) {
		got := map[[2]string]int{}
		for _, r := range rows(t, db, "SELECT * FROM other_parquet") {
			if r["ecs_task_arn"] != task.TaskARN() || r["ecs_cluster"] != task.Cluster || r["source"] != "stderr" {
				t.Fatalf("other row lost its metadata: %v", r)
			}
			got[[2]string{r["timestamp"].(time.Time).UTC().Format(time.RFC3339Nano), fmt.Sprint(r["log"])}]++
		}
		sameCounts(t, "other parquet (time, log)", wantOther, got)
		gotJS := map[string]int{}
		wantJS := map[string]int{}
		for k, n := range wantOther {
			wantJS[k[1]] += n
		}
		for _, r := range rows(t, db, "SELECT log FROM other_json") {
			gotJS[fmt.Sprint(r["log"])]++
		}
		sameCounts(t, "other json_lines (log)", wantJS, gotJS)
	})
	t.Run("athena queries", func(t *testing.T) {
		for i, q := range athenaQueries(t) {
			var got [2][]string
			views := []string{"access_json", "access_parquet"}
			if strings.Contains(q, "FROM envoy_other_logs") {
				views = []string{"other_json", "other_parquet"}
			}
			for j, view := range views {
				for _, r := range rows(t, db, translate(q, view)) {
					got[j] = append(got[j], fmt.Sprint(r))
				}
				slices.Sort(got[j])
			}
			if len(got[0]) == 0 {
				t.Errorf("query %d returned nothing:\n%s", i, translate(q, views[0]))
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("query %d differs between formats:\njson_lines %v\nparquet    %v", i, got[0], got[1])
			}
		}
	})
}

// wantAccess returns the access records of lines as the plugin writes them for the
// default task: whole (with the keys the schema lacks, Parquet's extra) and cut
// to the schema (what NDJSON tables read).
func wantAccess(t *testing.T, lines []gen.Labeled) (full, schema []string) {
	task := chunkgen.DefaultTask()
	for _, l := range lines {
		if l.IsAccess {
			x := *l.Want
			for k, v := range task.Meta(chunkgen.Source(l)) {
				x.Set(k, v)
			}
			f := string(x.AppendJSON(nil))
			full = append(full, f)
			schema = append(schema, schemaOnly(t, f))
		}
	}
	return full, schema
}

func fieldID(name string) (accesslog.FieldID, bool) {
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		if id.Name() == name {
			return id, true
		}
	}
	return 0, false
}

// jsonText is s as it reads back from JSON (invalid UTF-8 becomes U+FFFD).
func jsonText(s []byte) string {
	b, _ := json.Marshal(string(s))
	var out string
	json.Unmarshal(b, &out)
	return out
}

// athenaQueries returns the example queries of docker/athena.sql and README.md.
func athenaQueries(t *testing.T) []string {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ddl := read("docker/athena.sql")
	qs := regexp.MustCompile(`(?ms)^SELECT .*?;`).FindAllString(ddl, -1)
	readme := read("README.md")
	if m := regexp.MustCompile("(?ms)```sql\n(SELECT .*?;)\n```").FindStringSubmatch(readme); m != nil {
		qs = append(qs, m[1])
	}
	if len(qs) != 5 {
		t.Fatalf("found %d example queries, want 4 in docker/athena.sql and 1 in README.md", len(qs))
	}
	return qs
}

// translate turns an Athena example query into DuckDB over view: exact
// quantiles for approx_percentile (so both formats must agree exactly), the
// test's date and hour, a volume threshold scaled to the test's 6,000 records,
// no LIMIT, so ties at the cut cannot pick different rows, and DuckDB's name for
// regexp_like.
func translate(q, view string) string {
	ts := `CAST("timestamp" AS TIMESTAMPTZ)`
	if view == "access_parquet" {
		ts = `"timestamp"`
	}
	q = strings.NewReplacer(
		"FROM envoy_access_logs", "FROM "+view,
		"FROM envoy_other_logs", "FROM "+view,
		"regexp_like(", "regexp_matches(",
		"approx_percentile(", "quantile_disc(",
		`from_iso8601_timestamp("timestamp")`, ts,
		"'2026-01-21'", "'2026-11-18'",
		"'2026-01-27'", "'2026-11-24'",
		`"hour" = 7`, `"hour" = 20`,
		"count(*) >= 100", "count(*) >= 10",
	).Replace(q)
	return regexp.MustCompile(`\s*LIMIT \d+;`).ReplaceAllString(q, "")
}

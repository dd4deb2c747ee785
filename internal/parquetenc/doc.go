// Package parquetenc writes the Parquet objects of `format parquet`: one file per
// sealed batch, built in an upload worker from the NDJSON lines the flush path
// spooled (never in a flush).
//
// Why from the spooled lines: they are this plugin's own normalised JSON, so the
// spool, its recovery, the keys fixed at sealing and total_file_size (of the NDJSON
// input) stay exactly as for json_lines, and a batch spooled before a change of
// format is still encoded as its key says. Reading them back is a strict JSON
// scan with a fast path for the schema's own key order.
//
// # Access schema (Access)
//
// The columns of the README's "What lands in S3", in its order, then extra:
//
//	timestamp                      INT64 TIMESTAMP(MILLIS, UTC), required, DELTA_BINARY_PACKED
//	response_code,
//	downstream_remote_port         INT32 (INT(32, signed)), PLAIN / DELTA_BINARY_PACKED (port)
//	bytes_received, bytes_sent,
//	duration_ms                    INT64, PLAIN
//	upstream_service_time_ms,
//	connection_id                  INT64, DELTA_BINARY_PACKED
//	kind, method, path, protocol, grpc_status, response_flags, forwarded_for,
//	user_agent, authority, upstream_host, downstream_remote_address,
//	connection_termination_details, ecs_cluster, ecs_task_arn,
//	ecs_task_definition, container_name, source
//	                               STRING (UTF-8 BYTE_ARRAY), RLE_DICTIONARY when
//	                               values repeat, else PLAIN (below)
//	request_id, stream_id          STRING, DELTA_LENGTH_BYTE_ARRAY (random values)
//	extra                          STRING holding a JSON object, PLAIN
//
// Every column but timestamp is optional: null where the NDJSON has null.
//
// Integer widths follow the range: an HTTP status and a port fit INT32 (a value
// outside it goes to extra, like any value its column cannot hold); byte counts,
// durations and connection ids may not, so they are INT64. Encodings were chosen
// by measuring each column of test/gen's mix after zstd: PLAIN beat
// DELTA_BINARY_PACKED on byte counts and durations, which do not follow one
// another, while delta wins on counters and the sorted timestamp (about a byte a
// row). No column uses BYTE_STREAM_SPLIT: DuckDB refuses it on integers.
//
// A string column is dictionary encoded in a row group when each distinct value
// is used four times or more on average (or it has at most two values) and the
// dictionary stays under 1 MiB: task metadata, methods, statuses, user agents and
// a service's routes then cost a few bits a row. Columns of mostly unique values
// (paths with ids, upstream hosts of a large fleet, forwarded-for chains) are
// PLAIN, which compresses better than a dictionary of every value plus an index a
// row. request_id and stream_id are DELTA_LENGTH_BYTE_ARRAY: their lengths apart,
// the characters alone, which zstd entropy-codes (15.0 B a row for request_id,
// 16.1 PLAIN); strings with repeated parts (paths, hosts, log lines) compress
// better PLAIN, whose length prefixes zstd matches. request_id stays a string,
// not a 16-byte UUID: Athena's Hive tables would see binary, and ids that are not
// UUIDs (x-request-id is client-set) would need a second column.
//
// Keys of a customised JSON format that the schema lacks go to extra as one JSON
// object, members copied verbatim in their order (null when there are none). A
// schema key whose value has the wrong JSON type for its column (an integer key
// holding a string) goes to extra too, its column null: nothing is dropped.
//
// # Other records (Other)
//
//	timestamp                      INT64 TIMESTAMP(MILLIS, UTC), the event time
//	log                            STRING, the record's log line
//	source, container_name, ecs_cluster, ecs_task_arn,
//	ecs_task_definition            STRING, dictionary
//	record                         STRING, the whole record as JSON when it has
//	                               keys beyond these (or one of them is not a
//	                               string); null otherwise
//
// container_id and ec2_instance_id are dropped, as in the access schema. Other
// records are spooled as [unix_ms,{record}] (AppendOtherStart) because the record
// itself has no time; a batch's format is fixed when it opens.
//
// # Lines that are not what this plugin writes
//
// A line that does not parse (a damaged spool or a foreign file) becomes a row
// whose extra (record) is {"unparsed_line": "<the line>"}, with the timestamp of
// the row before it: counted in Stats.Unparsed, never dropped. Blank lines are
// skipped. Nothing panics on any input (FuzzEncode).
//
// # Order, row groups, pages
//
//   - Rows are sorted by timestamp (stably: arrival order within a millisecond)
//     within each row group, which records timestamp as its sorting column.
//     Engines skip row groups and pages by their timestamp min/max. Row groups
//     follow the batch's arrival order, so their time ranges overlap only by how
//     late records arrive; sorting a file of several groups as a whole within
//     the memory bound would mean reading the batch again for each group (at
//     an estimated +45% of the encoder's CPU), so it is not done.
//   - Statistics: every column chunk has its null count and min/max (integers
//     always; strings when both bounds are at most 1 KiB). Every page has an
//     entry in the page index (ColumnIndex and OffsetIndex, written after the
//     row groups): null count and min/max, strings truncated to 64 bytes (the
//     max rounded up so it stays a bound). Filters on timestamp, response_code,
//     duration_ms and the byte counts prune row groups and pages.
//   - Row groups hold at most Options.RowGroupBytes of rows in memory: 1.5 MiB
//     (DefaultRowGroupBytes), about 5,500 access records and 0.3 MB of file, so
//     the default 50 MB batch of NDJSON becomes one file of about eleven row
//     groups; the pipeline gives other records 1 MiB. The bound is memory, not
//     Athena: Athena reads a file of a few MB in one split whatever its groups.
//     Smaller groups cost size (their own dictionaries and shorter pages): on
//     test/gen's mix, with 256 KiB pages, 51.0 B a record with 4 MiB, 51.7 with
//     2 MiB, 52.2 with 1.5 MiB, 53.1 with 1 MiB (52.4 with 1.5 MiB and the
//     128 KiB pages below). 4 MiB kept Fluent Bit's peak RSS about 4 MiB higher
//     than 2 MiB (README "Memory"), and holding a whole batch to sort it took
//     15 MB.
//   - Data pages of at most 128 KiB before compression or 20,000 rows (the row
//     bound is parquet-mr's): a few pages per column chunk, so the page index can
//     skip inside a row group without page headers costing more than they save.
//     256 KiB pages were 0.4% smaller for access records and 10% for other
//     records (31.4 B a record against 35.0: their log lines repeat over more
//     distance), and held twice the page buffers (about 1.5 MiB more of Fluent
//     Bit's peak RSS, measured). Pages are
//     data page v1 with RLE definition levels; there are no repetition levels
//     (the schemas are flat).
//   - Compression per `compression`: zstd at its default level (the fastest level
//     made request_id pages 25% larger) by default, snappy, gzip or none. zstd
//     entropy-codes pages in which it finds no match (klauspost's default level
//     stores them raw): a DELTA_LENGTH_BYTE_ARRAY page of random ids has none.
//
// # Memory
//
// The rows of a row group are held column by column: integers as int64, strings
// that repeat interned once in an open-addressing table (a task ARN costs 4 bytes
// a row), other strings in one arena: about 270 bytes a row for test/gen's
// access records, against about 870 of NDJSON. The file is written straight to
// the io.Writer column chunk by column chunk, so beyond the rows only one page
// (at most 128 KiB before compression) is in memory at a time. An Encoder keeps
// its row memory from file to file, up to twice RowGroupBytes: regrowing it for
// every file was most of what an upload worker allocated, and that garbage, not
// the rows, set the peak. Encoders that never run at once may share one
// PageCompressor (Options.Pages), and with it the buffers pages are built,
// encoded and compressed in; the pipeline's two schemas do, since it builds
// one file at a time per instance.
//
// # Writer
//
// The file is written by this package (writer.go), not by parquet-go's generic
// writer: the two schemas are flat and fixed, so the writer needs no row
// reflection, no per-value boxing and no buffering of whole row groups, which
// made parquet-go 40% of the encoder's CPU and most of its memory. parquet-go
// supplies the Thrift structures (format), the RLE, delta and Thrift encoders,
// and, in tests, the reader every file is checked against.
package parquetenc

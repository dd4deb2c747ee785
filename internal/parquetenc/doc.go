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
// The columns of SPEC.md "What lands in S3", in its order, then extra:
//
//	timestamp                      INT64 TIMESTAMP(MILLIS, UTC), required, delta encoded
//	response_code                  INT64, dictionary (few distinct values)
//	bytes_received, duration_ms,
//	upstream_service_time_ms       INT64, plain
//	bytes_sent, downstream_remote_port,
//	connection_id                  INT64, delta encoded
//	kind, method, path, protocol, grpc_status, response_flags, forwarded_for,
//	user_agent, authority, upstream_host, downstream_remote_address,
//	connection_termination_details, ecs_cluster, ecs_task_arn,
//	ecs_task_definition, container_name, source
//	                               STRING (UTF-8 BYTE_ARRAY), dictionary
//	request_id, stream_id          STRING, plain (random values: a dictionary
//	                               would only add its page)
//	extra                          STRING holding a JSON object
//
// Every column but timestamp is optional: null where the NDJSON has null.
// Integers are INT64 throughout (byte counts and connection ids outgrow INT32,
// and one integer type keeps Athena's DDL simple; after encoding and compression
// the width costs nothing). A dictionary over mostly unique values (path,
// upstream_host with many endpoints) costs about what plain would: each value once
// in the dictionary page plus a small index per row. No column uses BYTE_STREAM_SPLIT: DuckDB refuses it on integers.
// request_id stays a string, not a 16-byte UUID: Athena's Hive tables would then
// see binary, and ids that are not UUIDs would need a second column.
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
//     within each row group. Engines then skip row groups and pages by their
//     timestamp min/max, and the delta-encoded timestamps compress to about one
//     byte a row.
//   - Min/max statistics are written for every column chunk and page (page index
//     included), so filters on timestamp, response_code, duration_ms and the byte
//     counts prune.
//   - One row group per file as long as the batch's parsed rows fit
//     Options.RowGroupBytes (64 MiB by default; the default total_file_size of 50 MB
//     of NDJSON parses to about 20 MB). Athena splits work by row group; files of a
//     few MB are best read as one group, with one dictionary per column. A batch
//     larger than that is written as several row groups, each sorted, so the
//     encoder's memory stays bounded whatever total_file_size says.
//   - Data pages of 256 KiB uncompressed (parquet-go's default): a few pages per
//     column per file, so the page index lets Athena skip inside a row group
//     without page headers costing more than they save.
//   - Compression per `compression`: zstd (default level) by default, snappy,
//     gzip or none.
//
// # Memory
//
// The rows of a row group are held column by column: integers as int64, strings
// that repeat interned once (a task ARN costs 4 bytes a row), other strings in one
// arena. That is about 200-250 bytes a row for Service Connect records, against
// about 600-900 of NDJSON. parquet-go then holds the compressed row group until it
// is written out. The pipeline builds one file at a time per instance.
package parquetenc

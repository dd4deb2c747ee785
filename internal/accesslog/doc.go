// Package accesslog decides whether one raw log line is an Envoy / ECS Service
// Connect access log and, when it is, normalises it into the schema of
// the README's "What lands in S3".
//
// Why a hand-written recogniser: the proxy container writes its access logs and
// its own operational lines to the same stream, FireLens' `source` key does not
// separate them, and users may route application containers here too. Each line
// must therefore be judged on its content alone, strictly enough that
// look-alikes (nginx lines, app JSON logs with method/path/status keys, the
// proxy's "[2025-11-04 06:49:07.518][15][info]" lines) are rejected, at
// millions of lines per second and without allocating.
//
// The package is bytes in, bytes out: Parser.Parse fills an Entry whose string
// values are views into the line or into the Parser's scratch buffer, and
// Entry.AppendJSON writes one NDJSON object. A Parser is reusable and not safe
// for concurrent use; use one per worker.
//
// # Recognition rules
//
// Every line longer than MaxLineSize, or not valid UTF-8, is not an access log
// (Envoy's request headers are limited to 60 KiB by default, so a real line is
// shorter; longer records go to other_logs unchanged). Nothing panics on any
// input, and the work per line is linear in its length.
//
// A TEXT line (FormatText, or FormatAuto when the first byte is '[') is
//
//	'[' TIMESTAMP '] ' (HTTP | TCP) [trailing whitespace]
//
// where TIMESTAMP is RFC 3339 with 'T' between date and time, seconds, an
// optional 1-9 digit fraction and 'Z' or a ±HH:MM offset (the proxy's
// operational lines use a space and no zone, so they fail here).
//
// HTTP is
//
//	'"' METHOD ' ' PATH ' ' PROTOCOL '"' (' ' TOKEN){5,6} (' ' QUOTED){5,6}
//
// METHOD is '-' or an RFC 9110 token; PROTOCOL is '-' or "HTTP/" followed by
// digits and dots; PATH is everything between (it may contain spaces). The
// request field ends at the first '" ' preceded by a valid PROTOCOL. A QUOTED
// field ends at the first '"' that is followed by ' "' or by the end of the
// line, so quotes inside a user agent are kept (Envoy writes header values
// verbatim, unescaped; a `\"` is therefore kept as the two bytes it is). The
// counts of unquoted TOKENs and QUOTED fields pick the shape:
//
//	5 tokens, 5 quoted: Service Connect HTTP    code br bs dur ust | xff ua id authority upstream
//	5 tokens, 6 quoted: Service Connect HTTP2   ... plus "stream id"
//	6 tokens, 6 quoted: Service Connect gRPC    code GRPC_STATUS br bs dur ust | ... "stream id"
//	6 tokens, 5 quoted: Envoy default format    code RESPONSE_FLAGS br bs dur ust | ...
//
// Unquoted tokens are printable ASCII without '"'; PATH, QUOTED and DETAILS
// (below) may hold any valid UTF-8, tabs included. '-' and "" are unset.
// The response code is digits; the other numbers are digits or '-'. A gRPC
// status is '-', digits or ASCII letters (OK, InvalidArgument); response flags
// are '-' or comma-separated upper-case letters (UF,URX). Any other count, an
// empty token, a double space or text after the last quote rejects the line.
//
// TCP is seven or more space-separated tokens:
//
//	ADDRESS PORT BYTES_RECEIVED BYTES_SENT DURATION DETAILS... CONNECTION_ID
//
// ADDRESS is '-', IPv4[:port], [IPv6][:port], a bare IPv6 address, a path
// starting with '/' or '@', or an envoy:// internal address; PORT, the byte
// counts and DURATION are digits or '-'; CONNECTION_ID is digits; DETAILS is
// everything between DURATION and CONNECTION_ID (it may contain spaces).
//
// A JSON line (FormatJSON, or FormatAuto otherwise) must be exactly one valid
// JSON object (RFC 8259, UTF-8, nesting at most 64 deep) without a
// "partial_message" key, whose "start_time" is a string holding a TIMESTAMP as
// above, and which is either
//
//   - HTTP: has "method" ('-', null or a token string), "response_code" (a
//     non-null integer) and at least one of "path" or "authority"; or
//   - TCP: has no "method", a non-null string "downstream_remote_address", and
//     a non-null integer "connection_id" or non-null integers in both
//     "bytes_received" and "bytes_sent".
//
// Every schema key present must have a usable type, else the line is not an
// access log: integer keys (response_code, bytes_*, duration, duration_ms,
// upstream_service_time[_ms], downstream_remote_port, connection_id) take a
// JSON number, a string of an optionally signed decimal integer, null, "" or
// "-"; string keys take a string, a number (kept as its literal text) or null.
// Key order is free. Aliases: duration and duration_ms map to duration_ms;
// upstream_service_time and upstream_service_time_ms to
// upstream_service_time_ms. When a key repeats, the last value wins.
//
// FireLens keys (records already parsed upstream and re-rendered as JSON):
// source, container_name, ecs_cluster, ecs_task_arn and ecs_task_definition
// fill the metadata fields; container_id and ec2_instance_id are dropped. The
// keys "timestamp" and "kind" are dropped too, since the schema derives them.
// Every other key is kept in Entry.Extra in input order: strings and integers
// as values (so redaction can reach them), null as null, and objects, arrays,
// booleans, fractions and integers beyond int64 verbatim as RawJSON.
//
// # Normalisation
//
// The timestamp becomes RFC 3339 UTC with milliseconds
// (2025-11-11T07:40:46.216Z), converting offsets and truncating extra
// precision. kind is "http" or "tcp". Unset values ('-', "", null) are null.
// A number that does not fit in int64, or is not a whole number, becomes null
// while the line stays an access log: the shape decides, not one value.
//
// Recognition does not vouch for values: a TEXT gRPC status or response flag
// can be an AWS key id made of letters, and a JSON line can put anything in
// any key. Plain names the only strings that cannot hold client data (the
// normalised timestamp, the kind, Envoy's 19-20 digit stream ids); every other
// string is for the redactor.
//
// # Speed, and why each shortcut is safe
//
// Parse looks at every string it keeps anyway (a JSON string for its end, a
// TEXT field for UTF-8). jsonstr.PlainLen does that look eight bytes at a
// time and also tells whether the value is plain: printable ASCII without '"'
// or '\', which JSON writes as it is. The Field records this with the start
// and length of Str, and AppendJSON copies such a value between quotes instead
// of escaping it. The record is checked against Str at every write: a value
// replaced after Parse (redaction) starts elsewhere, a resliced one has another
// length, and either is escaped as usual; the bytes behind the view cannot
// change, since Str is never written through and the line stays unchanged
// while e is used.
//
// A JSON key is looked up in a table hashed on its first four bytes (every
// known key has at least four). When the bytes after the key's opening quote
// are a known name followed by a quote, that is the whole key: no name holds a
// quote or a backslash, so the string cannot go on. Other keys (escaped, or
// unknown) are scanned and unescaped first, as before.
//
// The FireLens metadata fields, the same in nearly every record of a task, are
// rendered once: the Entry keeps the last rendering with the values it was
// made from, in fixed arrays (a copied Entry shares nothing), and serves it
// only when every value is byte-equal to the one kept, so it cannot be stale.
//
// Integers are written in place two digits at a time, byte for byte as
// strconv.AppendInt. The fuzz targets compare every accepted line's output
// with a rendering that escapes every value and formats every integer with
// strconv.
package accesslog

-- Athena tables over envoy_s3's default key layouts (s3_key_format's and other_key_format's):
--   envoy-access-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/<object>.ndjson[.gz|.zst]
--   envoy-other-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/<object>.ndjson[.gz|.zst]
-- envoy_access_logs and envoy_other_logs read NDJSON (`format json_lines`, the default);
-- envoy_access_logs_parquet and envoy_other_logs_parquet read `format parquet` (.parquet).
-- Create the ones you need, one statement at a time (README "Query with Athena").
-- Partition projection computes the partitions from the query, so there is no crawler, no
-- MSCK REPAIR TABLE and no ALTER TABLE ADD PARTITION, and a new hour is queryable at once.
--
-- Replace <BUCKET> (twice per table), or run the walkthrough's sed (docker/README.md).
-- Athena reads .gz and .zst objects by their extension.
--
-- cluster and family are `injected`: every query names them (cluster = '...' AND family = '...'),
-- so a new service needs no change to the table and a query scans one service's prefix only.
-- To query across services without naming them, switch both to
--   'projection.cluster.type'='enum', 'projection.cluster.values'='prod,staging'
-- (and the same for family), listing every value.
--
-- The columns are the normalised schema (README "What lands in S3"), in its order; the test in
-- docker/ checks this list against the code. `timestamp` is a string holding RFC 3339 UTC with
-- milliseconds ("2026-01-27T07:40:46.216Z"): the OpenX JSON SerDe's own timestamp parsing does
-- not take that form reliably, so convert in queries with from_iso8601_timestamp("timestamp").
-- Integers are bigint (byte counts and connection ids outgrow int). A key of a customised JSON
-- access-log format that the schema lacks is kept in the object but is not a column; add it here
-- if you need it.

CREATE EXTERNAL TABLE IF NOT EXISTS envoy_access_logs (
  `timestamp` string,
  `kind` string,
  `method` string,
  `path` string,
  `protocol` string,
  `response_code` bigint,
  `grpc_status` string,
  `response_flags` string,
  `bytes_received` bigint,
  `bytes_sent` bigint,
  `duration_ms` bigint,
  `upstream_service_time_ms` bigint,
  `forwarded_for` string,
  `user_agent` string,
  `request_id` string,
  `authority` string,
  `upstream_host` string,
  `stream_id` string,
  `downstream_remote_address` string,
  `downstream_remote_port` bigint,
  `connection_termination_details` string,
  `connection_id` bigint,
  `ecs_cluster` string,
  `ecs_task_arn` string,
  `ecs_task_definition` string,
  `container_name` string,
  `source` string
)
PARTITIONED BY (
  `cluster` string,
  `family` string,
  `dt` string,
  `hour` int
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://<BUCKET>/envoy-access-logs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.cluster.type'='injected',
  'projection.family.type'='injected',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='NOW-1YEARS,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'projection.hour.type'='integer',
  'projection.hour.range'='0,23',
  'projection.hour.digits'='2',
  'storage.location.template'='s3://<BUCKET>/envoy-access-logs/cluster=${cluster}/family=${family}/dt=${dt}/hour=${hour}/'
);

-- The same objects written with `format parquet` (key extension .parquet). Parquet files carry
-- their schema: `timestamp` is a real timestamp (UTC, milliseconds), so queries use it directly
-- instead of from_iso8601_timestamp("timestamp"), and keys of a customised JSON format that the
-- schema lacks are in `extra`, one JSON object per row (json_extract_scalar(extra, '$.key')).
-- response_code and downstream_remote_port are int, as the file stores them (INT32); a value
-- outside int's range is in extra instead.
-- Athena reads only the columns a query names: a query over duration_ms and path reads about 7
-- bytes per record of Parquet, against the whole object of NDJSON (README "Performance").
-- A table reads one format: if you switch an existing deployment from json_lines to parquet,
-- give the new objects their own prefix in s3_key_format and LOCATION (or start a new bucket).

CREATE EXTERNAL TABLE IF NOT EXISTS envoy_access_logs_parquet (
  `timestamp` timestamp,
  `kind` string,
  `method` string,
  `path` string,
  `protocol` string,
  `response_code` int,
  `grpc_status` string,
  `response_flags` string,
  `bytes_received` bigint,
  `bytes_sent` bigint,
  `duration_ms` bigint,
  `upstream_service_time_ms` bigint,
  `forwarded_for` string,
  `user_agent` string,
  `request_id` string,
  `authority` string,
  `upstream_host` string,
  `stream_id` string,
  `downstream_remote_address` string,
  `downstream_remote_port` int,
  `connection_termination_details` string,
  `connection_id` bigint,
  `ecs_cluster` string,
  `ecs_task_arn` string,
  `ecs_task_definition` string,
  `container_name` string,
  `source` string,
  `extra` string
)
PARTITIONED BY (
  `cluster` string,
  `family` string,
  `dt` string,
  `hour` int
)
STORED AS PARQUET
LOCATION 's3://<BUCKET>/envoy-access-logs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.cluster.type'='injected',
  'projection.family.type'='injected',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='NOW-1YEARS,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'projection.hour.type'='integer',
  'projection.hour.range'='0,23',
  'projection.hour.digits'='2',
  'storage.location.template'='s3://<BUCKET>/envoy-access-logs/cluster=${cluster}/family=${family}/dt=${dt}/hour=${hour}/'
);

-- Other records (`other_logs s3`: the proxy's own lines, pieces of split lines whose other
-- pieces never came, anything not an access log) under other_key_format's default prefix, with
-- the same partitions and projection. In NDJSON an other record is the whole FireLens record
-- and carries no time of its own: query it by dt and "hour" (the first record's event time of
-- its object). Keys beyond these columns (container_id, partial_*) are in the object but not
-- columns; add them if you need them.

CREATE EXTERNAL TABLE IF NOT EXISTS envoy_other_logs (
  `log` string,
  `source` string,
  `container_name` string,
  `ecs_cluster` string,
  `ecs_task_arn` string,
  `ecs_task_definition` string
)
PARTITIONED BY (
  `cluster` string,
  `family` string,
  `dt` string,
  `hour` int
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://<BUCKET>/envoy-other-logs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.cluster.type'='injected',
  'projection.family.type'='injected',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='NOW-1YEARS,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'projection.hour.type'='integer',
  'projection.hour.range'='0,23',
  'projection.hour.digits'='2',
  'storage.location.template'='s3://<BUCKET>/envoy-other-logs/cluster=${cluster}/family=${family}/dt=${dt}/hour=${hour}/'
);

-- Other records written with `format parquet` (internal/parquetenc/doc.go "Other records"):
-- `timestamp` is each record's event time (UTC, milliseconds); container_id and ec2_instance_id
-- are dropped; `record` is the whole record as JSON when it has keys beyond these columns or one
-- of them is not a string (json_extract_scalar(record, '$.partial_id')), null otherwise.

CREATE EXTERNAL TABLE IF NOT EXISTS envoy_other_logs_parquet (
  `timestamp` timestamp,
  `log` string,
  `source` string,
  `container_name` string,
  `ecs_cluster` string,
  `ecs_task_arn` string,
  `ecs_task_definition` string,
  `record` string
)
PARTITIONED BY (
  `cluster` string,
  `family` string,
  `dt` string,
  `hour` int
)
STORED AS PARQUET
LOCATION 's3://<BUCKET>/envoy-other-logs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.cluster.type'='injected',
  'projection.family.type'='injected',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='NOW-1YEARS,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'projection.hour.type'='integer',
  'projection.hour.range'='0,23',
  'projection.hour.digits'='2',
  'storage.location.template'='s3://<BUCKET>/envoy-other-logs/cluster=${cluster}/family=${family}/dt=${dt}/hour=${hour}/'
);

-- The queries below run on either format's table: name envoy_access_logs_parquet instead of
-- envoy_access_logs (envoy_other_logs_parquet instead of envoy_other_logs), and "timestamp"
-- instead of from_iso8601_timestamp("timestamp").
-- test/sql runs them (translated to DuckDB) over both formats and checks that the answers match.

-- Slowest endpoints: p50/p99 latency per method and path (query string cut off), last 7 days.
SELECT method,
       split_part(path, '?', 1) AS endpoint,
       count(*) AS requests,
       approx_percentile(duration_ms, 0.50) AS p50_ms,
       approx_percentile(duration_ms, 0.99) AS p99_ms,
       max(duration_ms) AS max_ms
FROM envoy_access_logs
WHERE cluster = 'prod' AND family = 'backend'
  AND dt BETWEEN '2026-01-21' AND '2026-01-27'
  AND kind = 'http'
GROUP BY 1, 2
HAVING count(*) >= 100
ORDER BY p99_ms DESC
LIMIT 20;

-- 5xx by authority (the service called), one day, worst first.
SELECT authority,
       count_if(response_code >= 500) AS errors_5xx,
       count(*) AS requests,
       round(100.0 * count_if(response_code >= 500) / count(*), 2) AS error_pct,
       min(from_iso8601_timestamp("timestamp")) FILTER (WHERE response_code >= 500) AS first_5xx
FROM envoy_access_logs
WHERE cluster = 'prod' AND family = 'backend'
  AND dt = '2026-01-27'
  AND kind = 'http'
GROUP BY authority
HAVING count_if(response_code >= 500) > 0
ORDER BY errors_5xx DESC
LIMIT 20;

-- Top talkers: clients by bytes moved in one hour. HTTP clients by the first X-Forwarded-For hop,
-- TCP clients by downstream address.
SELECT coalesce(trim(split_part(forwarded_for, ',', 1)), downstream_remote_address, 'unknown') AS client,
       count(*) AS requests,
       sum(coalesce(bytes_received, 0)) AS bytes_in,
       sum(coalesce(bytes_sent, 0)) AS bytes_out,
       sum(coalesce(bytes_received, 0) + coalesce(bytes_sent, 0)) AS bytes_total
FROM envoy_access_logs
WHERE cluster = 'prod' AND family = 'backend'
  AND dt = '2026-01-27' AND "hour" = 7
GROUP BY 1
ORDER BY bytes_total DESC
LIMIT 20;

-- The proxy's own lines per level and hour, one day: warnings and errors of the sidecar without
-- CloudWatch. Lines that are not the proxy's (split pieces, foreign text) are left out.
SELECT dt,
       "hour",
       regexp_extract(log, '^\[[^\]]+\]\[\d+\]\[([a-z]+)\]', 1) AS level,
       count(*) AS lines
FROM envoy_other_logs
WHERE cluster = 'prod' AND family = 'backend'
  AND dt = '2026-01-27'
  AND regexp_like(log, '^\[[^\]]+\]\[\d+\]\[[a-z]+\]')
GROUP BY 1, 2, 3
ORDER BY 1, 2, lines DESC;

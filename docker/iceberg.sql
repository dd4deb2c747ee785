-- Compaction of the access logs into an Apache Iceberg table, written by Athena itself.
--
-- Every task writes its own objects: with the defaults one object per task per 5 minutes, so a
-- query over one hour of a fleet of 10,000 tasks opens about 120,000 objects. Athena (Trino) can
-- copy each closed hour into an Iceberg table whose files are few and large, and compact them
-- further (OPTIMIZE ... REWRITE DATA USING BIN_PACK). Queries over the Iceberg table then open a
-- few files per service and day; the raw objects only need to live a few days.
--
-- docker/cloudformation/envoy_s3.yaml with Compaction=on runs these statements on a schedule
-- (EventBridge Scheduler calling Athena StartQueryExecution directly, no Lambda):
--   every hour    the MERGE of the format the stack writes, for the hour before;
--   every day     OPTIMIZE of the day before, then VACUUM.
-- Create the table once, before the first hour is merged (docker/README.md, "Compaction"):
--   sed -n '/^CREATE TABLE IF NOT EXISTS envoy_access_logs_iceberg (/,/;$/p' docker/iceberg.sql
-- with <BUCKET> filled in by the walkthrough's sed, run in the stack's workgroup and database.
--
-- The MERGE reads envoy_access_logs_fleet (NDJSON) or envoy_access_logs_parquet_fleet (Parquet):
-- the tables of athena.sql with cluster and family projected as `enum` (the stack's Clusters
-- and Families parameters) instead of `injected`, so that one statement reads every service's
-- hour. A service missing from those lists is not compacted: its raw objects stay queryable.
--
-- SCHEDULED_TIME is the time the schedule fired (the stack passes
-- <aws.scheduler.scheduled-time>, e.g. 2026-01-27T08:20:00Z); the statement merges the hour
-- before it. A re-run of the same invocation merges the same hour.
--
-- Exactly once. A record lands once however often an hour is merged, and a chunk that a
-- killed router sent twice (two objects holding the same records) lands once too:
--   - SELECT DISTINCT drops rows that are identical in every column (the duplicate a re-sent
--     chunk leaves: same time, task, request, bytes, to the millisecond);
--   - MERGE ... ON every column (IS NOT DISTINCT FROM: a null matches a null) ...
--     WHEN NOT MATCHED THEN INSERT adds only rows the table does not hold yet, so a second run
--     of an hour, or a run over an hour partly merged before a failure, inserts nothing twice.
-- Not request_id alone: a request keeps its x-request-id across every proxy it passes (the
-- caller's and the callee's both log it, and a task logs its inbound and outbound hops), TCP
-- connection ids repeat across tasks, and TEXT access logs may carry neither. The price: two
-- records equal in every column, to the millisecond, count once.
--
-- Partitions: dt, cluster, family (identity). "hour" is a column: the Parquet files' statistics
-- skip the other hours of a day. `timestamp` is a timestamp (UTC) in both formats; keys of a
-- customised JSON format that the schema lacks are in `extra` with format parquet (null from
-- NDJSON, whose table has no such column).
--
-- test/sql runs the MERGE (translated to DuckDB) over objects the plugin wrote, in both formats,
-- with duplicated objects, twice, and checks that every record is in the table exactly once.
-- Athena's Iceberg DDL, OPTIMIZE and VACUUM are not run there (DuckDB has no Iceberg writer).

CREATE TABLE IF NOT EXISTS envoy_access_logs_iceberg (
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
  `extra` string,
  `cluster` string,
  `family` string,
  `dt` string,
  `hour` int
)
PARTITIONED BY (`dt`, `cluster`, `family`)
LOCATION 's3://<BUCKET>/envoy-access-logs-iceberg/'
TBLPROPERTIES (
  'table_type'='ICEBERG',
  'format'='parquet',
  'write_compression'='zstd',
  'vacuum_max_snapshot_age_seconds'='86400'
);

-- Every hour, with format parquet: the hour before SCHEDULED_TIME.

MERGE INTO envoy_access_logs_iceberg t
USING (
  SELECT DISTINCT
    "timestamp",
    kind,
    method,
    path,
    protocol,
    response_code,
    grpc_status,
    response_flags,
    bytes_received,
    bytes_sent,
    duration_ms,
    upstream_service_time_ms,
    forwarded_for,
    user_agent,
    request_id,
    authority,
    upstream_host,
    stream_id,
    downstream_remote_address,
    downstream_remote_port,
    connection_termination_details,
    connection_id,
    ecs_cluster,
    ecs_task_arn,
    ecs_task_definition,
    container_name,
    source,
    extra,
    cluster,
    family,
    dt,
    "hour"
  FROM envoy_access_logs_parquet_fleet
  WHERE dt = format_datetime(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR, 'yyyy-MM-dd')
    AND "hour" = hour(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR)
) s
ON t.dt = format_datetime(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR, 'yyyy-MM-dd')
  AND t."hour" = hour(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR)
  AND t."timestamp" IS NOT DISTINCT FROM s."timestamp"
  AND t.kind IS NOT DISTINCT FROM s.kind
  AND t.method IS NOT DISTINCT FROM s.method
  AND t.path IS NOT DISTINCT FROM s.path
  AND t.protocol IS NOT DISTINCT FROM s.protocol
  AND t.response_code IS NOT DISTINCT FROM s.response_code
  AND t.grpc_status IS NOT DISTINCT FROM s.grpc_status
  AND t.response_flags IS NOT DISTINCT FROM s.response_flags
  AND t.bytes_received IS NOT DISTINCT FROM s.bytes_received
  AND t.bytes_sent IS NOT DISTINCT FROM s.bytes_sent
  AND t.duration_ms IS NOT DISTINCT FROM s.duration_ms
  AND t.upstream_service_time_ms IS NOT DISTINCT FROM s.upstream_service_time_ms
  AND t.forwarded_for IS NOT DISTINCT FROM s.forwarded_for
  AND t.user_agent IS NOT DISTINCT FROM s.user_agent
  AND t.request_id IS NOT DISTINCT FROM s.request_id
  AND t.authority IS NOT DISTINCT FROM s.authority
  AND t.upstream_host IS NOT DISTINCT FROM s.upstream_host
  AND t.stream_id IS NOT DISTINCT FROM s.stream_id
  AND t.downstream_remote_address IS NOT DISTINCT FROM s.downstream_remote_address
  AND t.downstream_remote_port IS NOT DISTINCT FROM s.downstream_remote_port
  AND t.connection_termination_details IS NOT DISTINCT FROM s.connection_termination_details
  AND t.connection_id IS NOT DISTINCT FROM s.connection_id
  AND t.ecs_cluster IS NOT DISTINCT FROM s.ecs_cluster
  AND t.ecs_task_arn IS NOT DISTINCT FROM s.ecs_task_arn
  AND t.ecs_task_definition IS NOT DISTINCT FROM s.ecs_task_definition
  AND t.container_name IS NOT DISTINCT FROM s.container_name
  AND t.source IS NOT DISTINCT FROM s.source
  AND t.extra IS NOT DISTINCT FROM s.extra
  AND t.cluster IS NOT DISTINCT FROM s.cluster
  AND t.family IS NOT DISTINCT FROM s.family
  AND t.dt IS NOT DISTINCT FROM s.dt
  AND t."hour" IS NOT DISTINCT FROM s."hour"
WHEN NOT MATCHED THEN INSERT ("timestamp", kind, method, path, protocol, response_code, grpc_status, response_flags, bytes_received, bytes_sent, duration_ms, upstream_service_time_ms, forwarded_for, user_agent, request_id, authority, upstream_host, stream_id, downstream_remote_address, downstream_remote_port, connection_termination_details, connection_id, ecs_cluster, ecs_task_arn, ecs_task_definition, container_name, source, extra, cluster, family, dt, "hour")
  VALUES (s."timestamp", s.kind, s.method, s.path, s.protocol, s.response_code, s.grpc_status, s.response_flags, s.bytes_received, s.bytes_sent, s.duration_ms, s.upstream_service_time_ms, s.forwarded_for, s.user_agent, s.request_id, s.authority, s.upstream_host, s.stream_id, s.downstream_remote_address, s.downstream_remote_port, s.connection_termination_details, s.connection_id, s.ecs_cluster, s.ecs_task_arn, s.ecs_task_definition, s.container_name, s.source, s.extra, s.cluster, s.family, s.dt, s."hour");

-- Every hour, with format json_lines (the default): the same from the NDJSON table.

MERGE INTO envoy_access_logs_iceberg t
USING (
  SELECT DISTINCT
    CAST(from_iso8601_timestamp("timestamp") AS timestamp) AS "timestamp",
    kind,
    method,
    path,
    protocol,
    CAST(response_code AS int) AS response_code,
    grpc_status,
    response_flags,
    bytes_received,
    bytes_sent,
    duration_ms,
    upstream_service_time_ms,
    forwarded_for,
    user_agent,
    request_id,
    authority,
    upstream_host,
    stream_id,
    downstream_remote_address,
    CAST(downstream_remote_port AS int) AS downstream_remote_port,
    connection_termination_details,
    connection_id,
    ecs_cluster,
    ecs_task_arn,
    ecs_task_definition,
    container_name,
    source,
    CAST(NULL AS varchar) AS extra,
    cluster,
    family,
    dt,
    "hour"
  FROM envoy_access_logs_fleet
  WHERE dt = format_datetime(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR, 'yyyy-MM-dd')
    AND "hour" = hour(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR)
) s
ON t.dt = format_datetime(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR, 'yyyy-MM-dd')
  AND t."hour" = hour(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' HOUR)
  AND t."timestamp" IS NOT DISTINCT FROM s."timestamp"
  AND t.kind IS NOT DISTINCT FROM s.kind
  AND t.method IS NOT DISTINCT FROM s.method
  AND t.path IS NOT DISTINCT FROM s.path
  AND t.protocol IS NOT DISTINCT FROM s.protocol
  AND t.response_code IS NOT DISTINCT FROM s.response_code
  AND t.grpc_status IS NOT DISTINCT FROM s.grpc_status
  AND t.response_flags IS NOT DISTINCT FROM s.response_flags
  AND t.bytes_received IS NOT DISTINCT FROM s.bytes_received
  AND t.bytes_sent IS NOT DISTINCT FROM s.bytes_sent
  AND t.duration_ms IS NOT DISTINCT FROM s.duration_ms
  AND t.upstream_service_time_ms IS NOT DISTINCT FROM s.upstream_service_time_ms
  AND t.forwarded_for IS NOT DISTINCT FROM s.forwarded_for
  AND t.user_agent IS NOT DISTINCT FROM s.user_agent
  AND t.request_id IS NOT DISTINCT FROM s.request_id
  AND t.authority IS NOT DISTINCT FROM s.authority
  AND t.upstream_host IS NOT DISTINCT FROM s.upstream_host
  AND t.stream_id IS NOT DISTINCT FROM s.stream_id
  AND t.downstream_remote_address IS NOT DISTINCT FROM s.downstream_remote_address
  AND t.downstream_remote_port IS NOT DISTINCT FROM s.downstream_remote_port
  AND t.connection_termination_details IS NOT DISTINCT FROM s.connection_termination_details
  AND t.connection_id IS NOT DISTINCT FROM s.connection_id
  AND t.ecs_cluster IS NOT DISTINCT FROM s.ecs_cluster
  AND t.ecs_task_arn IS NOT DISTINCT FROM s.ecs_task_arn
  AND t.ecs_task_definition IS NOT DISTINCT FROM s.ecs_task_definition
  AND t.container_name IS NOT DISTINCT FROM s.container_name
  AND t.source IS NOT DISTINCT FROM s.source
  AND t.extra IS NOT DISTINCT FROM s.extra
  AND t.cluster IS NOT DISTINCT FROM s.cluster
  AND t.family IS NOT DISTINCT FROM s.family
  AND t.dt IS NOT DISTINCT FROM s.dt
  AND t."hour" IS NOT DISTINCT FROM s."hour"
WHEN NOT MATCHED THEN INSERT ("timestamp", kind, method, path, protocol, response_code, grpc_status, response_flags, bytes_received, bytes_sent, duration_ms, upstream_service_time_ms, forwarded_for, user_agent, request_id, authority, upstream_host, stream_id, downstream_remote_address, downstream_remote_port, connection_termination_details, connection_id, ecs_cluster, ecs_task_arn, ecs_task_definition, container_name, source, extra, cluster, family, dt, "hour")
  VALUES (s."timestamp", s.kind, s.method, s.path, s.protocol, s.response_code, s.grpc_status, s.response_flags, s.bytes_received, s.bytes_sent, s.duration_ms, s.upstream_service_time_ms, s.forwarded_for, s.user_agent, s.request_id, s.authority, s.upstream_host, s.stream_id, s.downstream_remote_address, s.downstream_remote_port, s.connection_termination_details, s.connection_id, s.ecs_cluster, s.ecs_task_arn, s.ecs_task_definition, s.container_name, s.source, s.extra, s.cluster, s.family, s.dt, s."hour");

-- Every day: rewrite the day before into files of about 512 MB (Athena's default target size),
-- then drop the snapshots and files older than vacuum_max_snapshot_age_seconds (one day).

OPTIMIZE envoy_access_logs_iceberg REWRITE DATA USING BIN_PACK
WHERE dt = format_datetime(from_iso8601_timestamp('SCHEDULED_TIME') - INTERVAL '1' DAY, 'yyyy-MM-dd');

VACUUM envoy_access_logs_iceberg;

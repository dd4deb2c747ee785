package parquetenc

import (
	"github.com/parquet-go/parquet-go"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
)

// Schema picks the columns of a file: access logs or other records.
type Schema uint8

const (
	// Access is the normalised access-log schema of SPEC.md plus extra.
	Access Schema = iota
	// Other is the small schema of records that are not access logs.
	Other
)

// colKind is how a column is held in memory and written.
type colKind uint8

const (
	colTime colKind = iota // required INT64 TIMESTAMP(MILLIS, UTC)
	colInt                 // optional INT64
	colDict                // optional UTF-8 string that repeats: interned in memory, dictionary in the file
	colStr                 // optional UTF-8 string, mostly unique
)

type column struct {
	name string
	kind colKind
}

// accessRow declares the access schema: parquet-go keeps struct field order,
// so the file's columns follow SPEC.md. Only the schema is taken from it;
// values are written column by column.
type accessRow struct {
	Timestamp                    int64  `parquet:"timestamp,timestamp(millisecond:utc),delta"`
	Kind                         string `parquet:"kind,optional,dict"`
	Method                       string `parquet:"method,optional,dict"`
	Path                         string `parquet:"path,optional,dict"`
	Protocol                     string `parquet:"protocol,optional,dict"`
	ResponseCode                 int64  `parquet:"response_code,optional,dict"`
	GrpcStatus                   string `parquet:"grpc_status,optional,dict"`
	ResponseFlags                string `parquet:"response_flags,optional,dict"`
	BytesReceived                int64  `parquet:"bytes_received,optional"`
	BytesSent                    int64  `parquet:"bytes_sent,optional,delta"`
	DurationMs                   int64  `parquet:"duration_ms,optional"`
	UpstreamServiceTimeMs        int64  `parquet:"upstream_service_time_ms,optional"`
	ForwardedFor                 string `parquet:"forwarded_for,optional,dict"`
	UserAgent                    string `parquet:"user_agent,optional,dict"`
	RequestID                    string `parquet:"request_id,optional"`
	Authority                    string `parquet:"authority,optional,dict"`
	UpstreamHost                 string `parquet:"upstream_host,optional,dict"`
	StreamID                     string `parquet:"stream_id,optional"`
	DownstreamRemoteAddress      string `parquet:"downstream_remote_address,optional,dict"`
	DownstreamRemotePort         int64  `parquet:"downstream_remote_port,optional,delta"`
	ConnectionTerminationDetails string `parquet:"connection_termination_details,optional,dict"`
	ConnectionID                 int64  `parquet:"connection_id,optional,delta"`
	EcsCluster                   string `parquet:"ecs_cluster,optional,dict"`
	EcsTaskArn                   string `parquet:"ecs_task_arn,optional,dict"`
	EcsTaskDefinition            string `parquet:"ecs_task_definition,optional,dict"`
	ContainerName                string `parquet:"container_name,optional,dict"`
	Source                       string `parquet:"source,optional,dict"`
	Extra                        string `parquet:"extra,optional"`
}

// otherRow declares the schema of other records.
type otherRow struct {
	Timestamp         int64  `parquet:"timestamp,timestamp(millisecond:utc),delta"`
	Log               string `parquet:"log,optional"`
	Source            string `parquet:"source,optional,dict"`
	ContainerName     string `parquet:"container_name,optional,dict"`
	EcsCluster        string `parquet:"ecs_cluster,optional,dict"`
	EcsTaskArn        string `parquet:"ecs_task_arn,optional,dict"`
	EcsTaskDefinition string `parquet:"ecs_task_definition,optional,dict"`
	Record            string `parquet:"record,optional"`
}

var (
	accessSchema = parquet.SchemaOf(accessRow{})
	otherSchema  = parquet.SchemaOf(otherRow{})
)

// accessCols are the access columns in file order: the schema fields by
// accesslog.FieldID, then extra.
var accessCols = func() []column {
	cols := make([]column, 0, accesslog.NumFields+1)
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		c := column{name: id.Name(), kind: colStr}
		switch {
		case id == accesslog.Timestamp:
			c.kind = colTime
		case id.IsInt():
			c.kind = colInt
		case internedAccess[id]:
			c.kind = colDict
		}
		cols = append(cols, c)
	}
	return append(cols, column{name: "extra", kind: colStr})
}()

// accessExtra is the index of the extra column.
const accessExtra = int(accesslog.NumFields)

// internedAccess marks the string fields whose values repeat across rows
// (one per task, method, status...): held once per distinct value in memory.
var internedAccess = [accesslog.NumFields]bool{
	accesslog.Kind: true, accesslog.Method: true, accesslog.Protocol: true,
	accesslog.GrpcStatus: true, accesslog.ResponseFlags: true, accesslog.UserAgent: true,
	accesslog.Authority: true, accesslog.UpstreamHost: true,
	accesslog.EcsCluster: true, accesslog.EcsTaskArn: true, accesslog.EcsTaskDefinition: true,
	accesslog.ContainerName: true, accesslog.Source: true,
}

// Other columns, in file order.
const (
	otherTimestamp = iota
	otherLog
	otherSource
	otherContainerName
	otherEcsCluster
	otherEcsTaskArn
	otherEcsTaskDefinition
	otherRecord
	numOtherCols
)

var otherCols = []column{
	{"timestamp", colTime}, {"log", colStr}, {"source", colDict}, {"container_name", colDict},
	{"ecs_cluster", colDict}, {"ecs_task_arn", colDict}, {"ecs_task_definition", colDict}, {"record", colStr},
}

// Columns returns the column names of s in file order.
func (s Schema) Columns() []string {
	cols := accessCols
	if s == Other {
		cols = otherCols
	}
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

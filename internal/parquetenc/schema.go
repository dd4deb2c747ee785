package parquetenc

import (
	"slices"

	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
)

// Schema picks the columns of a file: access logs or other records.
type Schema uint8

const (
	// Access is the normalised access-log schema of the README's "What lands in S3" plus extra.
	Access Schema = iota
	// Other is the small schema of records that are not access logs.
	Other
)

// colKind is how a column is held in memory and written.
type colKind uint8

const (
	colTime colKind = iota // required INT64 TIMESTAMP(MILLIS, UTC), delta encoded
	colInt                 // optional INT64 (or INT32 with int32 set)
	colDict                // optional UTF-8 string that repeats: interned in memory, dictionary in the file when it pays
	colStr                 // optional UTF-8 string, mostly unique: plain
)

type column struct {
	name  string
	kind  colKind
	int32 bool // colInt stored as INT32: values outside its range go to extra
	delta bool // colInt written DELTA_BINARY_PACKED rather than PLAIN
	dlba  bool // colStr written DELTA_LENGTH_BYTE_ARRAY rather than PLAIN
}

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
			c.int32 = id == accesslog.ResponseCode || id == accesslog.DownstreamRemotePort
			// Counters that grow along a connection or within a batch;
			// random-looking byte counts and durations compress better plain.
			c.delta = id == accesslog.UpstreamServiceTimeMs || id == accesslog.DownstreamRemotePort || id == accesslog.ConnectionID
		case internedAccess[id]:
			c.kind = colDict
		default:
			// Random ids: without a length prefix before each value, zstd
			// entropy-codes their characters (15.0 B a record for
			// request_id instead of 16.1); strings with repeated parts
			// (paths, hosts, log lines) compress better PLAIN.
			c.dlba = id == accesslog.RequestID || id == accesslog.StreamID
		}
		cols = append(cols, c)
	}
	return append(cols, column{name: "extra", kind: colStr})
}()

// accessExtra is the index of the extra column.
const accessExtra = int(accesslog.NumFields)

// internedAccess marks the string fields whose values usually repeat across
// rows (one per task, method, status, route...): held once per distinct value
// in memory and dictionary encoded when that pays.
var internedAccess = [accesslog.NumFields]bool{
	accesslog.Kind: true, accesslog.Method: true, accesslog.Path: true, accesslog.Protocol: true,
	accesslog.GrpcStatus: true, accesslog.ResponseFlags: true, accesslog.ForwardedFor: true,
	accesslog.UserAgent: true, accesslog.Authority: true, accesslog.UpstreamHost: true,
	accesslog.DownstreamRemoteAddress: true, accesslog.ConnectionTerminationDetails: true,
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
	{name: "timestamp", kind: colTime}, {name: "log", kind: colStr}, {name: "source", kind: colDict},
	{name: "container_name", kind: colDict}, {name: "ecs_cluster", kind: colDict}, {name: "ecs_task_arn", kind: colDict},
	{name: "ecs_task_definition", kind: colDict}, {name: "record", kind: colStr},
}

// Columns returns the column names of s in file order.
func (s Schema) Columns() []string {
	cols := s.cols()
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// SchemaOf names the schema whose columns are cols, in order (as
// internal/parquetread returns them); false for any other list.
func SchemaOf(cols []string) (Schema, bool) {
	for _, s := range []Schema{Access, Other} {
		if slices.Equal(cols, s.Columns()) {
			return s, true
		}
	}
	return 0, false
}

func (s Schema) cols() []column {
	if s == Other {
		return otherCols
	}
	return accessCols
}

// physical is the Parquet physical type of c.
func (c *column) physical() format.Type {
	switch {
	case c.kind == colTime:
		return format.Int64
	case c.kind == colInt && c.int32:
		return format.Int32
	case c.kind == colInt:
		return format.Int64
	}
	return format.ByteArray
}

// schemaElements is the file schema of cols: a root, then one leaf per column.
func schemaElements(cols []column) []format.SchemaElement {
	els := make([]format.SchemaElement, 0, len(cols)+1)
	els = append(els, format.SchemaElement{Name: "schema", NumChildren: thrift.New(int32(len(cols)))})
	for i := range cols {
		c := &cols[i]
		el := format.SchemaElement{Name: c.name, Type: thrift.New(c.physical()), RepetitionType: thrift.New(format.Optional)}
		switch {
		case c.kind == colTime:
			el.RepetitionType = thrift.New(format.Required)
			el.LogicalType = format.LogicalType{Value: &format.TimestampType{IsAdjustedToUTC: true, Unit: format.TimeUnit{Value: new(format.MilliSeconds)}}}
			el.ConvertedType = thrift.New(deprecated.TimestampMillis)
		case c.kind == colInt && c.int32:
			el.LogicalType = format.LogicalType{Value: &format.IntType{BitWidth: 32, IsSigned: true}}
			el.ConvertedType = thrift.New(deprecated.Int32)
		case c.kind == colInt:
			el.LogicalType = format.LogicalType{Value: &format.IntType{BitWidth: 64, IsSigned: true}}
			el.ConvertedType = thrift.New(deprecated.Int64)
		default:
			el.LogicalType = format.LogicalType{Value: new(format.StringType)}
			el.ConvertedType = thrift.New(deprecated.UTF8)
		}
		els = append(els, el)
	}
	return els
}

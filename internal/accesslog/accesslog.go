package accesslog

// MaxLineSize is the longest line that can be an access log. Longer lines are
// never access logs; the bound also caps the Parser's scratch memory.
const MaxLineSize = 64 << 10

// Format restricts which access-log family a Parser accepts.
type Format uint8

const (
	FormatAuto Format = iota // TEXT when the line starts with '[', else JSON
	FormatJSON               // JSON objects only
	FormatText               // TEXT lines only
)

// String returns the configuration spelling of f.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatJSON:
		return "json"
	case FormatText:
		return "text"
	}
	return "invalid"
}

// FieldID names one column of the normalised schema, in output order.
type FieldID uint8

const (
	Timestamp FieldID = iota
	Kind
	Method
	Path
	Protocol
	ResponseCode
	GrpcStatus
	ResponseFlags
	BytesReceived
	BytesSent
	DurationMs
	UpstreamServiceTimeMs
	ForwardedFor
	UserAgent
	RequestID
	Authority
	UpstreamHost
	StreamID
	DownstreamRemoteAddress
	DownstreamRemotePort
	ConnectionTerminationDetails
	ConnectionID
	// FireLens metadata, set by the pipeline (or taken from pre-parsed JSON).
	EcsCluster
	EcsTaskArn
	EcsTaskDefinition
	ContainerName
	Source
	NumFields
)

var fieldNames = [NumFields]string{
	"timestamp", "kind", "method", "path", "protocol", "response_code",
	"grpc_status", "response_flags", "bytes_received", "bytes_sent",
	"duration_ms", "upstream_service_time_ms", "forwarded_for", "user_agent",
	"request_id", "authority", "upstream_host", "stream_id",
	"downstream_remote_address", "downstream_remote_port",
	"connection_termination_details", "connection_id",
	"ecs_cluster", "ecs_task_arn", "ecs_task_definition", "container_name",
	"source",
}

// fieldIsInt marks the integer columns of the schema.
var fieldIsInt = [NumFields]bool{
	ResponseCode: true, BytesReceived: true, BytesSent: true, DurationMs: true,
	UpstreamServiceTimeMs: true, DownstreamRemotePort: true, ConnectionID: true,
}

// Name returns the schema key of id ("timestamp", "kind", ... "source").
func (id FieldID) Name() string {
	if id >= NumFields {
		return ""
	}
	return fieldNames[id]
}

// IsInt reports whether the schema column id holds integers.
func (id FieldID) IsInt() bool { return id < NumFields && fieldIsInt[id] }

// Plain reports whether v, a string value of field id, is one that Envoy or this
// package wrote and that therefore holds nothing a client sent: the normalised
// timestamp, the kind, and a stream_id of 19 or 20 decimal digits (Envoy's random
// 64-bit stream id, which the credit card detector would take for a card number
// about 3% of the time). Every other string of every field, in every format, may
// hold client data (a customised JSON format can put anything in grpc_status; a
// container name and a cluster name are chosen by people) and is for the
// detectors. A 19-digit card number placed in stream_id is thus not detected.
func Plain(id FieldID, v []byte) bool {
	switch id {
	case Timestamp, Kind:
		return true
	case StreamID:
		if len(v) < 19 || len(v) > 20 || len(v) == 20 && string(v) > "18446744073709551615" {
			return false
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	return false
}

// FieldNames returns the schema keys in output order.
func FieldNames() []string {
	out := make([]string, NumFields)
	copy(out, fieldNames[:])
	return out
}

// FieldKind tells which member of a Field holds its value.
type FieldKind uint8

const (
	Null   FieldKind = iota // unset or absent; written as null
	String                  // Str
	Int                     // Int
)

// Field is one value. Str may alias the parsed line or the Parser's scratch:
// replace it to change a value, never write through it.
type Field struct {
	Kind FieldKind
	// plainLen and plainAt record that Parse proved the bytes of Str, as
	// they were then, plain (printable ASCII without '"' or '\\'): JSON
	// writes them as they are. The proof holds only while Str still starts at
	// plainAt and has plainLen bytes; see setStr and plainStr.
	plainLen uint32
	Str      []byte // unescaped value
	plainAt  *byte
	Int      int64
}

// setStr makes f the String v (not empty), marked plain when the caller
// proved every byte of v plain. It stores field by field: a Field literal
// built on the stack and copied measured several times slower here.
func (f *Field) setStr(v []byte, plain bool) {
	f.Kind, f.Str, f.Int = String, v, 0
	if plain {
		f.plainLen, f.plainAt = uint32(len(v)), &v[0]
	} else {
		f.plainLen, f.plainAt = 0, nil
	}
}

// plainStr reports whether f.Str is still the view Parse proved plain. A Str
// replaced (redaction) or resliced after Parse starts elsewhere or has
// another length, so it fails the check and is escaped as usual; the bytes
// behind the view cannot change, since a Field's Str is never written through.
func (f *Field) plainStr() bool {
	return f.plainAt != nil && len(f.Str) == int(f.plainLen) && &f.Str[0] == f.plainAt
}

// Extra is a key of a customised JSON format that the schema lacks.
type Extra struct {
	Key []byte // unescaped key
	Val Field
	// RawJSON, when non-empty, is written verbatim instead of Val: objects,
	// arrays, booleans, fractions and integers beyond int64.
	RawJSON []byte
}

// Shape tells which access-log format a line matched.
type Shape uint8

const (
	ShapeNone         Shape = iota
	ShapeTextHTTP           // Service Connect TEXT HTTP
	ShapeTextHTTP2          // Service Connect TEXT HTTP2 (trailing stream id)
	ShapeTextGRPC           // Service Connect TEXT gRPC
	ShapeTextTCP            // Service Connect TEXT TCP
	ShapeEnvoyDefault       // Envoy's default format, with response flags
	ShapeJSONHTTP           // JSON with method and response_code
	ShapeJSONTCP            // JSON with downstream_remote_address
	NumShapes
)

var shapeNames = [NumShapes]string{"none", "text_http", "text_http2", "text_grpc", "text_tcp", "envoy_default", "json_http", "json_tcp"}

// String returns a short snake_case name of s, for statistics.
func (s Shape) String() string {
	if s >= NumShapes {
		return "invalid"
	}
	return shapeNames[s]
}

// Entry is one normalised access log. Reuse it across Parse calls.
type Entry struct {
	Fields [NumFields]Field
	Extra  []Extra
	Shape  Shape

	meta metaCache // AppendJSON's last rendering of the FireLens metadata
}

// Reset clears e, keeping the capacity of Extra.
func (e *Entry) Reset() {
	e.Fields = [NumFields]Field{}
	clear(e.Extra)
	e.Extra = e.Extra[:0]
	e.Shape = ShapeNone
}

// Set stores a string value (nil or empty means null). The pipeline uses it for
// the FireLens metadata fields.
func (e *Entry) Set(id FieldID, v []byte) {
	if id >= NumFields {
		return
	}
	if len(v) == 0 {
		e.Fields[id] = Field{}
		return
	}
	e.Fields[id] = Field{Kind: String, Str: v}
}

// Parser recognises and normalises lines. The zero value parses FormatAuto.
// It is reusable and NOT safe for concurrent use: use one per worker.
type Parser struct {
	Format Format

	// scratch holds unescaped JSON strings and the normalised timestamp. It is
	// sized before each parse so appends never move it (views stay valid).
	scratch []byte
}

// Parse reports whether line is an access log and, if so, fills e (after
// resetting it). e's strings alias line and p's scratch: they stay valid until
// the next Parse with p and while line is unchanged. When Parse returns false,
// e holds no meaningful values.
func (p *Parser) Parse(line []byte, e *Entry) bool {
	e.Reset()
	if len(line) == 0 || len(line) > MaxLineSize {
		return false
	}
	if need := len(line) + scratchSlack; cap(p.scratch) < need {
		p.scratch = make([]byte, 0, need+need/4)
	}
	p.scratch = p.scratch[:0]
	switch p.Format {
	case FormatText:
		return p.parseText(line, e)
	case FormatJSON:
		return p.parseJSON(line, e)
	case FormatAuto:
		if line[0] == '[' {
			return p.parseText(line, e)
		}
		return p.parseJSON(line, e)
	}
	return false
}

// scratchSlack covers what normalisation adds beyond the line's own length:
// the 24-byte timestamp and the 4-byte kind.
const scratchSlack = 64

// keep appends b to the scratch and returns the copy.
func (p *Parser) keep(b string) []byte {
	n := len(p.scratch)
	p.scratch = append(p.scratch, b...)
	return p.scratch[n:len(p.scratch):len(p.scratch)]
}

func (e *Entry) setKind(p *Parser, shape Shape) {
	e.Shape = shape
	if shape == ShapeTextTCP || shape == ShapeJSONTCP {
		e.Fields[Kind].setStr(p.keep("tcp"), true)
	} else {
		e.Fields[Kind].setStr(p.keep("http"), true)
	}
}

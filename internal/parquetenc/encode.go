package parquetenc

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/compress"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// Ext is the key extension of Parquet objects, whatever the codec inside.
const Ext = ".parquet"

// ContentType is the media type of Parquet objects.
const ContentType = "application/vnd.apache.parquet"

// Defaults of Options; doc.go says why.
const (
	DefaultRowGroupBytes = 1536 << 10
	DefaultPageBytes     = 128 << 10
)

// Options tune an Encoder; zero values take the defaults.
type Options struct {
	Codec compress.Codec // zstd, snappy, gzip or none (the zero value)
	// RowGroupBytes bounds the memory of the rows an Encoder holds: when the
	// parsed rows reach it, they are sorted and written as one row group.
	RowGroupBytes int
	// PageBytes is the uncompressed size of a data page.
	PageBytes int
	// KeepRowBytes is the row memory kept from one file to the next: 0 keeps
	// up to twice RowGroupBytes (a steady stream of files then grows nothing
	// again), a negative value none (an encoder seldom used).
	KeepRowBytes int
	// Pages, when set, compresses the pages (its codec replaces Codec): encoders
	// that never run at once can share one, and its memory, across schemas.
	Pages *PageCompressor
}

// Lines feeds complete NDJSON lines to yield, in chunks, in spool order.
type Lines func(yield func(lines []byte) error) error

// Encoder turns the spooled lines of one batch into one Parquet file. It
// keeps its buffers from file to file; it is not safe for concurrent use.
type Encoder struct {
	schema Schema
	opt    Options
	cols   []column
	tab    table
	buf    []byte // unescaped strings of the current line
	extra  []byte // extra / record JSON of the current line
	fw     fileWriter
	comp   *PageCompressor // kept from file to file: its encoder state is reused
	lastTS int64
	stats  Stats
}

// Stats count what one Encode call read.
type Stats struct {
	Rows      int // rows written
	Unparsed  int // lines that were not the JSON expected, kept whole in extra / record
	RowGroups int
	HeldBytes int // the most memory the rows of one row group took before it was written
}

// NewEncoder returns an Encoder of files of schema s.
func NewEncoder(s Schema, opt Options) *Encoder {
	if opt.RowGroupBytes <= 0 {
		opt.RowGroupBytes = DefaultRowGroupBytes
	}
	if opt.PageBytes <= 0 {
		opt.PageBytes = DefaultPageBytes
	}
	if opt.KeepRowBytes == 0 {
		opt.KeepRowBytes = 2 * opt.RowGroupBytes
	}
	if opt.Pages == nil {
		opt.Pages = NewPageCompressor(opt.Codec)
	}
	e := &Encoder{schema: s, opt: opt, cols: s.cols(), comp: opt.Pages}
	e.tab.init(e.cols)
	return e
}

// Encode writes one Parquet file holding every line of read to w, rows sorted
// by timestamp within each row group (one row group unless the batch's rows
// exceed Options.RowGroupBytes in memory).
func (e *Encoder) Encode(w io.Writer, read Lines) (Stats, error) {
	e.stats = Stats{}
	e.lastTS = 0
	e.tab.reset()
	// Row memory is kept from file to file (up to what a row group needs), so a
	// steady stream of files grows nothing again: regrowing it for each file
	// was most of what an upload worker allocated, and garbage raises the peak.
	defer e.tab.release(e.opt.KeepRowBytes)
	e.fw.reset(w, e.cols, e.comp, e.opt.PageBytes)
	err := read(func(lines []byte) error {
		for len(lines) > 0 {
			n := bytes.IndexByte(lines, '\n')
			line := lines
			if n >= 0 {
				line, lines = lines[:n], lines[n+1:]
			} else {
				lines = nil
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if !e.tab.room(2*len(line)) || (e.tab.rows&255 == 0 && e.tab.rows > 0 && e.tab.bytes() >= e.opt.RowGroupBytes) {
				if err := e.writeGroup(); err != nil {
					return err
				}
			}
			e.parse(line)
			e.tab.commit()
		}
		return nil
	})
	if err != nil {
		return e.stats, err
	}
	if err := e.writeGroup(); err != nil {
		return e.stats, err
	}
	return e.stats, e.fw.close(createdBy)
}

// createdBy names the writer in each file's footer.
const createdBy = "envoy_s3"

// writeGroup sorts the held rows and writes them as one row group.
func (e *Encoder) writeGroup() error {
	if e.tab.rows == 0 {
		return nil
	}
	e.stats.HeldBytes = max(e.stats.HeldBytes, e.tab.bytes())
	if err := e.fw.writeGroup(&e.tab, e.tab.order()); err != nil {
		return fmt.Errorf("parquetenc: %w", err)
	}
	e.stats.Rows += e.tab.rows
	e.stats.RowGroups++
	e.tab.reset()
	return nil
}

// parse fills e.tab.row from one spooled line.
func (e *Encoder) parse(line []byte) {
	e.buf = e.buf[:0]
	e.extra = e.extra[:0]
	var ok bool
	if e.schema == Access {
		ok = e.parseAccess(line)
	} else {
		ok = e.parseOther(line)
	}
	if !ok {
		// Not what this plugin writes (a damaged or foreign line): keep it
		// whole rather than drop it.
		e.stats.Unparsed++
		row := e.tab.row
		clear(row)
		e.extra = append(e.extra[:0], `{"unparsed_line":`...)
		e.extra = jsonstr.Append(e.extra, line)
		e.extra = append(e.extra, '}')
		row[len(row)-1] = value{set: true, b: e.extra}
	}
	if row := e.tab.row; row[0].set {
		e.lastTS = row[0].i
	} else {
		// A row without a usable time sorts with the row before it.
		row[0] = value{set: true, i: e.lastTS}
	}
}

// quotedKeys are the schema keys as the pipeline writes them, `"name":`.
var quotedKeys = func() (q [accesslog.NumFields + 1]string) {
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		q[id] = `"` + id.Name() + `":`
	}
	return q
}()

var fieldIndex = func() map[string]accesslog.FieldID {
	m := make(map[string]accesslog.FieldID, accesslog.NumFields)
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		m[id.Name()] = id
	}
	return m
}()

// parseAccess reads one normalised access line: the schema keys in any order
// (in schema order they take a fast path), then keys the schema lacks, which
// go to extra verbatim. A schema key whose value has the wrong type goes to
// extra too, so nothing is lost.
func (e *Encoder) parseAccess(line []byte) bool {
	row := e.tab.row
	s := scanner{b: line}
	if !s.eat('{') {
		return false
	}
	e.extra = append(e.extra, '{')
	if !s.eat('}') {
		next := accesslog.FieldID(0)
		for {
			s.ws()
			mstart := s.i
			id, known := next, false
			if q := quotedKeys[min(id, accesslog.NumFields)]; q != "" && len(line)-s.i > len(q) && string(line[s.i:s.i+len(q)]) == q {
				// The schema's own next key, as the pipeline writes it.
				s.i += len(q)
				known = true
			} else {
				key, ok := s.str(&e.buf)
				if !ok || !s.eat(':') {
					return false
				}
				id, known = fieldIndex[string(key)]
			}
			if known {
				next = id + 1
				known = e.accessValue(&s, id, &row[id])
			}
			if !known {
				s.i = mstart
				if _, ok := s.str(&e.buf); !ok || !s.eat(':') || !s.skip(1) {
					return false
				}
				if len(e.extra) > 1 {
					e.extra = append(e.extra, ',')
				}
				e.extra = append(e.extra, line[mstart:s.i]...)
			}
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return false
			}
		}
	}
	if s.peek() != 0 {
		return false
	}
	if len(e.extra) > 1 {
		e.extra = append(e.extra, '}')
		row[accessExtra] = value{set: true, b: e.extra}
	}
	return true
}

// accessValue reads the value of schema key id into v; false (with nothing
// consumed) when its type does not fit the column.
func (e *Encoder) accessValue(s *scanner, id accesslog.FieldID, v *value) bool {
	save := s.i
	if s.lit("null") {
		*v = value{}
		return id != accesslog.Timestamp
	}
	switch e.cols[id].kind {
	case colTime:
		if b, ok := s.str(&e.buf); ok {
			if ms, ok := parseTime(b); ok {
				*v = value{set: true, i: ms}
				return true
			}
		}
	case colInt:
		if b, ok := s.number(); ok {
			if n, ok := parseInt(b); ok && (!e.cols[id].int32 || n == int64(int32(n))) {
				*v = value{set: true, i: n}
				return true
			}
		}
	default:
		if b, ok := s.str(&e.buf); ok {
			*v = value{set: true, b: b}
			return true
		}
	}
	s.i = save
	return false
}

// otherMeta maps the keys of a FireLens record that have their own column.
var otherMeta = map[string]int{
	"log": otherLog, "source": otherSource, "container_name": otherContainerName,
	"ecs_cluster": otherEcsCluster, "ecs_task_arn": otherEcsTaskArn,
	"ecs_task_definition": otherEcsTaskDefinition,
	// Dropped like in the access schema: they identify the container and
	// host, which container_name and ecs_task_arn already do.
	"container_id": -1, "ec2_instance_id": -1,
}

// parseOther reads one spooled other record, [unix_ms,{record}]: the event
// time and the FireLens record as JSON.
func (e *Encoder) parseOther(line []byte) bool {
	row := e.tab.row
	s := scanner{b: line}
	if !s.eat('[') {
		return false
	}
	num, ok := s.number()
	if !ok {
		return false
	}
	ms, ok := parseInt(num)
	if !ok || !s.eat(',') {
		return false
	}
	row[otherTimestamp] = value{set: true, i: ms}
	s.ws()
	start := s.i
	if !s.eat('{') {
		return false
	}
	beyond := false
	if !s.eat('}') {
		for {
			key, ok := s.str(&e.buf)
			if !ok || !s.eat(':') {
				return false
			}
			col, known := otherMeta[string(key)]
			switch {
			case !known:
				beyond = true
				if !s.skip(1) {
					return false
				}
			case s.peek() == '"':
				v, ok := s.str(&e.buf)
				if !ok {
					return false
				}
				if col >= 0 && !row[col].set { // the first of repeated keys wins, as in the pipeline
					row[col] = value{set: true, b: v}
				}
			default:
				beyond = beyond || col >= 0 // e.g. a log that is an object
				if !s.skip(1) {
					return false
				}
			}
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return false
			}
		}
	}
	end := s.i
	if !s.eat(']') || s.peek() != 0 {
		return false
	}
	if beyond {
		row[otherRecord] = value{set: true, b: line[start:end]}
	}
	return true
}

// AppendOtherStart begins the spool line of an other record bound for a
// Parquet object, [unix_ms,{record}]: the caller appends the record's JSON and
// a closing ']'. The event time travels with the line, since the record has
// none.
func AppendOtherStart(dst []byte, t time.Time) []byte {
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	return append(dst, ',')
}

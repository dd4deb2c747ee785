package parquetenc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// fileWriter writes one Parquet file straight to its io.Writer: the magic,
// each row group column by column as it is handed over (only one column's
// page is in memory at a time), then the page indexes and the footer. It
// knows this package's two schemas only: flat, every column required
// (timestamp) or optional, so definition levels are 0 or 1 and there are no
// repetition levels.
type fileWriter struct {
	w         io.Writer
	off       int64
	err       error
	cols      []column
	comp      *PageCompressor
	pageBytes int
	pageRows  int
	groups    []format.RowGroup
	colIdx    [][]format.ColumnIndex // by row group, then column
	offIdx    [][]format.OffsetIndex
	rows      int64
	proto     thrift.CompactProtocol
	*pageBufs // the PageCompressor's
}

// pageBufs are the buffers a page is built, encoded and compressed in. A
// PageCompressor holds them, so encoders that share one (and never run at
// once) share these too: one set of page buffers per instance.
type pageBufs struct {
	pg    page    // the data page being filled
	dict  []byte  // the dictionary page's values
	enc   []byte  // encoded levels or values, scratch
	body  []byte  // a page's uncompressed bytes
	zbuf  []byte  // a page's compressed bytes
	remap []int32 // interned id -> dictionary index
	i32   []int32 // INT32 values of a delta page
}

// Page limits. maxPageRows keeps the page index useful on columns that
// encode to almost nothing (a sorted timestamp is about a byte a row, so a
// 128 KiB page would hold a whole file); parquet-mr uses the same bound.
const (
	maxPageRows = 20000
	// maxIndexBound is the longest string min/max kept in the page index;
	// longer bounds are truncated (min) or truncated and incremented (max).
	maxIndexBound = 64
	// maxStatBytes is the longest string min/max kept exactly in a column
	// colChunk's statistics; beyond it the chunk has no string statistics.
	maxStatBytes = 1024
	// dictMaxBytes bounds a dictionary page; beyond it a column is plain.
	dictMaxBytes = 1 << 20
)

var magic = []byte("PAR1")

func (fw *fileWriter) reset(w io.Writer, cols []column, comp *PageCompressor, pageBytes int) {
	b := &comp.bufs
	b.dict, b.enc, b.body, b.zbuf, b.remap, b.i32 = b.dict[:0], b.enc[:0], b.body[:0], b.zbuf[:0], b.remap[:0], b.i32[:0]
	*fw = fileWriter{w: w, cols: cols, comp: comp, pageBytes: pageBytes, pageRows: maxPageRows, pageBufs: b}
	fw.write(magic)
}

func (fw *fileWriter) write(b []byte) {
	if fw.err != nil {
		return
	}
	n, err := fw.w.Write(b)
	fw.off += int64(n)
	fw.err = err
}

func (fw *fileWriter) writeThrift(v any) int {
	b, err := thrift.Marshal(&fw.proto, v)
	if err != nil && fw.err == nil {
		fw.err = err
	}
	fw.write(b)
	return len(b)
}

// page is a data page being filled, row by row.
type page struct {
	levels   []uint8  // definition levels: 1 set, 0 null
	ints     []int64  // DELTA_BINARY_PACKED values
	idx      []int32  // dictionary indexes
	plain    []byte   // PLAIN values; DELTA_LENGTH_BYTE_ARRAY: the bytes alone
	offs     []uint32 // DELTA_LENGTH_BYTE_ARRAY: value start offsets into plain, then its end
	first    int64    // index of its first row in the row group
	rows     int
	nulls    int
	min, max []byte // plain-encoded bounds (strings: views into the table)
	imin     int64
	imax     int64
	hasBound bool
}

func (p *page) clear(first int64) {
	*p = page{levels: p.levels[:0], ints: p.ints[:0], idx: p.idx[:0], plain: p.plain[:0], offs: append(p.offs[:0], 0), first: first}
}

// colChunk accumulates what a column chunk's metadata and indexes need.
type colChunk struct {
	uncompressed, compressed int64
	nulls                    int64
	min, max                 []byte
	imin, imax               int64
	hasBound                 bool
	strBoundsOK              bool
	ci                       format.ColumnIndex
	oi                       format.OffsetIndex
}

// writeGroup writes the rows of t in the order perm as one row group.
func (fw *fileWriter) writeGroup(t *table, perm []uint32) error {
	rg := format.RowGroup{
		NumRows:        int64(len(perm)),
		FileOffset:     fw.off,
		Ordinal:        int16(min(len(fw.groups), 1<<15-1)),
		SortingColumns: []format.SortingColumn{{ColumnIdx: 0}},
		Columns:        make([]format.ColumnChunk, len(fw.cols)),
	}
	cis := make([]format.ColumnIndex, len(fw.cols))
	ois := make([]format.OffsetIndex, len(fw.cols))
	for c := range fw.cols {
		var ch colChunk
		rg.Columns[c] = fw.writeColumn(&fw.cols[c], &t.cols[c], perm, &ch)
		rg.TotalByteSize += ch.uncompressed
		rg.TotalCompressedSize += ch.compressed
		cis[c], ois[c] = ch.ci, ch.oi
	}
	fw.groups = append(fw.groups, rg)
	fw.colIdx = append(fw.colIdx, cis)
	fw.offIdx = append(fw.offIdx, ois)
	fw.rows += int64(len(perm))
	return fw.err
}

// writeColumn writes one column chunk: a dictionary page when the column's
// interned values repeat enough to pay for one, then its data pages.
func (fw *fileWriter) writeColumn(col *column, d *colData, perm []uint32, ch *colChunk) format.ColumnChunk {
	md := format.ColumnMetaData{
		Type:         col.physical(),
		PathInSchema: []string{col.name},
		Codec:        fw.comp.id(),
		NumValues:    int64(len(perm)),
	}
	start := fw.off
	ch.strBoundsOK = true
	ch.ci.BoundaryOrder = format.Unordered
	if col.kind == colTime {
		ch.ci.BoundaryOrder = format.Ascending // rows are sorted by it
	}
	optional := col.kind != colTime
	var valueEnc format.Encoding
	switch {
	case col.kind == colTime || col.kind == colInt && col.delta:
		valueEnc = format.DeltaBinaryPacked
	case col.kind == colDict && useDict(d):
		valueEnc = format.RLEDictionary
		md.DictionaryPageOffset = fw.off
		fw.writeDictionary(d, ch)
	case col.dlba:
		valueEnc = format.DeltaLengthByteArray
	default:
		valueEnc = format.Plain
	}
	md.DataPageOffset = fw.off
	if optional {
		md.Encoding = append(md.Encoding, format.RLE)
	}
	if valueEnc == format.RLEDictionary {
		md.Encoding = append(md.Encoding, format.Plain)
	}
	md.Encoding = append(md.Encoding, valueEnc)

	p := &fw.pg
	p.clear(0)
	for i, r := range perm {
		if p.rows >= fw.pageRows || len(p.plain)+4*len(p.idx)+8*len(p.ints) >= fw.pageBytes {
			fw.flushPage(col, valueEnc, optional, ch)
			p.clear(int64(i))
		}
		fw.addRow(col, d, r, valueEnc)
	}
	if p.rows > 0 || len(perm) == 0 {
		fw.flushPage(col, valueEnc, optional, ch)
	}

	md.TotalUncompressedSize = ch.uncompressed
	md.TotalCompressedSize = ch.compressed
	md.Statistics = fw.chunkStats(col, ch)
	return format.ColumnChunk{FileOffset: start, MetaData: md}
}

// useDict decides dictionary encoding for an interned column: only when each
// distinct value is used about four times or more, since a dictionary of
// mostly unique values (paths with ids, upstream hosts of a large fleet) costs
// the values once plus an index a row, which compresses worse than plain.
func useDict(d *colData) bool {
	distinct := len(d.ends)
	if distinct == 0 || len(d.data)+4*distinct > dictMaxBytes {
		return false
	}
	present := 0
	for _, id := range d.ids {
		if id != 0 {
			present++
		}
	}
	return distinct*4 <= present || distinct <= 2
}

// writeDictionary writes the dictionary page of an interned column: its
// values in order of first use in the file's row order, so that indexes run
// small at the start of the colChunk. fw.remap maps interned ids to indexes.
func (fw *fileWriter) writeDictionary(d *colData, ch *colChunk) {
	n := len(d.ends)
	fw.remap = append(fw.remap[:0], make([]int32, n+1)...)
	fw.dict = fw.dict[:0]
	for i := range n {
		v := d.data[d.start(uint32(i)):d.ends[i]]
		fw.dict = binary.LittleEndian.AppendUint32(fw.dict, uint32(len(v)))
		fw.dict = append(fw.dict, v...)
		fw.remap[i+1] = int32(i)
	}
	fw.writePage(format.PageHeader{
		Type: format.DictionaryPage,
		DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{
			NumValues: int32(n),
			Encoding:  format.Plain,
		}),
	}, fw.dict, ch)
}

// addRow appends row r of d to the page.
func (fw *fileWriter) addRow(col *column, d *colData, r uint32, enc format.Encoding) {
	p := &fw.pg
	p.rows++
	switch col.kind {
	case colTime, colInt:
		if col.kind == colInt && d.null[r] {
			p.levels = append(p.levels, 0)
			p.nulls++
			return
		}
		if col.kind == colInt {
			p.levels = append(p.levels, 1)
		}
		v := d.ints[r]
		if !p.hasBound || v < p.imin {
			p.imin = v
		}
		if !p.hasBound || v > p.imax {
			p.imax = v
		}
		p.hasBound = true
		switch {
		case enc == format.DeltaBinaryPacked:
			p.ints = append(p.ints, v)
		case col.int32:
			p.plain = binary.LittleEndian.AppendUint32(p.plain, uint32(v))
		default:
			p.plain = binary.LittleEndian.AppendUint64(p.plain, uint64(v))
		}
		return
	}
	var v []byte
	if col.kind == colDict {
		id := d.ids[r]
		if id == 0 {
			p.levels = append(p.levels, 0)
			p.nulls++
			return
		}
		v = d.data[d.start(id-1):d.ends[id-1]]
		if enc == format.RLEDictionary {
			p.idx = append(p.idx, fw.remap[id])
		}
	} else {
		if d.null[r] {
			p.levels = append(p.levels, 0)
			p.nulls++
			return
		}
		v = d.data[d.start(r):d.ends[r]]
	}
	p.levels = append(p.levels, 1)
	switch enc {
	case format.Plain:
		p.plain = binary.LittleEndian.AppendUint32(p.plain, uint32(len(v)))
		p.plain = append(p.plain, v...)
	case format.DeltaLengthByteArray:
		p.plain = append(p.plain, v...)
		p.offs = append(p.offs, uint32(len(p.plain)))
	}
	if !p.hasBound || bytes.Compare(v, p.min) < 0 {
		p.min = v
	}
	if !p.hasBound || bytes.Compare(v, p.max) > 0 {
		p.max = v
	}
	p.hasBound = true
}

// flushPage encodes, compresses and writes the page, and records it in the
// colChunk's statistics and page indexes.
func (fw *fileWriter) flushPage(col *column, enc format.Encoding, optional bool, ch *colChunk) {
	p := &fw.pg
	body := fw.body[:0]
	if optional {
		fw.enc, _ = (&rle.Encoding{BitWidth: 1}).EncodeLevels(fw.enc, p.levels)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(fw.enc)))
		body = append(body, fw.enc...)
	}
	switch enc {
	case format.DeltaBinaryPacked:
		if col.int32 {
			fw.i32 = fw.i32[:0]
			for _, v := range p.ints {
				fw.i32 = append(fw.i32, int32(v))
			}
			fw.enc, _ = (&delta.BinaryPackedEncoding{}).EncodeInt32(fw.enc, fw.i32)
		} else {
			fw.enc, _ = (&delta.BinaryPackedEncoding{}).EncodeInt64(fw.enc, p.ints)
		}
		body = append(body, fw.enc...)
	case format.RLEDictionary:
		fw.enc, _ = (&rle.DictionaryEncoding{}).EncodeInt32(fw.enc, p.idx)
		body = append(body, fw.enc...)
	case format.DeltaLengthByteArray:
		fw.enc, _ = (&delta.LengthByteArrayEncoding{}).EncodeByteArray(fw.enc, p.plain, p.offs)
		body = append(body, fw.enc...)
	default:
		body = append(body, p.plain...)
	}
	fw.body = body

	loc := format.PageLocation{Offset: fw.off, FirstRowIndex: p.first}
	n := fw.writePage(format.PageHeader{
		Type: format.DataPage,
		DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues:               int32(p.rows),
			Encoding:                enc,
			DefinitionLevelEncoding: format.RLE,
			RepetitionLevelEncoding: format.RLE,
			Statistics:              format.Statistics{NullCount: int64(p.nulls)},
		}),
	}, body, ch)
	loc.CompressedPageSize = int32(n)
	ch.oi.PageLocations = append(ch.oi.PageLocations, loc)

	// Page index and colChunk bounds.
	ch.nulls += int64(p.nulls)
	ch.ci.NullCounts = append(ch.ci.NullCounts, int64(p.nulls))
	ch.ci.NullPages = append(ch.ci.NullPages, !p.hasBound)
	if !p.hasBound {
		ch.ci.MinValues = append(ch.ci.MinValues, []byte{})
		ch.ci.MaxValues = append(ch.ci.MaxValues, []byte{})
		return
	}
	if col.kind == colTime || col.kind == colInt {
		ch.ci.MinValues = append(ch.ci.MinValues, col.appendInt(nil, p.imin))
		ch.ci.MaxValues = append(ch.ci.MaxValues, col.appendInt(nil, p.imax))
		if !ch.hasBound || p.imin < ch.imin {
			ch.imin = p.imin
		}
		if !ch.hasBound || p.imax > ch.imax {
			ch.imax = p.imax
		}
		ch.hasBound = true
		return
	}
	lo, hi := truncMin(p.min), truncMax(p.max)
	ch.ci.MinValues = append(ch.ci.MinValues, append([]byte(nil), lo...))
	ch.ci.MaxValues = append(ch.ci.MaxValues, append([]byte(nil), hi...))
	if len(p.min) > maxStatBytes || len(p.max) > maxStatBytes {
		ch.strBoundsOK = false
	}
	if !ch.hasBound || bytes.Compare(p.min, ch.min) < 0 {
		ch.min = p.min
	}
	if !ch.hasBound || bytes.Compare(p.max, ch.max) > 0 {
		ch.max = p.max
	}
	ch.hasBound = true
}

// writePage compresses body and writes it under header h; it returns the
// bytes written, header included.
func (fw *fileWriter) writePage(h format.PageHeader, body []byte, ch *colChunk) int {
	fw.zbuf = fw.comp.compress(fw.zbuf, body)
	h.UncompressedPageSize = int32(len(body))
	h.CompressedPageSize = int32(len(fw.zbuf))
	hn := fw.writeThrift(&h)
	fw.write(fw.zbuf)
	ch.uncompressed += int64(hn + len(body))
	ch.compressed += int64(hn + len(fw.zbuf))
	return hn + len(fw.zbuf)
}

// chunkStats are the column chunk's statistics: exact min/max (strings only
// when short enough to be worth keeping) and the null count.
func (fw *fileWriter) chunkStats(col *column, ch *colChunk) format.Statistics {
	st := format.Statistics{NullCount: ch.nulls}
	if !ch.hasBound {
		return st
	}
	if col.kind == colTime || col.kind == colInt {
		st.MinValue, st.MaxValue = col.appendInt(nil, ch.imin), col.appendInt(nil, ch.imax)
		// Signed order is the type-defined order of integers: old readers
		// may use the deprecated fields too.
		st.Min, st.Max = st.MinValue, st.MaxValue
		return st
	}
	if ch.strBoundsOK {
		st.MinValue = append([]byte(nil), ch.min...)
		st.MaxValue = append([]byte(nil), ch.max...)
	}
	return st
}

// appendInt appends v in the column's plain encoding.
func (c *column) appendInt(dst []byte, v int64) []byte {
	if c.int32 {
		return binary.LittleEndian.AppendUint32(dst, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(v))
}

// truncMin is a lower bound of the UTF-8 string v of at most maxIndexBound
// bytes: its longest prefix that ends on a character boundary.
func truncMin(v []byte) []byte {
	if len(v) <= maxIndexBound {
		return v
	}
	n := maxIndexBound
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n]
}

// truncMax is an upper bound of the UTF-8 string v of at most maxIndexBound
// bytes, itself valid UTF-8: a prefix of whole characters whose last one that
// can be is incremented (bytes compare unsigned, as UTF-8 code points do). A
// value that cannot be shortened that way is returned whole.
func truncMax(v []byte) []byte {
	if len(v) <= maxIndexBound {
		return v
	}
	p := truncMin(v)
	for len(p) > 0 {
		r, n := utf8.DecodeLastRune(p)
		p = p[:len(p)-n]
		if r == utf8.RuneError && n <= 1 || r == utf8.MaxRune {
			continue
		}
		r++
		if r == 0xd800 { // surrogates are not characters
			r = 0xe000
		}
		if len(p)+utf8.RuneLen(r) <= maxIndexBound { // U+FFFF+1 takes a byte more
			return utf8.AppendRune(append([]byte(nil), p...), r)
		}
	}
	return v
}

// close writes the page indexes and the footer.
func (fw *fileWriter) close(createdBy string) error {
	for g := range fw.groups {
		for c := range fw.cols {
			cc := &fw.groups[g].Columns[c]
			cc.ColumnIndexOffset = fw.off
			cc.ColumnIndexLength = int32(fw.writeThrift(&fw.colIdx[g][c]))
		}
	}
	for g := range fw.groups {
		for c := range fw.cols {
			cc := &fw.groups[g].Columns[c]
			cc.OffsetIndexOffset = fw.off
			cc.OffsetIndexLength = int32(fw.writeThrift(&fw.offIdx[g][c]))
		}
	}
	orders := make([]format.ColumnOrder, len(fw.cols))
	for i := range orders {
		orders[i] = format.ColumnOrder{Value: new(format.TypeDefinedOrder)}
	}
	n := fw.writeThrift(&format.FileMetaData{
		Version:      1,
		Schema:       schemaElements(fw.cols),
		NumRows:      fw.rows,
		RowGroups:    fw.groups,
		CreatedBy:    createdBy,
		ColumnOrders: orders,
	})
	fw.write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
	fw.write(magic)
	if fw.err != nil {
		return fmt.Errorf("parquetenc: %w", fw.err)
	}
	return nil
}

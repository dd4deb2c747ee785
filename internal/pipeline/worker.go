package pipeline

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/fieldredact"
	"github.com/envoy-s3/envoy_s3/internal/firelens"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/internal/metricsink"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/envoy-s3/envoy_s3/internal/redact"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// fields are the record values the pipeline reads, found in one pass over the map.
type fields struct {
	log       []byte
	logKind   uint8 // 0 absent, 1 str/bin, 2 another type
	partial   bool
	meta      [len(metaKeys)][]byte
	metaFound [len(metaKeys)]bool
}

const (
	logAbsent uint8 = iota
	logString
	logOther
)

// scan reads every key of rec once; the first occurrence of a key wins, as in Map.Get.
func (f *fields) scan(rec chunk.Map, logKey string) {
	*f = fields{}
	it := rec.Iter()
	for it.Next() {
		k := it.Key()
		if kk := k.Kind(); kk != chunk.KindStr && kk != chunk.KindBin {
			continue
		}
		name := k.Bytes()
		if f.logKind == logAbsent && string(name) == logKey {
			v := it.Value()
			if vk := v.Kind(); vk == chunk.KindStr || vk == chunk.KindBin {
				f.log, f.logKind = v.Bytes(), logString
			} else {
				f.logKind = logOther
			}
			continue
		}
		if string(name) == "partial_message" {
			f.partial = true
			continue
		}
		if len(name) >= len(metaByLen) || metaByLen[len(name)] == 0 {
			continue
		}
		if i := metaByLen[len(name)] - 1; !f.metaFound[i] && string(name) == metaKeys[i].key {
			f.metaFound[i] = true
			if v := it.Value(); v.Kind() == chunk.KindStr || v.Kind() == chunk.KindBin {
				f.meta[i] = v.Bytes()
			}
		}
	}
}

// metaByLen[n] is one more than the index in metaKeys of the key n bytes long,
// or 0: the keys' lengths differ, so a record key is compared with one of them
// at most.
var metaByLen = func() (t [32]uint8) {
	for i, m := range metaKeys {
		if len(m.key) >= len(t) || t[len(m.key)] != 0 {
			panic("pipeline: metaKeys need distinct lengths below 32")
		}
		t[len(m.key)] = uint8(i + 1)
	}
	return t
}()

// part collects one flush's lines for one partition.
type part struct {
	key   []byte
	meta  batch.Meta
	lines []byte // this flush's lines not yet staged
	n     int    // their records
	used  bool
	// staged are this flush's earlier lines, written ahead to the worker's stage
	// (spoolStore) once lines reached spillBytes; stagedRaw is their bytes.
	staged    []spool.Piece
	stagedRaw int64
}

// spillBytes is how many bytes of lines a partition holds in memory during a flush
// before they are written ahead to the stage: with it, a flush's memory stays at
// about this much per partition whatever the size of Fluent Bit's chunk (2 MiB of
// msgpack normalises to about 3 MiB of lines), and segments, which upload workers
// read whole to check them, stay this small too. 128 KiB is 4-8 writes to the stage per
// MiB of lines; 256 KiB measured the same.
const spillBytes = 128 << 10

// worker is the scratch state of one Flush call; workers are pooled, so buffers and
// maps survive from flush to flush and steady state allocates nothing per record.
type worker struct {
	p       *Pipeline
	chunk   *spool.ChunkID // the chunk being flushed, when the store remembers chunks
	chunkID spool.ChunkID
	tag     []byte
	dec     chunk.Decoder
	ev      chunk.Event
	parser  accesslog.Parser
	entry   accesslog.Entry
	json    chunk.JSONEncoder // redacting
	plain   chunk.JSONEncoder // verbatim, for the parser
	sc      redact.Scratch
	arena   []byte
	fsc     fieldredact.Scratch
	line    []byte
	rec     []byte
	pkey    []byte
	vars    keyformat.Vars
	vbuf    []byte // redacted vars (redactVars)
	parts   map[string]*part
	touched []*part
	f       fields
	last    lastPart
	// metrics emf: the source of the last records and the tag and metadata it was
	// made from (copies, so it serves flush after flush), the request handed to the
	// aggregator, and scratch.
	msrc    *emf.Source
	mtag    []byte
	mmeta   [metaSource][]byte
	mreq    emf.Request
	marena  []byte
	mpend   metricsink.Pending // this flush's metrics, observed once it is accepted
	n       flushCounts
	arrival time.Time // the flush's time of arrival, taken when a record needs it

	ftag      string // the flush's tag (w.tag changes while replaying pieces)
	inTx      bool   // the flush holds the Reassembler's transaction
	replaying bool   // writing a reassembled record or a piece as it came

	inspect func(Placed) // set by Inspect: records are reported, not stored

	stager   stager       // the store, when it takes lines ahead of commit
	stage    *spool.Stage // taken at the flush's first spill, given back at commit
	stageErr bool         // staging failed in this flush: its lines stay in memory
}

// flushCounts are one flush's counters: added to the instance's only when the flush
// is accepted, so a chunk answered RETRY is counted once, when it finally is.
type flushCounts struct {
	records, access, other, dropped, logBytes int64
	badTime                                   int64
	badTimeValue                              chunk.Value // the first unusable event time, for the log
	panicked                                  int64       // records lost to an internal error
	panicWhy                                  string      // the first one's panic and stack, on one line
}

// guarded processes one record. A panic in it is a bug that this record's content
// triggers; it would strike again at every retry of the chunk, so only this record
// is lost (counted in bad, reported with its cause), never its chunk.
func (w *worker) guarded(p *Pipeline) {
	defer func() {
		if r := recover(); r != nil {
			w.n.panicked++
			if w.n.panicWhy == "" {
				why := strings.Join(strings.Fields(fmt.Sprintf("%v: %s", r, debug.Stack())), " ")
				w.n.panicWhy = why[:min(len(why), 2000)]
			}
		}
	}()
	if p.recordHook != nil {
		p.recordHook(&w.ev)
	}
	w.record(p)
}

// lastPart remembers the previous record's partition: records of one chunk nearly
// always share their metadata and time bucket, so rendering the key prefix and
// looking it up once per run of such records is enough. It points into the current
// chunk and is forgotten at every flush.
type lastPart struct {
	pt     *part
	stream batch.Stream
	bucket int64
	meta   [metaSource][]byte // cluster, task ARN, task definition, container name
}

func (p *Pipeline) newWorker() *worker {
	w := &worker{p: p, parts: make(map[string]*part)}
	w.stager, _ = p.store.(stager)
	w.sc.Defer = true // redactions are counted when the flush is accepted
	w.parser.Format = p.format
	if p.textRules {
		// Other records: every string, keys included, and JSON text inside strings
		// (an app's JSON log line) value by value.
		w.json.Filter = w.redactText
		w.json.FilterKeys = true
	}
	if !p.jsonKeys.Empty() {
		// A record parsed upstream: its own secret-named keys.
		w.json.SecretKey = p.jsonKeys.Match
		w.json.Secret = func(dst, s []byte) []byte { return p.redactor.Whole(&w.sc, dst, s) }
	}
	return w
}

// redactText redacts a string value: JSON text (an object or array, such as an app's
// JSON log line) value by value with the secret-named keys, anything else as text,
// where members with secret names are found too (JSON cut short or after a prefix).
func (w *worker) redactText(dst, s []byte) []byte {
	p := w.p
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	if i < len(s) && (s[i] == '{' || s[i] == '[') {
		return p.redactor.JSON(&w.sc, dst, s, p.jsonKeys)
	}
	return p.redactor.Text(&w.sc, dst, s, p.jsonKeys)
}

// begin resets per-flush state; partitions not used by the last flush are forgotten
// when there are many, so a worker's memory follows the live partitions.
func (w *worker) begin(tag string) {
	w.chunk = nil
	w.tag = append(w.tag[:0], tag...)
	w.ftag = tag
	for k, pt := range w.parts {
		if !pt.used && len(w.parts) > 32 {
			delete(w.parts, k)
		}
		pt.used = false
		pt.lines = pt.lines[:0]
		if cap(pt.lines) > 4*spillBytes && w.stager != nil {
			// A huge line grew it: not kept. Without a stage (store_dir off) a
			// flush holds its chunk's lines anyway, and regrowing them for
			// every flush would only add garbage.
			pt.lines = nil
		}
		pt.n = 0
		clear(pt.staged)
		pt.staged, pt.stagedRaw = pt.staged[:0], 0
	}
	w.touched = w.touched[:0]
	w.last = lastPart{}
	w.n = flushCounts{}
	w.mpend.Reset()
	w.arrival = time.Time{}
	w.sc.Discard()
}

// record turns the current event into one NDJSON line in its partition.
func (w *worker) record(p *Pipeline) {
	w.n.records++
	if w.ev.TimeInvalid {
		// The event time only picks the partition (and a CloudWatch event's
		// time); the record itself is written unchanged. Giving it the time of
		// arrival keeps it, instead of refusing its whole chunk.
		if w.arrival.IsZero() {
			w.arrival = p.now().UTC()
		}
		w.ev.Time = w.arrival
		if w.n.badTime == 0 {
			w.n.badTimeValue = w.ev.TimeValue
		}
		w.n.badTime++
	}
	w.process(p)
}

// process writes the current event: a record as it came in, a reassembled one, or a
// piece of a split line written as it came (replaying).
func (w *worker) process(p *Pipeline) {
	rec := w.ev.Record
	f := &w.f
	f.scan(rec, p.cfg.LogKey)
	if f.partial && !w.replaying && w.hold(p) {
		return
	}
	raw := f.log
	w.entry.Reset()
	access := false
	if !f.partial {
		switch f.logKind {
		case logString:
			access = w.parser.Parse(raw, &w.entry)
		case logAbsent:
			// Parsed upstream: the access fields are the record's own keys.
			w.rec = w.plain.AppendMap(w.rec[:0], rec)
			raw = w.rec
			access = w.parser.Parse(raw, &w.entry)
		}
	}
	if raw != nil {
		w.n.logBytes += int64(len(raw))
	}
	stream := batch.StreamAccess
	w.line = w.line[:0]
	switch {
	case access && p.cfg.OutputFormat == config.OutputRaw:
		w.n.access++
		w.line = w.redactText(w.line, raw)
	case access:
		w.n.access++
		w.metaFields()
		p.fields.Entry(&w.sc, &w.fsc, &w.entry)
		w.line = w.entry.AppendJSON(w.line)
	case p.cfg.OtherLogs == config.OtherDrop:
		w.n.dropped++
		if w.inspect != nil {
			w.inspect(Placed{Dest: DestDropped})
		}
		return
	case p.cfg.OtherLogs == config.OtherCloudWatch:
		// The log line is the message; a record without one is sent whole, as JSON.
		w.n.other++
		stream = batch.StreamCloudWatch
		msg := raw
		if f.logKind != logString {
			w.rec = w.plain.AppendMap(w.rec[:0], rec)
			msg = w.rec
		}
		if p.textRules {
			w.arena = w.redactText(w.arena[:0], msg)
			msg = w.arena
		}
		w.line = cwlogs.AppendLine(w.line, w.ev.Time, msg)
	default:
		w.n.other++
		stream = batch.StreamOther
		if p.objFormat == batch.FormatParquet {
			// The Parquet schema has the event time; NDJSON keeps the record as it came.
			w.line = parquetenc.AppendOtherStart(w.line, w.ev.Time)
			w.line = append(w.json.AppendMap(w.line, rec), ']')
		} else {
			w.line = w.json.AppendMap(w.line, rec)
		}
	}
	w.line = append(w.line, '\n')
	w.place(stream)
	if access && p.metrics != nil {
		w.observe(&w.entry)
	}
}

// place appends w.line to the partition the record's key prefix names.
func (w *worker) place(stream batch.Stream) {
	p := w.p
	m := &w.f.meta
	tmpl, unit := p.access, p.accessUnit
	if stream == batch.StreamOther {
		tmpl, unit = p.other, p.otherUnit
	}
	var bucket int64
	if unit > 0 {
		bucket = w.ev.Time.UnixNano() / int64(unit)
	}
	if l := &w.last; l.pt != nil && l.stream == stream && l.bucket == bucket &&
		bytes.Equal(l.meta[metaCluster], m[metaCluster]) && bytes.Equal(l.meta[metaTaskARN], m[metaTaskARN]) &&
		bytes.Equal(l.meta[metaTaskDef], m[metaTaskDef]) && bytes.Equal(l.meta[metaContainer], m[metaContainer]) {
		l.pt.lines = append(l.pt.lines, w.line...)
		l.pt.n++
		if len(l.pt.lines) >= spillBytes {
			w.spill(l.pt)
		}
		return
	}
	w.vars = keyformat.Vars{
		Tag:     w.tag,
		Cluster: firelens.ClusterName(m[metaCluster]),
		TaskID:  firelens.TaskID(m[metaTaskARN]),
		Family:  firelens.Family(m[metaTaskDef]),
	}
	w.vars.Container = firelens.ContainerName(m[metaContainer], w.vars.Family)
	if len(w.vars.TaskID) == 0 || len(w.vars.Container) == 0 {
		c, id, _ := firelens.ParseTag(w.tag)
		if len(w.vars.TaskID) == 0 {
			w.vars.TaskID = id
		}
		if len(w.vars.Container) == 0 {
			w.vars.Container = c
		}
	}
	w.redactVars(&w.vars)
	capVars(&w.vars)
	w.pkey = append(w.pkey[:0], byte(stream))
	if stream == batch.StreamCloudWatch {
		group, logStream := p.cw.Names(&w.vars) // one batch per log group and stream
		w.pkey = append(append(append(w.pkey, group...), 0), logStream...)
	} else {
		w.pkey = tmpl.AppendPartition(w.pkey, &w.vars, w.ev.Time)
	}
	if w.inspect != nil {
		w.inspect(Placed{Dest: destNames[stream], Partition: w.pkey[1:], Line: w.line[:len(w.line)-1]})
		return
	}
	pt := w.parts[string(w.pkey)]
	if pt == nil {
		pt = &part{key: append([]byte(nil), w.pkey...)}
		w.parts[string(pt.key)] = pt
	}
	if !pt.used {
		pt.used = true
		w.touched = append(w.touched, pt)
		setString(&pt.meta.Tag, w.vars.Tag)
		setString(&pt.meta.Cluster, w.vars.Cluster)
		setString(&pt.meta.TaskID, w.vars.TaskID)
		setString(&pt.meta.Family, w.vars.Family)
		setString(&pt.meta.Container, w.vars.Container)
		pt.meta.Stream = stream
		pt.meta.Format = batch.FormatJSONLines
		if !stream.IsCloudWatch() {
			pt.meta.Format = p.objFormat
		}
		pt.meta.FirstTime = w.ev.Time
	}
	pt.lines = append(pt.lines, w.line...)
	pt.n++
	w.last = lastPart{pt: pt, stream: stream, bucket: bucket}
	copy(w.last.meta[:], m[:metaSource])
	if len(pt.lines) >= spillBytes {
		w.spill(pt)
	}
}

// spill writes pt's lines ahead to the worker's stage. If staging fails, the flush
// keeps the rest of its lines in memory, as it would without a stage: the error
// costs memory, never records.
func (w *worker) spill(pt *part) {
	if w.stager == nil || w.stageErr {
		return
	}
	if w.stage == nil {
		st, err := w.stager.takeStage()
		if err != nil {
			w.stageFailed(err)
			return
		}
		w.stage = st
	}
	pc, err := w.stage.Write(pt.lines, pt.n)
	if err != nil {
		w.stageFailed(err)
		return
	}
	if w.p.stageFailing.CompareAndSwap(true, false) {
		w.p.log.Infof("flushes stage their lines in store_dir again")
	}
	pt.staged = append(pt.staged, pc)
	pt.stagedRaw += pc.Raw
	pt.lines, pt.n = pt.lines[:0], 0
}

// stageFailed keeps the rest of the flush's lines in memory, and says so once until
// staging works again.
func (w *worker) stageFailed(err error) {
	w.stageErr = true
	if w.p.stageFailing.CompareAndSwap(false, true) {
		w.p.log.Warnf("cannot stage flushes' lines in store_dir (%v): holding them in memory until it works again, which costs memory, not records; free space in store_dir", err)
	}
}

// giveStage returns the flush's stage, once its pieces are committed or abandoned.
func (w *worker) giveStage() {
	if w.stage != nil {
		w.stager.giveStage(w.stage)
		w.stage = nil
	}
	w.stageErr = false
}

// metaFields copies the FireLens metadata of the record into the entry. The record's
// own keys describe the task that really emitted the line, so they win over keys of
// the same name found inside the line; for records parsed upstream both are the same.
func (w *worker) metaFields() {
	for i, m := range metaKeys {
		if w.f.metaFound[i] && w.f.meta[i] != nil {
			w.entry.Fields[m.id] = accesslog.Field{Kind: accesslog.String, Str: w.f.meta[i]}
		}
	}
}

// metaKeys are the FireLens keys copied into normalised records, in schema order.
var metaKeys = [...]struct {
	id  accesslog.FieldID
	key string
}{
	metaCluster:   {accesslog.EcsCluster, "ecs_cluster"},
	metaTaskARN:   {accesslog.EcsTaskArn, "ecs_task_arn"},
	metaTaskDef:   {accesslog.EcsTaskDefinition, "ecs_task_definition"},
	metaContainer: {accesslog.ContainerName, "container_name"},
	metaSource:    {accesslog.Source, "source"},
}

const (
	metaCluster = iota
	metaTaskARN
	metaTaskDef
	metaContainer
	metaSource
)

// setString stores b in *s, allocating only when the value changed.
func setString(s *string, b []byte) {
	if *s != string(b) {
		*s = string(b)
	}
}

// maxVarLen bounds each record variable (tag, cluster, task, family, container) a
// batch remembers. Keys use at most keyformat.MaxValueLen bytes of each and
// CloudWatch names 512, so nothing is lost; without a bound, a record with absurd
// metadata would make its batch's description too large for the spool, and its
// chunk could never be stored.
const maxVarLen = 1024

func capVars(v *keyformat.Vars) {
	for _, b := range []*[]byte{&v.Tag, &v.Cluster, &v.TaskID, &v.Family, &v.Container} {
		*b = capUTF8(*b, maxVarLen)
	}
}

// capUTF8 cuts b to at most n bytes, at a character boundary.
func capUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

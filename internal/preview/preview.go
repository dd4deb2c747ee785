package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
	"github.com/envoy-s3/envoy_s3/internal/pipeline"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Stand-ins for the two keys a preview does not need but the plugin requires.
const (
	StandInBucket = "preview-bucket"
	StandInRegion = "us-east-1"
)

// DefaultTag is the tag records get: FireLens names the Service Connect proxy's
// records ecs-service-connect-<suffix>-firelens-<task id>.
const DefaultTag = "ecs-service-connect-preview-firelens-0123456789abcdef0123456789abcdef"

// Options of one preview run.
type Options struct {
	Settings []string // key=value pairs, as in the task definition's options
	DailyGB  float64  // GB a day the task sends to CloudWatch Logs today; 0 skips the monthly estimate
	// RetentionDays is how long the bucket's lifecycle rule keeps objects, for the storage
	// of the monthly estimate; 0 is the recommended rule's cost.LifecycleDays.
	RetentionDays float64
	Tag           string // DefaultTag when empty
	Now           time.Time
	Records       io.Writer // per-record report; nil for the summary only
	JSON          bool      // per-record report as JSON lines
	Env           func(string) string
}

// ErrSetting means a -o option is not key=value.
var ErrSetting = errors.New("preview: an option must be key=value")

// Summary is what a run saw.
type Summary struct {
	Input       string // KindLines, KindFireLens or KindCloudWatch
	Region      string
	StandIns    []string // keys given a stand-in value
	Config      *config.Config
	Records     int64
	Access      int64
	Other       int64 // to S3 under other_key_format
	CloudWatch  int64 // other records to CloudWatch Logs
	Dropped     int64
	Bad         int64
	Kinds       map[string]int64 // access records by kind/protocol, e.g. "http HTTP/1.1"
	Redactions  redact.Counts
	Examples    [redact.NumRules]*Example
	LogBytes    int64 // log lines, as CloudWatch would ingest them without the per-event overhead
	OtherLog    int64 // log bytes of records that still go to CloudWatch Logs
	WrittenRaw  int64 // NDJSON written to S3 (access and other), before compression
	Formats     []FormatSize
	Monthly     *cost.Monthly
	DailyGB     float64
	ObjectsDay  float64 // the upload_timeout floor on objects a day
	CloudPrices cost.Prices
	Metrics     *MetricsSize // with metrics emf
}

// MetricsSize is what one interval of route metrics holds when it sees the whole
// sample: custom metrics, and the EMF events that carry them.
type MetricsSize struct {
	Metrics    int
	Events     int64
	EventBytes int64
	Interval   time.Duration
}

// Example is one record before and after a rule, with the secret shown as ‹rule›.
type Example struct {
	Before, After string
}

// FormatSize is what the sample's objects take in one output format.
type FormatSize struct {
	Name       string // e.g. "json_lines gzip"
	Bytes      int64
	Objects    int64
	Configured bool
}

type refusePutter struct{}

func (refusePutter) Put(context.Context, string, delivery.Body) error {
	return errors.New("preview: uploads are disabled")
}

// Run previews in with opt and writes the per-record report to opt.Records.
func Run(in io.Reader, opt Options) (*Summary, error) {
	cfg, standIns, err := parseSettings(opt.Settings, opt.Env)
	if err != nil {
		return nil, err
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now().UTC()
	}
	if opt.Tag == "" {
		opt.Tag = DefaultTag
	}
	recs, kind, err := Read(in, cfg.LogKey, opt.Now)
	if err != nil {
		return nil, err
	}
	p, err := pipeline.New(cfg, pipeline.Options{Name: "preview", Log: flblog.NewWriter(io.Discard, "preview", flblog.Error), Putter: refusePutter{}, NoDelivery: true, Now: func() time.Time { return opt.Now }})
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())

	s := &Summary{Input: kind, Region: cfg.Region, StandIns: standIns, Config: cfg, Kinds: map[string]int64{}, DailyGB: opt.DailyGB}
	s.CloudPrices, _ = cost.For(cfg.Region)
	written := map[string]*part{} // per partition, for the stored sizes
	var order []string
	var enc chunk.Encoder
	var buf []byte
	rep := reporter{w: opt.Records, json: opt.JSON}
	ex := &exampler{settings: opt.Settings, env: opt.Env, tag: opt.Tag, now: opt.Now}
	defer ex.close()
	for _, r := range recs {
		buf, err = enc.AppendEvent(buf[:0], r.Time, nil, r.Fields)
		if err != nil {
			return nil, fmt.Errorf("preview: line %d: %w", r.Line, err)
		}
		before, redBefore := p.Stats(), p.Redactions()
		var placed pipeline.Placed
		p.Inspect(buf, opt.Tag, func(pl pipeline.Placed) {
			placed = pipeline.Placed{Dest: pl.Dest, Partition: append([]byte(nil), pl.Partition...), Line: append([]byte(nil), pl.Line...)}
		})
		after, redAfter := p.Stats(), p.Redactions()
		logBytes := after.LogBytes - before.LogBytes
		s.LogBytes += logBytes
		if after.Bad > before.Bad || placed.Dest == "" {
			s.Bad++
			rep.line(r.Line, "undecodable", "", nil)
			continue
		}
		s.Records++
		switch placed.Dest {
		case pipeline.DestAccess:
			s.Access++
			s.Kinds[kindOf(placed.Line)]++
		case pipeline.DestOther:
			s.Other++
		case pipeline.DestCloudWatch:
			s.CloudWatch++
			s.OtherLog += logBytes
		case pipeline.DestDropped:
			s.Dropped++
		}
		if err := ex.example(s, buf, redBefore, redAfter, placed.Line); err != nil {
			return nil, err
		}
		if placed.Dest == pipeline.DestAccess || placed.Dest == pipeline.DestOther {
			key := placed.Dest + "\x00" + string(placed.Partition)
			pt := written[key]
			if pt == nil {
				pt = &part{dest: placed.Dest}
				written[key] = pt
				order = append(order, key)
			}
			pt.lines = append(append(pt.lines, placed.Line...), '\n')
			pt.n++
			s.WrittenRaw += int64(len(placed.Line) + 1)
		}
		rep.line(r.Line, placed.Dest, where(cfg, placed), placed.Line)
	}
	if rep.err != nil {
		return nil, fmt.Errorf("preview: writing the report: %w", rep.err)
	}
	s.Redactions = p.Redactions()
	parts := make([]*part, 0, len(order))
	for _, k := range order {
		parts = append(parts, written[k])
	}
	if s.Formats, err = formatSizes(cfg, parts); err != nil {
		return nil, err
	}
	if st, interval, ok := p.InspectMetrics(); ok {
		s.Metrics = &MetricsSize{Metrics: st.LastMetrics, Events: st.Events, EventBytes: st.EventBytes, Interval: interval}
	}
	if opt.DailyGB > 0 {
		s.monthly(cfg, opt.RetentionDays)
	}
	return s, nil
}

// part is the NDJSON one partition of the sample would be written as.
type part struct {
	dest  string
	lines []byte
	n     int
}

func parseSettings(settings []string, env func(string) string) (*config.Config, []string, error) {
	vals := map[string]string{}
	var keys []string
	for _, kv := range settings {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("%w, not %q (for example: -o compression=zstd)", ErrSetting, kv)
		}
		vals[k] = strings.TrimSpace(v)
		keys = append(keys, k)
	}
	if env == nil {
		env = func(string) string { return "" }
	}
	var standIns []string
	if vals["bucket"] == "" {
		vals["bucket"] = StandInBucket
		standIns = append(standIns, "bucket")
	}
	if vals["region"] == "" && env("AWS_REGION") == "" && env("AWS_DEFAULT_REGION") == "" {
		vals["region"] = StandInRegion
		standIns = append(standIns, "region")
	}
	if vals["store_dir"] != "" && vals["store_dir"] != "off" {
		standIns = append(standIns, "store_dir (off: a preview writes nothing)")
	}
	vals["store_dir"] = "off"
	cfg, err := config.Parse(getter(vals), keys, env)
	return cfg, standIns, err
}

type getter map[string]string

func (g getter) Get(k string) string { return g[k] }

// kindOf labels an access record by its kind and protocol, from the line written.
func kindOf(line []byte) string {
	var r struct {
		Kind     string `json:"kind"`
		Protocol string `json:"protocol"`
	}
	if json.Unmarshal(line, &r) != nil || r.Kind == "" {
		return "access (raw)"
	}
	if r.Protocol == "" {
		return r.Kind
	}
	return r.Kind + " " + r.Protocol
}

// where names the destination of a placed record as a person would look for it.
func where(cfg *config.Config, pl pipeline.Placed) string {
	switch pl.Dest {
	case pipeline.DestAccess, pipeline.DestOther:
		// The key's last segment holds $UUID or $INDEX, rendered only at sealing.
		dir := pl.Partition[:bytes.LastIndexByte(pl.Partition, '/')+1]
		return "s3://" + cfg.Bucket + "/" + string(dir)
	case pipeline.DestCloudWatch:
		group, stream, _ := strings.Cut(string(pl.Partition), "\x00")
		return "cloudwatch " + group + " " + stream
	}
	return ""
}

// formatSizes batches the sample's lines as the upload workers would, in every
// json_lines codec, and reports the bytes and objects each takes.
func formatSizes(cfg *config.Config, parts []*part) ([]FormatSize, error) {
	var out []FormatSize
	for _, c := range []compress.Codec{compress.Gzip, compress.Zstd, compress.None} {
		e, err := compress.NewEncoder(c)
		if err != nil {
			return nil, err
		}
		fs := FormatSize{Name: "json_lines " + c.String(), Configured: c == cfg.Compression}
		b := batch.New(batch.Options{MaxRawBytes: cfg.TotalFileSize, MaxAge: cfg.UploadTimeout, Encoder: e,
			Seal: func(sb *batch.Sealed) { fs.Bytes += int64(len(sb.Body)); fs.Objects++ }})
		for i, pt := range parts {
			// Record by record, as flushes feed a batch: frames are cut where the
			// plugin would cut them, not around the whole sample.
			key := []byte(fmt.Sprint(i))
			for rest := pt.lines; len(rest) > 0; {
				n := bytes.IndexByte(rest, '\n') + 1
				b.Add(key, &batch.Meta{}, rest[:n], 1)
				rest = rest[n:]
			}
		}
		b.SealAll()
		out = append(out, fs)
	}
	return out, nil
}

// configured is the size in the configured format.
func (s *Summary) configured() FormatSize {
	for _, f := range s.Formats {
		if f.Configured {
			return f
		}
	}
	return FormatSize{}
}

// monthly scales the sample to DailyGB a day.
func (s *Summary) monthly(cfg *config.Config, retentionDays float64) {
	f := s.configured()
	streams := 0.0
	if s.Access > 0 {
		streams++
	}
	if s.Other > 0 {
		streams++
	}
	s.ObjectsDay = streams * float64(24*time.Hour) / float64(cfg.UploadTimeout)
	sample := cost.Sample{
		IngestBytes:      s.LogBytes + (s.Records+s.Bad)*cost.CloudWatchEventOverhead,
		OtherIngestBytes: s.OtherLog + s.CloudWatch*cost.CloudWatchEventOverhead,
		WrittenBytes:     s.WrittenRaw,
		StoredBytes:      f.Bytes,
	}
	m := cost.ScaleMonthly(s.CloudPrices, cfg.CloudWatchPricePerGB, s.DailyGB, sample, cfg.TotalFileSize, s.ObjectsDay, retentionDays)
	if x := s.Metrics; x != nil {
		m.Extra = cost.MetricsMonthly(s.CloudPrices, cfg.CloudWatchPricePerGB, x.Metrics, x.Events, x.EventBytes, x.Interval)
	}
	s.Monthly = &m
}

type reporter struct {
	w    io.Writer
	json bool
	err  error
	buf  []byte
}

func (r *reporter) line(n int, dest, where string, line []byte) {
	if r.w == nil || r.err != nil {
		return
	}
	if r.json {
		// The record exactly as it would be written (not re-encoded: nested values
		// keep their spacing), or as a JSON string when it is not JSON.
		out := append(r.buf[:0], `{"line":`...)
		out = strconv.AppendInt(out, int64(n), 10)
		out = append(out, `,"dest":`...)
		out = jsonstr.Append(out, []byte(dest))
		if where != "" {
			out = append(out, `,"where":`...)
			out = jsonstr.Append(out, []byte(where))
		}
		out = append(out, `,"record":`...)
		switch {
		case line == nil:
			out = append(out, "null"...)
		case json.Valid(line):
			out = append(out, line...)
		default:
			out = jsonstr.Append(out, line)
		}
		r.buf = append(out, "}\n"...)
		_, r.err = r.w.Write(r.buf)
		return
	}
	if line == nil {
		_, r.err = fmt.Fprintf(r.w, "%5d %-10s\n", n, dest)
		return
	}
	_, r.err = fmt.Fprintf(r.w, "%5d %-10s %s\n      %s\n", n, dest, where, line)
}

// sortedKinds returns the kinds, busiest first.
func (s *Summary) sortedKinds() []string {
	ks := make([]string, 0, len(s.Kinds))
	for k := range s.Kinds {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if s.Kinds[ks[i]] != s.Kinds[ks[j]] {
			return s.Kinds[ks[i]] > s.Kinds[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks
}

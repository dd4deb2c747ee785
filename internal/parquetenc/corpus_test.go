package parquetenc

import (
	"bytes"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// accessCorpus returns n normalised access lines as the pipeline spools them:
// test/gen's default mix (access kinds only), parsed and rendered by
// internal/accesslog, with the FireLens metadata of one task.
func accessCorpus(seed uint64, n int) []byte {
	g := gen.New(seed)
	task := chunkgen.DefaultTask()
	meta := task.Meta("stdout")
	var p accesslog.Parser
	var e accesslog.Entry
	var out []byte
	for rows := 0; rows < n; {
		for _, l := range g.Mixed(256) {
			if !l.IsAccess || rows == n || !p.Parse(l.Line, &e) {
				continue
			}
			for _, id := range []accesslog.FieldID{accesslog.EcsCluster, accesslog.EcsTaskArn, accesslog.EcsTaskDefinition, accesslog.ContainerName, accesslog.Source} {
				e.Set(id, []byte(meta[id.Name()]))
			}
			out = e.AppendJSON(out)
			out = append(out, '\n')
			rows++
		}
	}
	return out
}

// otherCorpus returns n other records as the pipeline spools them for
// Parquet: [unix_ms,{FireLens record}].
func otherCorpus(seed uint64, n int) []byte {
	g := gen.New(seed)
	task := chunkgen.DefaultTask()
	var enc chunk.Encoder
	var dec chunk.Decoder
	var ev chunk.Event
	var js chunk.JSONEncoder
	var out []byte
	t := time.Date(2025, 11, 11, 7, 0, 0, 0, time.UTC)
	for rows := 0; rows < n; {
		for _, l := range g.Mixed(256) {
			if l.IsAccess || rows == n {
				continue
			}
			rec := task.Record(l.Line, "stderr")
			switch rows % 7 {
			case 3: // a split line: keys the schema lacks
				rec = append(rec, chunk.KV{Key: "partial_message", Value: "true"}, chunk.KV{Key: "partial_ordinal", Value: rows})
			case 5: // a log that is not a string
				rec[0].Value = []chunk.KV{{Key: "msg", Value: string(l.Line)}, {Key: "level", Value: 3}}
			}
			data, err := enc.AppendEvent(nil, t, nil, rec)
			if err != nil {
				panic(err)
			}
			dec.Reset(data)
			for dec.Next(&ev) {
				out = AppendOtherStart(out, ev.Time)
				out = js.AppendMap(out, ev.Record)
				out = append(out, ']', '\n')
			}
			t = t.Add(3 * time.Millisecond)
			rows++
		}
	}
	return out
}

// feed returns a Lines reading b in chunks of about 64 KiB of whole lines, like
// the spool: a line longer than that is one chunk of its own (Lines' contract).
func feed(b []byte) Lines {
	return func(yield func([]byte) error) error {
		for len(b) > 0 {
			n := min(len(b), 64<<10)
			if n < len(b) {
				if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
					n = i + 1
				} else if i := bytes.IndexByte(b[n:], '\n'); i >= 0 {
					n += i + 1
				} else {
					n = len(b)
				}
			}
			if err := yield(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}
}

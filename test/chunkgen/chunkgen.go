// Package chunkgen writes FireLens-shaped Fluent Bit chunks: each generated line
// wrapped as the record Docker's fluentd log driver and FireLens produce, in either
// event format, so the host, the demo and the end-to-end tests feed the plugin what
// a Service Connect proxy container would.
package chunkgen

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// Task is the ECS task the records claim to come from.
type Task struct {
	Cluster, Region, Account, TaskID, Family, Revision, Container, Suffix string
}

// DefaultTask is a Fargate task of family "backend" with its Service Connect proxy.
func DefaultTask() Task {
	return Task{
		Cluster: "prod", Region: "ap-northeast-1", Account: "123456789012",
		TaskID: "0123456789abcdef0123456789abcdef", Family: "backend", Revision: "3",
		Container: "ecs-service-connect-AbCd", Suffix: "9a8b7c6d5e4f3a2b",
	}
}

// Tag is the FireLens tag of the task's proxy container.
func (t Task) Tag() string { return t.Container + "-firelens-" + t.TaskID }

// TaskARN is the task's ARN as FireLens writes it.
func (t Task) TaskARN() string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", t.Region, t.Account, t.Cluster, t.TaskID)
}

// ContainerName is Docker's name for the container, as FireLens passes it on EC2.
func (t Task) ContainerName() string {
	return fmt.Sprintf("/ecs-%s-%s-%s-%s", t.Family, t.Revision, t.Container, t.Suffix)
}

// Record returns the FireLens record for one line.
func (t Task) Record(line []byte, source string) []chunk.KV {
	return []chunk.KV{
		{Key: "log", Value: line},
		{Key: "source", Value: source},
		{Key: "container_id", Value: "4f2a8c1e9b7d6a5c3e1f0b9a8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d"},
		{Key: "container_name", Value: t.ContainerName()},
		{Key: "ecs_cluster", Value: t.Cluster},
		{Key: "ecs_task_arn", Value: t.TaskARN()},
		{Key: "ecs_task_definition", Value: t.Family + ":" + t.Revision},
	}
}

// Meta returns the FireLens metadata values the plugin copies into normalised
// records, keyed by schema field name.
func (t Task) Meta(source string) map[string]string {
	return map[string]string{
		"ecs_cluster": t.Cluster, "ecs_task_arn": t.TaskARN(),
		"ecs_task_definition": t.Family + ":" + t.Revision,
		"container_name":      t.ContainerName(), "source": source,
	}
}

// Chunk encodes lines as one chunk, event times starting at start, 1 ms apart.
func Chunk(enc chunk.Encoder, t Task, lines []gen.Labeled, start time.Time) ([]byte, error) {
	var out []byte
	for i, l := range lines {
		var err error
		out, err = enc.AppendEvent(out, start.Add(time.Duration(i)*time.Millisecond), nil, t.Record(l.Line, Source(l)))
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Source is the stream a line is said to come from: access lines on stdout, the
// proxy's own lines on stderr, as Envoy writes them.
func Source(l gen.Labeled) string {
	if l.IsAccess {
		return "stdout"
	}
	return "stderr"
}

// WriteFiles splits lines into chunks of per records, writes them to dir and returns
// the file names in order.
func WriteFiles(dir string, enc chunk.Encoder, t Task, lines []gen.Labeled, per int, start time.Time) ([]string, error) {
	var files []string
	for i := 0; i < len(lines); i += per {
		end := min(i+per, len(lines))
		data, err := Chunk(enc, t, lines[i:end], start.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			return nil, err
		}
		name := filepath.Join(dir, fmt.Sprintf("chunk-%05d.msgpack", len(files)))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// DockerPartSize is where Docker splits a line: 16 KiB.
const DockerPartSize = 16 << 10

// Pieces returns the records Docker's fluentd log driver sends for a line longer than
// size: pieces of size bytes with partial_message, partial_id, partial_ordinal (from
// 1) and partial_last, as strings.
func (t Task) Pieces(line []byte, source, id string, size int) [][]chunk.KV {
	var out [][]chunk.KV
	for i, ord := 0, 1; i < len(line); i, ord = i+size, ord+1 {
		end := min(i+size, len(line))
		rec := t.Record(line[i:end], source)
		rec = append(rec,
			chunk.KV{Key: "partial_message", Value: "true"},
			chunk.KV{Key: "partial_id", Value: id},
			chunk.KV{Key: "partial_ordinal", Value: fmt.Sprint(ord)},
			chunk.KV{Key: "partial_last", Value: fmt.Sprint(end == len(line))})
		out = append(out, rec)
	}
	return out
}

// Records encodes records as one chunk, event times starting at start, 1 ms apart.
func Records(enc chunk.Encoder, recs [][]chunk.KV, start time.Time) ([]byte, error) {
	var out []byte
	for i, r := range recs {
		var err error
		if out, err = enc.AppendEvent(out, start.Add(time.Duration(i)*time.Millisecond), nil, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

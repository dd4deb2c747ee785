// Package deadletter ships what store_dir cannot deliver to the bucket, so that
// nothing acknowledged is left on a disk that dies with the task (a Fargate task's
// storage is ephemeral). Two things end up there:
//
//   - quarantined ranges: bytes the spool's recovery cut from damaged batch files
//     (<store_dir>/quarantine/<name>.bad, described by <name>.bad.json, see
//     internal/spool), uploaded as they are;
//   - adopted batches whose recorded bucket no longer exists and that no instance
//     can take instead (internal/adopt), uploaded as the object they would have
//     been (the same bytes, compressed NDJSON or Parquet).
//
// Each goes under dead_letter_prefix in the instance's bucket as two objects:
//
//	<prefix><cluster>/<task id>/<yyyymmddThhmmssZ>-<random id>.bin   the bytes
//	<prefix><cluster>/<task id>/<yyyymmddThhmmssZ>-<random id>.json  its Manifest
//
// The cluster and task are the batch's (key-safe, "unknown" when not known), the
// time is when the dead letter was made, and the random ID makes the key unique
// per task and file. The object is stored first and the manifest second; a local
// file is removed only after both are stored. Uploads are delivery jobs of the
// instance's pool: retried with backoff like every other upload.
//
// A quarantined range is claimed with flock on its file before it is queued, so
// two instances (or processes) on one store_dir never ship it twice; the claim is
// checked against the path after locking, as a file removed by the holder between
// listing and locking must not be shipped again.
package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/buildinfo"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// Content values of a Manifest.
const (
	ContentSpoolBytes = "spool_bytes" // a range of a batch file, as it was on disk
	ContentObject     = "object"      // the object as it would have been stored
)

// ReasonGone is the Reason of an adopted batch whose recorded bucket is gone; the
// Reasons of quarantined ranges are spool.QuarantineInfo's.
const ReasonGone = "destination_gone"

// ObjectExt and ManifestExt end the keys of a dead letter's two objects.
const (
	ObjectExt   = ".bin"
	ManifestExt = ".json"
)

// Manifest describes one dead letter; it is stored as JSON beside its object.
type Manifest struct {
	Version int    `json:"manifest_version"`
	Reason  string `json:"reason"` // damaged, torn, after_seal (quarantined ranges) or destination_gone
	Detail  string `json:"detail"` // one sentence: what happened and what the bytes are
	Content string `json:"content"`
	// Records the object holds; RecordsExact is false when they were counted from
	// damaged bytes (a segment's count or its lines).
	Records      int64 `json:"records"`
	RecordsExact bool  `json:"records_exact"`
	Bytes        int64 `json:"bytes"`
	// Where the bytes were: the spool's batch file and the byte range [start, end).
	SpoolFile string   `json:"spool_file"`
	ByteRange [2]int64 `json:"byte_range"`
	// Event times of the first and last record, when known.
	FirstTime *time.Time `json:"first_event_time,omitempty"`
	LastTime  *time.Time `json:"last_event_time,omitempty"`
	// The first event time of the batch the range was cut from (quarantined ranges).
	BatchFirstTime *time.Time `json:"batch_first_event_time,omitempty"`
	Quarantined    *time.Time `json:"quarantined,omitempty"` // when recovery cut the range
	Cluster        string     `json:"cluster,omitempty"`
	TaskID         string     `json:"task_id,omitempty"`
	Tag            string     `json:"tag,omitempty"`
	// Where an adopted batch was acknowledged for.
	IntendedBucket   string `json:"intended_bucket,omitempty"`
	IntendedEndpoint string `json:"intended_endpoint,omitempty"`
	IntendedKey      string `json:"intended_key,omitempty"`

	PluginVersion string    `json:"plugin_version"`
	Host          string    `json:"host,omitempty"`
	Written       time.Time `json:"written"`
}

// ManifestVersion is Manifest.Version.
const ManifestVersion = 1

// Sink stores dead letters under Prefix through Put.
type Sink struct {
	Prefix string          // dead_letter_prefix, ending with '/'
	Bucket string          // for messages
	Put    delivery.Putter // the instance's S3 client
	Now    func() time.Time
	// Tagged, when set, gives the body of a dead letter (not its manifest) what the
	// Putter needs to tag it (s3_object_tags with $STREAM dead_letter).
	Tagged func(body delivery.Body, m *Manifest) delivery.Body
}

func (s *Sink) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Where names the dead-letter location for messages: s3://bucket/prefix.
func (s *Sink) Where() string { return "s3://" + s.Bucket + "/" + s.Prefix }

// Keys returns the keys of a new dead letter's object and manifest.
func (s *Sink) Keys(cluster, taskID string) (object, manifest string) {
	var b []byte
	b = append(b, s.Prefix...)
	b = appendSafe(b, cluster)
	b = append(b, '/')
	b = appendSafe(b, taskID)
	b = append(b, '/')
	b = s.now().AppendFormat(b, "20060102T150405Z")
	b = append(b, '-')
	b = keyformat.AppendRandomID(b)
	stem := string(b)
	return stem + ObjectExt, stem + ManifestExt
}

// appendSafe appends v as one key segment: bytes outside A-Za-z0-9._- become '_',
// empty (or dots only) becomes keyformat.Missing, and it is cut to 128 bytes.
func appendSafe(dst []byte, v string) []byte {
	v = v[:min(len(v), 128)]
	if len(bytes.Trim([]byte(v), ".")) == 0 {
		return append(dst, keyformat.Missing...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// Store puts body under object, then m under manifest; it returns nil only when
// both are stored. m's version, size, plugin version, host and time are filled in.
func (s *Sink) Store(ctx context.Context, object, manifest string, body delivery.Body, m *Manifest) error {
	m.Version, m.Bytes, m.PluginVersion = ManifestVersion, body.Size(), buildinfo.Version
	if m.Host == "" {
		m.Host, _ = os.Hostname()
	}
	if m.Written.IsZero() {
		m.Written = s.now()
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("dead letter manifest: %w", err)
	}
	if s.Tagged != nil {
		body = s.Tagged(body, m)
	}
	if err := s.Put.Put(ctx, object, body); err != nil {
		return err
	}
	return s.Put.Put(ctx, manifest, delivery.Bytes(append(mj, '\n')))
}

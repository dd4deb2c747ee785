package pipeline

import (
	"hash"
	"io"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/deadletter"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
)

// summer hashes the body of one object as it is encoded, for checksum_algorithm:
// the checksum S3 verifies is taken from the encoder's output, before the body
// file, so damage anywhere after it (the file, the page cache, the network) is
// refused by S3.
type summer struct {
	alg checksum.Algorithm
	h   hash.Hash
}

// newSummer returns a summer for one object; nil when checksum_algorithm is none.
func (p *Pipeline) newSummer() *summer {
	if p.cfg.ChecksumAlgorithm == checksum.None {
		return nil
	}
	return &summer{alg: p.cfg.ChecksumAlgorithm, h: p.cfg.ChecksumAlgorithm.New()}
}

// wrap returns fill hashing what it writes. The hash starts over at each call: a
// body file that cannot be written is encoded again, in memory.
func (s *summer) wrap(fill func(io.Writer) error) func(io.Writer) error {
	if s == nil {
		return fill
	}
	return func(w io.Writer) error {
		s.h.Reset()
		return fill(&checksum.Writer{W: w, H: s.h})
	}
}

// s3Object is the body of an object of m with its tags and, when sum hashed it,
// its checksum (s3sink.Object); body itself when it has neither.
func (p *Pipeline) s3Object(body delivery.Body, m *batch.Meta, sum *summer) delivery.Body {
	tagging := p.ObjectTags(m, streamName(m.Stream))
	if tagging == "" && sum == nil {
		return body
	}
	o := &s3sink.Object{Body: body, Tagging: tagging}
	if sum != nil {
		o.Sum = checksum.SumOf(sum.alg, sum.h)
	}
	return o
}

// ObjectTags renders s3_object_tags for an object of m's records from stream
// (keyformat.StreamAccess, StreamOther or StreamDeadLetter), as PutObject's
// Tagging header carries it; "" without tags.
func (p *Pipeline) ObjectTags(m *batch.Meta, stream string) string {
	if p.cfg.ObjectTags == nil {
		return ""
	}
	v := metaVars(m)
	return p.cfg.ObjectTags.Render(&v, stream)
}

// deadLetterObject tags a dead letter's body with s3_object_tags, $STREAM dead_letter
// and the variables its manifest knows.
func (p *Pipeline) deadLetterObject(body delivery.Body, m *deadletter.Manifest) delivery.Body {
	meta := batch.Meta{Tag: m.Tag, Cluster: m.Cluster, TaskID: m.TaskID}
	return &s3sink.Object{Body: body, Tagging: p.ObjectTags(&meta, keyformat.StreamDeadLetter)}
}

// metaVars are the record variables of names and tags ($TAG, $CLUSTER, ...) of
// m's records.
func metaVars(m *batch.Meta) keyformat.Vars {
	return keyformat.Vars{Tag: []byte(m.Tag), Cluster: []byte(m.Cluster), TaskID: []byte(m.TaskID), Family: []byte(m.Family), Container: []byte(m.Container)}
}

func streamName(s batch.Stream) string {
	if s == batch.StreamOther {
		return keyformat.StreamOther
	}
	return keyformat.StreamAccess
}

// Package s3sink writes finished objects to S3 (or an S3-compatible server)
// with one PutObject each, applying every S3 option of the plugin, and
// classifies failures so that the spool above it knows whether to retry soon,
// to retry slowly and tell the user what to fix, or to stop because it was
// told to.
//
// The SDK's own retries are off (aws.NopRetryer, whatever AWS_MAX_ATTEMPTS
// says), and there is deliberately no option to turn them on: a retry inside
// PutObject would hide the failure from the spool, multiply its backoff with
// the SDK's, and hold an upload worker, while the spool's per-object backoff
// with jitter already retries for as long as the data stays on disk. The
// SDK's clock-skew correction still works: it is recorded per client, not per
// retry.
//
// # Checksums
//
// Options.Checksum (checksum_algorithm) sends the object's checksum in its
// x-amz-checksum-* header, with x-amz-sdk-checksum-algorithm (which also
// satisfies Object Lock), and S3 refuses a body that does not match it. The
// checksum is the one computed as the body was encoded (Object.Sum), so the
// upload reads a body file only to send it; a body without one (memory batches,
// store_dir off) is read once more here. The header form is used rather than the
// SDK's trailing checksum: it needs no aws-chunked body, which S3-compatible
// servers handle unevenly, the value is computed once for every retry instead
// of once an attempt, and the SDK computes nothing when the header is already
// set. The SDK's own checksums stay off otherwise (WhenRequired): plain HTTP
// bodies are signed with their SHA-256, HTTPS bodies go as UNSIGNED-PAYLOAD
// (integrity by TLS, and by the checksum when one is sent), and
// Options.SendContentMD5 adds a Content-MD5 that S3 verifies. A body refused for
// not matching its checksum is returned as delivery.BodyRefused, so the upload
// pool encodes it again before the next attempt. There is no multipart upload:
// every object is one PutObject (at most 5 GB).
package s3sink

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
)

// ContentType is sent with every NDJSON object. No Content-Encoding is sent:
// with it, browsers and `aws s3 cp` would decompress .gz objects on download.
const ContentType = "application/x-ndjson"

// ParquetContentType is sent with objects whose key ends in .parquet.
const ParquetContentType = "application/vnd.apache.parquet"

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".parquet"):
		return ParquetContentType
	case strings.HasSuffix(key, ".bin"): // a dead letter (internal/deadletter): bytes as they were
		return "application/octet-stream"
	case strings.HasSuffix(key, ".json"): // its manifest
		return "application/json"
	}
	return ContentType
}

var (
	// ErrNoBucket is returned by New when Options.Bucket is empty.
	ErrNoBucket = errors.New(`s3sink: "bucket" is not set: set it to the destination bucket name`)
	// ErrNoRegion is returned by New when no region is configured anywhere.
	ErrNoRegion = errors.New(`s3sink: no region: set "region" or the AWS_REGION environment variable`)
	// ErrEndpoint is returned by New for an endpoint that is not an http(s) URL.
	ErrEndpoint = errors.New("s3sink: bad endpoint")
)

// Options configure a Client. Field names follow the plugin's keys.
type Options struct {
	Bucket      string
	Region      string
	Endpoint    string // S3-compatible endpoint URL; enables path-style addressing
	RoleARN     string // assumed through STS for every call when set
	ExternalID  string
	STSEndpoint string

	StorageClass        string // e.g. STANDARD_IA; empty: bucket default
	CannedACL           string // e.g. bucket-owner-full-control; empty: none sent
	SSE                 string // AES256 or aws:kms; empty: bucket default
	SSEKMSKeyID         string
	BucketKeyEnabled    bool // sent only when true; false leaves the bucket's setting
	SendContentMD5      bool // required by buckets with Object Lock, unless Checksum is set
	Checksum            checksum.Algorithm
	Tagged              bool // objects carry tags (s3_object_tags): named in access-denied remedies
	ExpectedBucketOwner string

	// HTTPClient replaces the SDK's HTTP client (tests, proxies). AWS_CA_BUNDLE
	// does not apply to it.
	HTTPClient *http.Client
	// Logf, when set, receives one line at New describing the destination.
	Logf func(format string, args ...any)
}

// Client uploads objects to one bucket. It is safe for concurrent use.
type Client struct {
	o     Options
	s3    *s3.Client
	creds *aws.CredentialsCache // nil when the provider is not cached
}

// New builds a Client from the default AWS configuration chain (environment,
// shared files, ECS task role, instance role) and o. It makes no network call.
func New(ctx context.Context, o Options) (*Client, error) {
	if o.Bucket == "" {
		return nil, ErrNoBucket
	}
	cfg, err := awsutil.LoadConfig(ctx, awsutil.Settings{
		Region:      o.Region,
		Endpoint:    o.Endpoint,
		RoleARN:     o.RoleARN,
		ExternalID:  o.ExternalID,
		STSEndpoint: o.STSEndpoint,
		HTTPClient:  o.HTTPClient,
		// S3-compatible servers (MinIO, older Ceph) reject or mishandle the
		// CRC trailers and aws-chunked bodies the SDK adds by default; send a
		// checksum only when an operation requires one, and send Content-MD5
		// ourselves when asked.
		LoadOptions: []func(*config.LoadOptions) error{
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		},
		Pkg:         "s3sink",
		ErrNoRegion: ErrNoRegion,
		ErrEndpoint: ErrEndpoint,
	})
	if err != nil {
		return nil, err
	}

	c := &Client{o: o}
	if c.o.Region == "" {
		c.o.Region = cfg.Region // from the environment; named in transport errors
	}
	c.creds, _ = cfg.Credentials.(*aws.CredentialsCache)
	c.s3 = s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
		so.Retryer = aws.NopRetryer{}
		so.RetryMaxAttempts = 0
	})
	if o.Logf != nil {
		where := "AWS"
		if o.Endpoint != "" {
			where = o.Endpoint + " (path-style)"
		}
		role := ""
		if o.RoleARN != "" {
			role = ", assuming " + o.RoleARN
		}
		o.Logf("s3sink: bucket %q in %s via %s%s", o.Bucket, cfg.Region, where, role)
	}
	return c, nil
}

// Bucket returns the destination bucket.
func (c *Client) Bucket() string { return c.o.Bucket }

// Object is a body with what its PutObject sends besides: its checksum,
// computed as it was written, and its tags. Put takes it as any delivery.Body.
type Object struct {
	delivery.Body
	Sum     checksum.Sum // of Body; Put computes it when its algorithm is not Options.Checksum
	Tagging string       // the Tagging header (keyformat.Tags.Render); "" sends none
}

// Put uploads body as the object key with one PutObject. The body is streamed:
// it is read once for Content-MD5 when asked, once for its checksum when it
// comes without one (see Object), once by the SDK for the payload hash of a
// plain-HTTP request (it rewinds the seekable reader instead of buffering), and
// once as it is sent. A failure is returned as *Error, already classified.
func (c *Client) Put(ctx context.Context, key string, body delivery.Body) error {
	o := &c.o
	var sum checksum.Sum
	var tagging string
	if obj, ok := body.(*Object); ok {
		sum, tagging = obj.Sum, obj.Tagging
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(o.Bucket),
		Key:           aws.String(key),
		Body:          delivery.Reader(body),
		ContentLength: aws.Int64(body.Size()),
		ContentType:   aws.String(contentType(key)),
	}
	if o.StorageClass != "" {
		in.StorageClass = types.StorageClass(o.StorageClass)
	}
	if o.CannedACL != "" {
		in.ACL = types.ObjectCannedACL(o.CannedACL)
	}
	if o.SSE != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(o.SSE)
	}
	if o.SSEKMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(o.SSEKMSKeyID)
	}
	if o.BucketKeyEnabled {
		in.BucketKeyEnabled = aws.Bool(true)
	}
	if o.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(o.ExpectedBucketOwner)
	}
	if o.SendContentMD5 {
		h := md5.New()
		if _, err := io.Copy(h, delivery.Reader(body)); err != nil {
			return fmt.Errorf("s3sink: reading the body of %s for Content-MD5: %w", key, err)
		}
		in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	if o.Checksum != checksum.None {
		if sum.Alg != o.Checksum {
			var err error
			if sum, err = checksum.Of(o.Checksum, delivery.Reader(body)); err != nil {
				return fmt.Errorf("s3sink: reading the body of %s for its checksum: %w", key, err)
			}
		}
		setChecksum(in, sum)
	}
	if tagging != "" {
		in.Tagging = aws.String(tagging)
	}
	_, err := c.s3.PutObject(ctx, in)
	if err == nil {
		return nil
	}
	s := service(o)
	s.Endpoint = awsutil.EndpointHost(o.Endpoint, "s3", c.o.Region, o.Bucket)
	s.Creds = c.creds // expired: the next attempt fetches new credentials
	e := awsutil.Classify(err, s)
	if checksumRefused[e.Code] {
		return delivery.BodyRefused(e)
	}
	return e
}

// checksumRefused are the codes of a body that does not match its checksum
// (Content-MD5, x-amz-checksum-*, or the signed SHA-256 of plain HTTP).
var checksumRefused = map[string]bool{"BadDigest": true, "XAmzContentChecksumMismatch": true, "XAmzContentSHA256Mismatch": true}

// setChecksum sends sum in its header, and names its algorithm in
// x-amz-sdk-checksum-algorithm: Object Lock buckets accept that header instead
// of Content-MD5. With the value set, the SDK's checksum middleware computes
// nothing and adds no trailer.
func setChecksum(in *s3.PutObjectInput, sum checksum.Sum) {
	v := aws.String(sum.Value)
	switch sum.Alg {
	case checksum.CRC32C:
		in.ChecksumAlgorithm, in.ChecksumCRC32C = types.ChecksumAlgorithmCrc32c, v
	case checksum.CRC32:
		in.ChecksumAlgorithm, in.ChecksumCRC32 = types.ChecksumAlgorithmCrc32, v
	case checksum.CRC64NVME:
		in.ChecksumAlgorithm, in.ChecksumCRC64NVME = types.ChecksumAlgorithmCrc64nvme, v
	case checksum.SHA256:
		in.ChecksumAlgorithm, in.ChecksumSHA256 = types.ChecksumAlgorithmSha256, v
	case checksum.SHA1:
		in.ChecksumAlgorithm, in.ChecksumSHA1 = types.ChecksumAlgorithmSha1, v
	}
}

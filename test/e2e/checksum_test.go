package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// storedChecksum is the checksum MinIO keeps for an object by alg ("" when none).
func storedChecksum(t *testing.T, m *miniotest.Server, bucket, key string, alg checksum.Algorithm) string {
	t.Helper()
	h, err := m.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject %s: %v", key, err)
	}
	v := map[checksum.Algorithm]*string{checksum.CRC32C: h.ChecksumCRC32C, checksum.CRC32: h.ChecksumCRC32,
		checksum.CRC64NVME: h.ChecksumCRC64NVME, checksum.SHA256: h.ChecksumSHA256, checksum.SHA1: h.ChecksumSHA1}[alg]
	return aws.ToString(v)
}

// Over HTTPS (UNSIGNED-PAYLOAD: no signature covers the body), a proxy flips a
// byte in the bodies of the first PUTs. MinIO refuses each for its CRC32C (the
// default checksum_algorithm), the plugin retries it once, and every record lands
// exactly once; every object in the bucket carries the CRC32C of its bytes.
func TestChecksumRefusesDamageInFlight(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "damage"
	m := env(t, bucket)
	px, err := faultproxy.StartTLS(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	ca, err := px.CAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", ca)

	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(25).Mixed(3000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, l := range lines {
		want[expectedAccess(task, l)]++
	}
	const flips = 4
	puts := 0
	px.SetPlan(func(_ int, r *http.Request) faultproxy.Fault {
		if r.Method != http.MethodPut {
			return faultproxy.None
		}
		puts++
		if puts <= flips {
			return faultproxy.FlipByte
		}
		return faultproxy.None
	})
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "60s")
	args := append([]string{"--exit", "current", "--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": px.URL(),
		"s3_key_format": "d/$UUID", "total_file_size": "64K", "other_logs": "drop",
		"redact_query_params": "none", "redact_detectors": "none",
	})...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	requireAllOK(t, r)

	objs := objects(t, m, bucket, "d/", compress.Gzip)
	diff(t, "access", want, lineCounts(objs))
	refused, nput := 0, 0
	for _, q := range px.Requests() {
		if q.Method != http.MethodPut {
			continue
		}
		nput++
		if q.Fault == faultproxy.FlipByte {
			if q.Status != http.StatusBadRequest {
				t.Errorf("a damaged body was answered %d, not refused: %+v", q.Status, q)
			}
			refused++
		}
	}
	if refused != flips || nput != len(objs)+flips {
		t.Errorf("%d damaged PUTs refused, %d PUTs for %d objects; want %d and %d", refused, nput, len(objs), flips, len(objs)+flips)
	}
	if !strings.Contains(r.Stderr, "XAmzContentChecksumMismatch") {
		t.Errorf("no line says why the upload was refused:\n%s", r.Stderr)
	}
	for _, o := range m.List(bucket, "d/") {
		sum, _ := checksum.Of(checksum.CRC32C, bytes.NewReader(m.Get(bucket, o.Key)))
		if got := storedChecksum(t, m, bucket, o.Key, checksum.CRC32C); got != sum.Value {
			t.Errorf("%s: MinIO keeps CRC32C %q, the body's is %q", o.Key, got, sum.Value)
		}
	}
	t.Logf("%d records in %d objects, %d PUTs, %d refused for their checksum", len(lines), len(objs), nput, refused)
}

// s3_object_tags reach MinIO with every variable expanded, per object and stream,
// along with the chosen checksum_algorithm.
func TestObjectTagsLand(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "tagged"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	lines := gen.New(8).Mixed(600)
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	args := append([]string{"--exit", "current", "--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint,
		"s3_key_format": "a/$UUID", "other_key_format": "o/$UUID", "checksum_algorithm": "sha256",
		"s3_object_tags": "service=$FAMILY, cluster=$CLUSTER, stream=$STREAM, task=$TASK_ID, container=$CONTAINER, tag=$TAG, part=$TAG[1], cost center=payments @ eu-1",
	})...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	requireAllOK(t, r)
	seen := map[string]int{}
	for _, o := range m.List(bucket, "") {
		out, err := m.Client().GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(o.Key)})
		if err != nil {
			t.Fatalf("GetObjectTagging %s: %v", o.Key, err)
		}
		got := map[string]string{}
		for _, tg := range out.TagSet {
			got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		stream := map[bool]string{true: "access", false: "other"}[strings.HasPrefix(o.Key, "a/")]
		seen[stream]++
		wantTags := map[string]string{
			"service": task.Family, "cluster": task.Cluster, "stream": stream, "task": task.TaskID,
			"container": task.Container, "tag": task.Tag(), "part": strings.Split(task.Tag(), "-")[1],
			"cost center": "payments @ eu-1",
		}
		for k, v := range wantTags {
			if got[k] != v {
				t.Errorf("%s: tag %q = %q, want %q (all: %v)", o.Key, k, got[k], v, got)
			}
		}
		if len(got) != len(wantTags) {
			t.Errorf("%s: tags %v", o.Key, got)
		}
		sum, _ := checksum.Of(checksum.SHA256, bytes.NewReader(m.Get(bucket, o.Key)))
		if s := storedChecksum(t, m, bucket, o.Key, checksum.SHA256); s != sum.Value {
			t.Errorf("%s: MinIO keeps SHA256 %q, the body's is %q", o.Key, s, sum.Value)
		}
	}
	if seen["access"] == 0 || seen["other"] == 0 {
		t.Fatalf("objects per stream %v: want both", seen)
	}
}

// The new keys' mistakes fail Init through the real .so with one line naming the
// key and the fix.
func TestChecksumAndTagErrorsFailInit(t *testing.T) {
	so, host := artifacts(t)
	for _, tc := range []struct {
		kv   []string
		want []string
	}{
		{[]string{"checksum_algorithm=md5"}, []string{"checksum_algorithm", "CRC32C", "none"}},
		{[]string{"checksum_algorithm=sha256", "send_content_md5=true"}, []string{"send_content_md5 and checksum_algorithm SHA256 are both set", "keep one"}},
		{[]string{"s3_object_tags=a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11"}, []string{"s3_object_tags", "11 tags: S3 allows at most 10"}},
		{[]string{"s3_object_tags=aws:owner=me"}, []string{"s3_object_tags", "starts with aws:"}},
		{[]string{"s3_object_tags=team=a&b"}, []string{"s3_object_tags", "letters, digits, spaces and + - = . _ : / @"}},
		{[]string{"s3_object_tags=svc=$SERVICE"}, []string{"s3_object_tags", "$STREAM"}},
	} {
		args := append([]string{"--instance", "bucket=my-bucket", "region=us-east-1"}, tc.kv...)
		r := hosttest.Run(t, host, so, args...)
		if r.InitRC(0) != hosttest.FLBError {
			t.Fatalf("%v: init rc %d, want FLB_ERROR", tc.kv, r.InitRC(0))
		}
		line := errorLine(t, r.Stderr)
		for _, want := range tc.want {
			if !strings.Contains(line, want) {
				t.Errorf("%v: error line lacks %q: %s", tc.kv, want, line)
			}
		}
	}
}

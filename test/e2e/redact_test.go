package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// planter makes unique secrets of every kind the detectors know.
type planter struct{ r *rand.Rand }

func (p planter) pick(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[p.r.IntN(len(alphabet))]
	}
	return string(b)
}

func (p planter) jwt() string {
	enc := base64.RawURLEncoding
	return "eyJ" + enc.EncodeToString([]byte(`hbGciOiJIUzI1NiJ9`))[:10] + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s"}`, p.pick("abcdef0123456789", 12)))) + "." +
		p.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 43)
}

func (p planter) awsKey() string { return "AKIA" + p.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16) }
func (p planter) token() string {
	return p.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32)
}
func (p planter) email() string { return p.pick("abcdefghij", 8) + "@example.org" }

// card returns a 16-digit Visa number that passes Luhn.
func (p planter) card() string {
	d := make([]int, 16)
	d[0] = 4
	for i := 1; i < 15; i++ {
		d[i] = p.r.IntN(10)
	}
	sum := 0
	for i := 0; i < 15; i++ {
		v := d[14-i]
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = (10 - sum%10) % 10
	var b strings.Builder
	for _, x := range d {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}

// TestPlantedSecretsNeverReachS3 sends access and operational lines carrying unique
// secrets of every kind, then searches every object in the bucket for them.
func TestPlantedSecretsNeverReachS3(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "redaction"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	p := planter{rand.New(rand.NewPCG(1, 2))}
	var secrets []string
	var lines []gen.Labeled
	survivors := []string{"page=2", "order=4111111111111112", "keyboard=1"} // look-alikes that must stay
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 400; i++ {
		tok, jwt, key, bearer, card, mail := p.token(), p.jwt(), p.awsKey(), p.token(), p.card(), p.email()
		secrets = append(secrets, tok, jwt, key, bearer, card, mail)
		access := fmt.Sprintf(`[%s] "GET /api/orders?access_token=%s&page=2&order=4111111111111112&keyboard=1&next=/x?key=%s HTTP/1.1" 200 0 11 1 1 "203.0.113.9" "curl/8 Bearer %s" "req-%d" "backend" "10.0.0.1:8080"`,
			ts.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"), tok, key, bearer, i)
		other := fmt.Sprintf(`[2026-11-24 10:00:00.%03d][1][info][main] login by %s with %s, card %s, auth Bearer %s`,
			i%1000, mail, jwt, card[:4]+" "+card[4:8]+" "+card[8:12]+" "+card[12:], bearer)
		lines = append(lines, gen.Labeled{Line: []byte(access), IsAccess: true}, gen.Labeled{Line: []byte(other)})
	}
	dir := t.TempDir()
	files, err := chunkgen.WriteFiles(dir, chunk.Encoder{}, task, lines, 100, ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"mask", "hash"} {
		t.Run(mode, func(t *testing.T) {
			kv := map[string]string{
				"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
				"s3_key_format": mode + "/a/$UUID", "other_key_format": mode + "/o/$UUID",
				"redact_detectors": "jwt,aws_access_key,bearer,credit_card,email", "redact_mode": mode,
			}
			if mode == "hash" {
				kv["redact_hash_key"] = "0123456789abcdef-test-key"
			}
			args := append([]string{"--tag", task.Tag()}, instanceArgs(kv)...)
			for _, f := range files {
				args = append(args, "--flush", f)
			}
			r := hosttest.Run(t, host, so, args...)
			if r.ExitRC(0) != hosttest.FLBOK {
				t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
			}
			var all bytes.Buffer
			n := 0
			for _, ls := range objects(t, m, bucket, mode+"/", compress.Gzip) {
				for _, l := range ls {
					all.WriteString(l)
					all.WriteByte('\n')
					n++
				}
			}
			if n != len(lines) {
				t.Fatalf("%d records in the bucket, want %d", n, len(lines))
			}
			for _, s := range secrets {
				if bytes.Contains(all.Bytes(), []byte(s)) {
					t.Fatalf("planted secret %q reached S3", s)
				}
			}
			for _, s := range survivors {
				if c := bytes.Count(all.Bytes(), []byte(s)); c != 400 {
					t.Errorf("look-alike %q survived %d times, want 400", s, c)
				}
			}
			if mode == "hash" {
				// The same token hashes to the same pseudonym wherever it appears.
				if !regexp.MustCompile(`\[h:[0-9a-f]{16}\]`).Match(all.Bytes()) {
					t.Fatalf("hash mode wrote no pseudonyms")
				}
			} else if c := bytes.Count(all.Bytes(), []byte("[REDACTED]")); c < 6*400 {
				t.Fatalf("only %d [REDACTED] marks for %d planted secrets", c, 6*400)
			}
			if strings.Contains(r.Stderr, secrets[0]) {
				t.Fatalf("a secret reached the plugin's log")
			}
		})
	}
}

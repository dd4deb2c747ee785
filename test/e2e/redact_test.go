package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
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

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b64   = alnum + "+/"
)

// The credential shapes the detectors know, each unique.
func (p planter) github() string { return "ghp_" + p.pick(alnum, 36) }
func (p planter) gitlab() string { return "glpat-" + p.pick(alnum, 20) }
func (p planter) slack() string {
	return "xoxb-" + p.pick("0123456789", 12) + "-" + p.pick("0123456789", 13) + "-" + p.pick(alnum, 24)
}
func (p planter) stripe() string   { return "sk_live_" + p.pick(alnum, 24) }
func (p planter) google() string   { return "AIza" + p.pick(alnum+"-_", 35) }
func (p planter) password() string { return "Pw" + p.pick(alnum, 14) }
func (p planter) basic() string {
	return base64.StdEncoding.EncodeToString([]byte("user:" + p.pick(alnum, 12)))
}
func (p planter) awsSecret() string { return p.pick(b64, 40) }
func (p planter) pemBody() string   { return p.pick(b64, 64) }

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

// plantedRecords builds n rounds of FireLens records carrying unique secrets of every
// class, encoding and nesting, as flushes: access lines (TEXT, with
// percent-encoded, ;parameter and #fragment secrets; customised JSON with nested
// extras, integer cards and secret-named keys; TCP JSON with termination details),
// the proxy's own lines, an app's JSON log line, a record parsed upstream, and every
// fifth round two lines over 16 KiB split by Docker with a secret cut at the
// boundary, their pieces spread over two flushes. It returns the flushes, the
// secrets (halves of cut ones too), the look-alikes that must stay (with how many
// times each was planted) and how many records must be written.
func plantedRecords(p planter, task chunkgen.Task, ts time.Time, n int) (flushes [][][]chunk.KV, secrets []string, survivors map[string]int, records int) {
	survivors = map[string]int{}
	stamp := func(i int) string {
		return ts.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	var carry [][]chunk.KV // pieces for the next flush
	for i := 0; i < n; i++ {
		recs := carry
		carry = nil
		add := func(line string, source string, s ...string) {
			recs = append(recs, task.Record([]byte(line), source))
			secrets = append(secrets, s...)
			records++
		}
		tok, jwt, key, bearer, card, mail := p.token(), p.jwt(), p.awsKey(), p.token(), p.card(), p.email()
		add(fmt.Sprintf(`[%s] "GET /api/orders?access_token=%s&page=2&order=4111111111111112&keyboard=1&next=/x?key=%s HTTP/1.1" 200 0 11 1 1 "203.0.113.9" "curl/8 Bearer %s" "req-%d" "backend" "10.0.0.1:8080"`,
			stamp(i), tok, key, bearer, i), "stdout", tok, key, bearer)
		add(fmt.Sprintf(`[2026-11-24 10:00:00.%03d][1][info][main] login by %s with %s, card %s, auth Bearer %s`,
			i%1000, mail, jwt, card[:4]+" "+card[4:8]+" "+card[8:12]+" "+card[12:], bearer), "stderr", mail, jwt, card)
		survivors["page=2"]++
		survivors["order=4111111111111112"]++
		survivors["keyboard=1"]++

		// Encodings: a secret after %3D and %20, nested and double-encoded names, ;params, #fragments.
		enc1, enc2, enc3, enc4, gjwt := p.token(), p.token(), p.token(), p.token(), p.jwt()
		add(fmt.Sprintf(`[%s] "GET /cb?next=%%2Fp%%3Faccess_token%%3D%s&%%2574oken=%s;jsessionid=%s#access_token=%s&state=ok HTTP/1.1" 302 0 0 1 1 "-" "app Bearer%%20%s" "req-e%d" "backend" "10.0.0.1:8080"`,
			stamp(i), enc1, enc2, enc3, enc4, gjwt, i), "stdout", enc1, enc2, enc3, enc4, gjwt)
		survivors["state=ok"]++

		// Userinfo in the authority, a Slack hook and a Proxy-Authorization in the user agent,
		// a value after %2C and a double-encoded %253D in the query.
		upw, hook, ptok, c1, c2 := p.password(), p.pick(alnum, 24), p.token(), p.token(), p.token()
		add(fmt.Sprintf(`[%s] "GET /r?u=%%253Daccess_token%%253D%s&tags=a%%2Ctoken=%s HTTP/1.1" 200 0 0 1 1 "-" "hook https://hooks.slack.com/services/T00000000/B00000000/%s Proxy-Authorization: Token %s" "req-u%d" "admin:%s@api.example.com:8443" "10.0.0.1:8080"`,
			stamp(i), c1, c2, hook, ptok, i, upw), "stdout", c1, c2, hook, ptok, upw)

		// A customised JSON format: nested extras, an integer card, secret-named keys, escapes.
		xjwt, xkey, xcard, xpw, xbasic, xtok, xesc := p.jwt(), p.awsKey(), p.card(), p.password(), p.basic(), p.token(), p.token()
		add(fmt.Sprintf(`{"start_time":"%s","method":"POST","path":"/pay","protocol":"HTTP/1.1","response_code":200,"duration":3,`+
			`"x_ctx":{"user":{"seen":"%s","keys":["%s"]}},"card_number":%s,"authorization":"Basic %s","x_meta":{"password":"%s","n":7},`+
			`"x_list":[{"deep":[["Bearer %s"]]}],"x_escaped":"a\u0026token=%s","x_team":"payments"}`,
			stamp(i), xjwt, xkey, xcard, xbasic, xpw, xtok, xesc), "stdout", xjwt, xkey, xcard, xbasic, xpw, xtok, xesc)
		survivors[`"x_team":"payments"`]++

		// TCP, with client data in connection_termination_details.
		gh := p.github()
		add(fmt.Sprintf(`{"start_time":"%s","downstream_remote_address":"10.0.0.9","downstream_remote_port":4000,"bytes_received":1,"bytes_sent":2,"duration":3,"connection_termination_details":"rbac: denied token %s","connection_id":%d}`,
			stamp(i), gh, i), "stdout", gh)

		// An app's JSON log line routed here: secret-named keys at any depth, every credential shape.
		apw, akey, acookie, gl, sl, st, gg, pem, dbpw, awss, htok := p.password(), p.token(), p.token(), p.gitlab(), p.slack(), p.stripe(), p.google(), p.pemBody(), p.password(), p.awsSecret(), p.token()
		add(fmt.Sprintf(`{"level":"info","msg":"login ok","user":{"name":"alice","password":"%s","api_key":"%s"},"headers":{"Cookie":"sid=%s"},`+
			`"gitlab":"%s","slack":"%s","stripe":"%s","google":"%s","pem":"-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----",`+
			`"db":"postgres://app:%s@db.internal:5432/app","aws":"aws_secret_access_key=%s","html":"<a href=\"/p?a=1&amp;token=%s\">x</a>"}`,
			apw, akey, acookie, gl, sl, st, gg, pem, dbpw, awss, htok), "stdout", apw, akey, acookie, gl, sl, st, gg, pem, dbpw, awss, htok)
		pat, rk, sess := "github_pat_11"+p.pick(alnum, 20)+"_"+p.pick(alnum, 59), "rk_live_"+p.pick(alnum, 24), "FwoGZXIvYXdzE"+p.pick(b64, 40)
		add(fmt.Sprintf(`{"level":"debug","msg":"assumed role","creds":{"SessionToken":"%s"},"note":"ci uses %s and %s"}`, sess, pat, rk), "stdout", sess, pat, rk)
		survivors[`\"name\":\"alice\"`]++ // inside the log string, escaped

		// A record parsed upstream: its own keys are secret-named.
		ucs, upw, ust := p.token(), p.password(), p.stripe()
		rec := append(task.Record(nil, "stdout")[1:], chunk.KV{Key: "level", Value: "warn"}, chunk.KV{Key: "client_secret", Value: ucs},
			chunk.KV{Key: "nested", Value: map[string]any{"dbPassword": upw, "port": 5432}}, chunk.KV{Key: "note", Value: "paid " + ust})
		recs = append(recs, rec)
		secrets = append(secrets, ucs, upw, ust)
		records++

		if i%5 == 0 {
			// Docker's 16 KiB split: a long access line and a long app JSON line, each
			// with a secret cut at the boundary; the last pieces come in the next flush.
			sjwt, spw := p.jwt(), p.password()
			head := fmt.Sprintf(`[%s] "GET /search?q=`, stamp(i))
			pad := strings.Repeat("q", chunkgen.DockerPartSize-len(head)-len("&id_token=")-20)
			long := head + pad + "&id_token=" + sjwt + "&more=" + strings.Repeat("m", 20000) +
				fmt.Sprintf(` HTTP/1.1" 200 0 11 1 1 "-" "curl/8" "req-long-%d" "backend" "10.0.0.1:80"`, i)
			app := `{"level":"info","blob":"` + strings.Repeat("b", chunkgen.DockerPartSize-len(`{"level":"info","blob":"","password":"`)-4) + `","password":"` + spw + `","after":"` + strings.Repeat("a", 5000) + `"}`
			for k, line := range []string{long, app} {
				pieces := task.Pieces([]byte(line), "stdout", fmt.Sprintf("split-%d-%d", i, k), chunkgen.DockerPartSize)
				recs = append(recs, pieces[0])
				carry = append(carry, pieces[1:]...)
				records++
			}
			secrets = append(secrets, sjwt, sjwt[20:], spw, spw[4:]) // whole, and the halves after the cut
		}
		flushes = append(flushes, recs)
	}
	if len(carry) > 0 {
		flushes = append(flushes, carry)
	}
	return flushes, secrets, survivors, records
}

// writeFlushes writes each flush as a chunk file for the host.
func writeFlushes(t *testing.T, flushes [][][]chunk.KV, ts time.Time) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, recs := range flushes {
		data, err := chunkgen.Records(chunk.Encoder{}, recs, ts.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("chunk-%05d.msgpack", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	return files
}

// scanForSecrets fails the test for any planted secret in where (objects, events or
// the plugin's log).
func scanForSecrets(t *testing.T, what string, text []byte, secrets []string) {
	t.Helper()
	leaks := 0
	for _, s := range secrets {
		if len(s) >= 8 && bytes.Contains(text, []byte(s)) {
			if leaks++; leaks <= 5 {
				i := bytes.Index(text, []byte(s))
				t.Errorf("planted secret %q reached %s: ...%s...", s, what, text[max(0, i-150):min(len(text), i+100)])
			}
		}
	}
	if leaks > 0 {
		t.Fatalf("%d planted secrets reached %s", leaks, what)
	}
}

// TestPlantedSecretsNeverReachS3 sends records carrying unique secrets of every class,
// encoding and nesting (plantedRecords) through the real .so, then scans every object
// in the bucket and the plugin's log for them; look-alikes must survive.
func TestPlantedSecretsNeverReachS3(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "redaction"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	flushes, secrets, survivors, records := plantedRecords(planter{rand.New(rand.NewPCG(1, 2))}, task, ts, 60)
	files := writeFlushes(t, flushes, ts)
	for _, mode := range []string{"mask", "hash"} {
		t.Run(mode, func(t *testing.T) {
			kv := map[string]string{
				"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
				"s3_key_format": mode + "/a/$UUID", "other_key_format": mode + "/o/$UUID",
				"redact_detectors": "default,email", "redact_mode": mode,
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
			if n != records {
				t.Fatalf("%d records in the bucket, want %d (split lines joined)", n, records)
			}
			scanForSecrets(t, "S3", all.Bytes(), secrets)
			scanForSecrets(t, "the plugin's log", []byte(r.Stderr), secrets)
			for s, want := range survivors {
				if c := bytes.Count(all.Bytes(), []byte(s)); c != want {
					t.Errorf("look-alike %q survived %d times, want %d", s, c, want)
				}
			}
			if bytes.Contains(all.Bytes(), []byte("partial_message")) {
				t.Errorf("a split line was written in pieces")
			}
			if mode == "hash" {
				// The same token hashes to the same pseudonym wherever it appears.
				if !regexp.MustCompile(`\[h:[0-9a-f]{16}\]`).Match(all.Bytes()) {
					t.Fatalf("hash mode wrote no pseudonyms")
				}
			} else if c := bytes.Count(all.Bytes(), []byte("[REDACTED]")); c < len(secrets)/2 {
				t.Fatalf("only %d [REDACTED] marks for %d planted secrets", c, len(secrets))
			}
		})
	}
}

// TestPlantedSecretsNeverReachCloudWatch: the same records with other_logs
// cloudwatch; the CloudWatch test server's events, the bucket and the plugin's log
// hold none of the secrets.
func TestPlantedSecretsNeverReachCloudWatch(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "redaction-cw"
	m := env(t, bucket)
	cw := cwserver.New()
	defer cw.Close()
	cw.Credentials(m.AccessKey, m.SecretKey, "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", cw.URL())
	task := chunkgen.DefaultTask()
	ts := time.Now().UTC().Add(-time.Minute)
	flushes, secrets, _, records := plantedRecords(planter{rand.New(rand.NewPCG(3, 4))}, task, ts, 30)
	args := append([]string{"--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
		"other_logs": "cloudwatch", "log_group_name": "/ecs/redaction", "auto_create_group": "true",
		"redact_detectors": "default,email",
	})...)
	for _, f := range writeFlushes(t, flushes, ts) {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	if r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}
	var events bytes.Buffer
	n := 0
	for _, e := range cw.Events("/ecs/redaction", task.Tag()) {
		events.WriteString(e.Message + "\n")
		n++
	}
	var s3 bytes.Buffer
	for _, ls := range objects(t, m, bucket, "", compress.Gzip) {
		for _, l := range ls {
			s3.WriteString(l + "\n")
			n++
		}
	}
	if n != records {
		t.Fatalf("%d records in CloudWatch and S3, want %d", n, records)
	}
	scanForSecrets(t, "CloudWatch", events.Bytes(), secrets)
	scanForSecrets(t, "S3", s3.Bytes(), secrets)
	scanForSecrets(t, "the plugin's log", []byte(r.Stderr), secrets)
}

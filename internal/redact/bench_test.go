package redact

import (
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"runtime"
	"strings"
	"testing"
)

// A record is the eight string fields an access record passes through
// redaction: method, path, protocol, user_agent, request_id, authority,
// upstream_host, forwarded_for. The path goes through Path, the rest
// through String.
var benchRecords = [][8]string{
	{"GET", "/api/v1/users/12345", "HTTP/1.1", "curl/8.11.1", "c13c6bc6-5a9e-4ee8-929d-7089c54f31fd", "backend", "10.0.2.1:8080", "-"},
	{"POST", "/api/v1/orders?page=2&sort=desc&limit=50", "HTTP/2",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e", "api.example.com", "tcp://10.0.2.1:80", "203.0.113.7, 10.0.35.28"},
	{"POST", "/helloworld.Greeter/SayHello", "HTTP/2", "grpc-go/1.60.1", "0b5e5f0c-4f4b-4d7e-9a53-2f1c6d8e7a90", "greeter.local:50051", "10.0.5.9:50051", "10.0.35.28"},
	{"GET", "/static/js/app.9f8e7d6c5b4a.js", "HTTP/1.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"5d41402a-bc4b-2a76-b971-9d911017c592", "www.example.com", "10.0.3.17:3000", "198.51.100.23"},
}

// benchSecretRecords carry a secret in the path and a bearer-like header.
var benchSecretRecords = [][8]string{
	{"GET", "/api/v1/me?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U&page=2", "HTTP/1.1",
		"curl/8.11.1", "c13c6bc6-5a9e-4ee8-929d-7089c54f31fd", "backend", "10.0.2.1:8080", "-"},
	{"GET", "/download?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0123456789abcdef", "HTTP/2",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e",
		"files.example.com", "10.0.2.1:80", "203.0.113.7"},
}

// cpuMeter pins the benchmark to its OS thread and returns a func that
// reports the thread's CPU time per op (and MB per CPU second when bytes
// is set). Wall time overstates the cost on a loaded or throttled machine;
// CPU time is what one core pays.
func cpuMeter(b *testing.B, bytes int64) func() {
	runtime.LockOSThread()
	b.ResetTimer()
	cpu0 := cputime.Thread()
	return func() {
		cpu := cputime.Thread() - cpu0
		runtime.UnlockOSThread()
		if cpu <= 0 || b.N == 0 {
			return
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		if bytes > 0 {
			b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
		}
	}
}

func recordBytes(recs [][8]string) ([][8][]byte, int64) {
	out := make([][8][]byte, len(recs))
	var n int64
	for i, r := range recs {
		for j, f := range r {
			out[i][j] = []byte(f)
			n += int64(len(f))
		}
	}
	return out, n
}

func benchRecordsWith(b *testing.B, c Config, recs [][8]string) {
	r := mustNew(b, c)
	in, size := recordBytes(recs)
	var sc Scratch
	dst := make([]byte, 0, 4096)
	b.SetBytes(size / int64(len(in)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := cputime.Thread()
	for i := 0; i < b.N; i++ {
		rec := &in[i%len(in)]
		dst = dst[:0]
		for j, f := range rec {
			if j == 1 {
				dst = r.Path(&sc, dst, f)
			} else {
				dst = r.String(&sc, dst, f)
			}
		}
	}
	cpu := cputime.Thread() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu > 0 {
		// Throughput per core from this thread's CPU time: what one core
		// does when not shared with other processes.
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

func defaultConfig() Config {
	return Config{QueryParams: DefaultQueryParams(), Detectors: DefaultDetectors()}
}

// BenchmarkRecord: one op is one record of eight fields.
func BenchmarkRecord(b *testing.B) {
	all := defaultConfig()
	all.Detectors = allDetectors()
	b.Run("default/clean", func(b *testing.B) { benchRecordsWith(b, defaultConfig(), benchRecords) })
	b.Run("all-detectors/clean", func(b *testing.B) { benchRecordsWith(b, all, benchRecords) })
	b.Run("default/secrets-mask", func(b *testing.B) { benchRecordsWith(b, defaultConfig(), benchSecretRecords) })
	hash := defaultConfig()
	hash.Mode, hash.HashKey = ModeHash, goldenKey
	b.Run("default/secrets-hash", func(b *testing.B) { benchRecordsWith(b, hash, benchSecretRecords) })
}

// benchText is typical text for the per-detector cost: every field of the
// clean records plus an operational log line, none holding a secret.
func benchText() [][]byte {
	var out [][]byte
	for _, r := range benchRecords {
		for _, f := range r {
			out = append(out, []byte(f))
		}
	}
	out = append(out, []byte("[2023-08-15 07:17:32.026][14][info][main] [source/server/server.cc:408] all clusters initialized. initializing cds, version 1.2.3"))
	return out
}

// BenchmarkDetector reports the cost of each rule alone over clean text
// (MB/s), which is what every value pays.
func BenchmarkDetector(b *testing.B) {
	text := benchText()
	var size int64
	for _, t := range text {
		size += int64(len(t))
	}
	run := func(b *testing.B, c Config) {
		r := mustNew(b, c)
		var sc Scratch
		dst := make([]byte, 0, 1024)
		b.SetBytes(size)
		b.ReportAllocs()
		done := cpuMeter(b, size)
		for i := 0; i < b.N; i++ {
			for _, t := range text {
				dst = r.String(&sc, dst[:0], t)
			}
		}
		done()
	}
	b.Run("query_param", func(b *testing.B) { run(b, Config{QueryParams: DefaultQueryParams()}) })
	for d := range numDetectors {
		b.Run(d.String(), func(b *testing.B) { run(b, Config{Detectors: []Detector{d}}) })
	}
}

// BenchmarkDetectorLong: the per-byte cost on one long clean value.
func BenchmarkDetectorLong(b *testing.B) {
	var sb strings.Builder
	for _, t := range benchText() {
		sb.Write(t)
		sb.WriteByte(' ')
	}
	long := []byte(strings.Repeat(sb.String(), 16)) // ~10 KB
	for d := range numDetectors {
		b.Run(d.String(), func(b *testing.B) {
			r := mustNew(b, Config{Detectors: []Detector{d}})
			var sc Scratch
			dst := make([]byte, 0, len(long))
			b.SetBytes(int64(len(long)))
			b.ReportAllocs()
			done := cpuMeter(b, int64(len(long)))
			for i := 0; i < b.N; i++ {
				dst = r.String(&sc, dst[:0], long)
			}
			done()
		})
	}
}

func BenchmarkIP(b *testing.B) {
	r := mustNew(b, Config{IPTruncate: true})
	var sc Scratch
	in := []byte("203.0.113.7, 10.0.35.28, [2001:db8:abcd:12::1]:443")
	dst := make([]byte, 0, 128)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	done := cpuMeter(b, int64(len(in)))
	for i := 0; i < b.N; i++ {
		dst = r.IP(&sc, dst[:0], in)
	}
	done()
}

func BenchmarkWholeHash(b *testing.B) {
	r := mustNew(b, Config{Mode: ModeHash, HashKey: goldenKey})
	var sc Scratch
	in := []byte(benchRecords[1][3])
	dst := make([]byte, 0, 128)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	done := cpuMeter(b, int64(len(in)))
	for i := 0; i < b.N; i++ {
		dst = r.Whole(&sc, dst[:0], in)
	}
	done()
}

// BenchmarkAdversarial: 64 KiB values built to make a scan quadratic (many
// candidates, each scanning far), through Text with the default JSON keys.
// MB/s that falls with the value's size would show a quadratic scan.
func BenchmarkAdversarial(b *testing.B) {
	const size = 64 << 10
	rep := func(s string) []byte { return []byte(strings.Repeat(s, size/len(s))) }
	inputs := map[string][]byte{
		"pairs":       rep("token="),
		"pem-no-end":  rep(`-----BEGIN PRIVATE KEY-----"`),
		"userinfo":    rep("a:b@"),
		"escapes":     rep("%25%32%35\\u0026&amp;"),
		"labels":      rep(`authorization:aws_session_token=`),
		"card-groups": rep("4111 "),
		"bearer":      rep("Bearer "),
		// Members (Text with the default redact_json_keys).
		"member-names":     rep(`"a":"b":`),
		"member-unclosed":  rep(`"password":"x\"`),
		"member-brackets":  rep(`"secret":{"a":[`),
		"member-escaped":   rep(`{\"token\":\"`),
		"member-long-name": rep(`"` + strings.Repeat("passwordx", 60) + `":1,`),
		"header-lines":     rep("x-api-key:\n"),
		"header-escapes":   rep(`cookie: a\r\n`),
	}
	r := mustNew(b, Config{QueryParams: DefaultQueryParams(), Detectors: allDetectors()})
	keys, err := NewNames(DefaultJSONKeys())
	if err != nil {
		b.Fatal(err)
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			var sc Scratch
			dst := make([]byte, 0, 2*len(in))
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			done := cpuMeter(b, int64(len(in)))
			for i := 0; i < b.N; i++ {
				dst = r.Text(&sc, dst[:0], in, keys)
			}
			done()
		})
	}
}

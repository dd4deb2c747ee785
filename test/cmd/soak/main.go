// Command soak drives the real envoy_s3.so through test/host at a steady rate into
// MinIO and reports what it cost: peak RSS of the process, CPU per record (flush,
// spool, compression and upload together), and records delivered.
//
//	go run ./test/cmd/soak -rate 20000 -duration 10m
//
// With -fluent-bit it runs a real Fluent Bit instead, fed through its forward
// input, with -output null (the baseline), gonull (the smallest Go plugin,
// test/cmd/gonull: what any Go plugin costs), s3 (Fluent Bit's own s3 output, gzip,
// into MinIO) or envoy_s3, and reports the peak RSS of the Fluent Bit process:
//
//	go run ./test/cmd/soak -fluent-bit /path/to/fluent-bit -output null -rate 35000 -duration 40s
//
// With -bench it runs the comparison matrix (bench.go) round after round and prints
// the ratios; FLUENT_BIT names the Fluent Bit to run when -fluent-bit is not given.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// config is one run: what to send and where.
type config struct {
	output string // with Fluent Bit: null, gonull, s3 or envoy_s3
	format string // json_lines or parquet
	codec  string
	mix    string // mixed, access or fifth (see lines)
	other  string // other_logs: "" (the plugin's default), s3, cloudwatch or drop
	// Fluent Bit's s3 output: total_file_size and upload_timeout ("" for 50M and 30s)
	s3FileSize, s3Timeout string
	so                    string
	rate                  int
	dur                   time.Duration
	per                   int
	quiet                 bool // no progress lines (bench)
	profile               string
	hostArgs              []string
}

// result is what one run cost. cpu counts from the first record sent to the
// process's exit, so uploads at shutdown (both outputs buffer) are included.
type result struct {
	sent            int64
	sendCPU, cpu    time.Duration
	peakKB          int64
	objects, stored int64
	cwEvents        int
}

func main() {
	var c config
	flag.IntVar(&c.rate, "rate", 20000, "records per second")
	flag.DurationVar(&c.dur, "duration", time.Minute, "how long to send")
	flag.IntVar(&c.per, "chunk", 1000, "records per chunk (one flush)")
	flag.StringVar(&c.codec, "compression", "gzip", "gzip, zstd or none (with -format parquet: zstd, snappy, gzip or none)")
	flag.StringVar(&c.format, "format", "json_lines", "json_lines or parquet")
	flag.StringVar(&c.mix, "mix", "mixed", "records sent: mixed (test/gen's proportions), access (99% access logs) or fifth (a fifth not access logs)")
	flag.StringVar(&c.other, "other-logs", "", "envoy_s3 other_logs: s3, cloudwatch (to a loopback CloudWatch Logs server) or drop")
	flag.StringVar(&c.profile, "cpuprofile", "", "write a Go CPU profile of the whole envoy_s3 process here (ENVOY_S3_CPUPROFILE)")
	var sos []string
	flag.Func("so", "plugin to load (default: envoy_s3.so at the repository root); with -bench, give two to alternate them", func(v string) error {
		abs, err := filepath.Abs(v)
		sos = append(sos, abs)
		return err
	})
	host := flag.String("host", "", "host to run (default: bin/flb-host-stub)")
	flag.Func("hostarg", "extra argument for the host, e.g. -hostarg=--coro-stack=0 (repeatable)", func(v string) error {
		c.hostArgs = append(c.hostArgs, strings.SplitN(v, "=", 2)...)
		return nil
	})
	fb := flag.String("fluent-bit", os.Getenv("FLUENT_BIT"), "run this Fluent Bit (forward input) instead of the C host (default: $FLUENT_BIT)")
	flag.StringVar(&c.output, "output", "envoy_s3", "with -fluent-bit: null, gonull (the smallest Go plugin), s3 (Fluent Bit's own) or envoy_s3")
	bench := flag.Bool("bench", false, "run the comparison matrix (floor, s3, envoy_s3 json_lines, parquet, a fifth other to S3 and to CloudWatch Logs)")
	rounds := flag.Int("rounds", 3, "with -bench: rounds of the matrix")
	rows := flag.String("rows", "", "with -bench: only the rows whose names contain one of these comma-separated words (the floor and Fluent Bit's s3 always run), e.g. -rows json_lines,parquet")
	flag.Parse()
	root, err := miniotest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if len(sos) == 0 {
		sos = []string{filepath.Join(root, "envoy_s3.so")}
	}
	if *host == "" {
		*host = filepath.Join(root, "bin", "flb-host-stub")
	}
	c.so = sos[0]
	once := func(c config) (result, error) {
		if *fb != "" {
			return viaFluentBit(*fb, c)
		}
		return run(*host, c)
	}
	if *bench {
		err = runBench(once, *fb != "", c, sos, *rounds, *rows)
	} else {
		_, err = once(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// lines returns n records of the mix: mixed is test/gen's proportions, access has
// one record in 100 not an access log, fifth one in 5.
func lines(mix string, n int) ([]gen.Labeled, error) {
	g := gen.New(1)
	every := map[string]int{"access": 100, "fifth": 5}[mix]
	switch {
	case mix == "mixed":
		return g.Mixed(n), nil
	case every == 0:
		return nil, fmt.Errorf("-mix %q: mixed, access or fifth", mix)
	}
	return g.OneOtherIn(n, every), nil
}

// services starts MinIO (bucket soak) and, for other_logs cloudwatch, a loopback
// CloudWatch Logs server, and returns the plugin's settings and environment for them.
func services(ctx context.Context, c config) (settings [][2]string, env []string, m *miniotest.Server, cw *cwserver.Server, stop func(), err error) {
	m, err = miniotest.Launch(ctx, miniotest.Options{})
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	stop = func() { m.Stop() }
	if err = m.MakeBucket(ctx, "soak"); err != nil {
		stop()
		return nil, nil, nil, nil, nil, err
	}
	env = []string{"AWS_ACCESS_KEY_ID=" + m.AccessKey, "AWS_SECRET_ACCESS_KEY=" + m.SecretKey, "AWS_EC2_METADATA_DISABLED=true", "ENVOY_S3_SHUTDOWN_TIMEOUT=60s"}
	if c.profile != "" {
		env = append(env, "ENVOY_S3_CPUPROFILE="+c.profile)
	}
	settings = [][2]string{{"bucket", "soak"}, {"region", m.Region}, {"endpoint", m.Endpoint},
		{"compression", c.codec}, {"format", c.format}, {"upload_timeout", "30s"}, {"stats_interval", "30s"}}
	if c.other != "" {
		settings = append(settings, [2]string{"other_logs", c.other})
	}
	if c.other == "cloudwatch" {
		cw = cwserver.New()
		cw.Credentials(m.AccessKey, m.SecretKey, "")
		settings = append(settings, [2]string{"log_group_name", "/ecs/soak"}, [2]string{"auto_create_group", "true"})
		env = append(env, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+cw.URL())
		stop = func() { cw.Close(); m.Stop() }
	}
	return settings, env, m, cw, stop, nil
}

// stored counts the objects in the soak bucket and the CloudWatch events delivered.
func (r *result) count(ctx context.Context, m *miniotest.Server, cw *cwserver.Server, tag string) error {
	if cw != nil {
		r.cwEvents = len(cw.Events("/ecs/soak", tag))
	}
	if m == nil {
		return nil
	}
	objs, err := m.ListObjects(ctx, "soak", "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		r.objects++
		r.stored += o.Size
	}
	return nil
}

func run(hostPath string, c config) (result, error) {
	var r result
	ctx := context.Background()
	settings, env, m, cw, stop, err := services(ctx, c)
	if err != nil {
		return r, err
	}
	defer stop()
	work, err := os.MkdirTemp("", "envoy_s3-soak-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	task := chunkgen.DefaultTask()
	recs, err := lines(c.mix, c.per*20)
	if err != nil {
		return r, err
	}
	files, err := chunkgen.WriteFiles(work, chunk.Encoder{}, task, recs, c.per, time.Now())
	if err != nil {
		return r, err
	}
	args := append(append([]string{"--plugin", c.so}, c.hostArgs...), "--stdin", "--instance", "store_dir="+filepath.Join(work, "spool"))
	for _, s := range settings {
		args = append(args, s[0]+"="+s[1])
	}
	cmd := exec.Command(hostPath, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	out := bufio.NewScanner(stdout)
	for out.Scan() && out.Text() != "ready" {
	}
	pid := cmd.Process.Pid
	var hwm peakRSS
	stopHWM := hwm.watch(pid) // the uploads at exit count too
	interval := time.Duration(c.per) * time.Second / time.Duration(c.rate)
	start := time.Now()
	cpu0 := cpuTime(pid)
	var retries int64
	next := start
	for i := 0; time.Since(start) < c.dur; i++ {
		fmt.Fprintf(stdin, "flush 0 %s %s\n", files[i%len(files)], task.Tag())
		if !out.Scan() {
			return r, fmt.Errorf("host ended early")
		}
		f := strings.Fields(out.Text())
		if len(f) == 4 && f[3] == "1" {
			r.sent += int64(c.per)
		} else {
			retries++
		}
		if !c.quiet && i%int(max(1, int64(time.Second/interval)*10)) == 0 {
			fmt.Printf("%6.0fs  sent %9d  rss %6.1f MiB  peak %6.1f MiB\n", time.Since(start).Seconds(), r.sent, float64(statusKB(pid, "VmRSS:"))/1024, float64(hwm.get())/1024)
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	r.sendCPU = cpuTime(pid) - cpu0
	fmt.Fprintln(stdin, "exit")
	stdin.Close()
	for out.Scan() {
	}
	cmd.Wait()
	stopHWM()
	r.cpu = processCPU(cmd) - cpu0
	r.peakKB = hwm.get()
	took := time.Since(start)
	if err := r.count(ctx, m, cw, task.Tag()); err != nil {
		return r, err
	}
	if !c.quiet {
		fmt.Printf("\nrate %d rec/s for %s: %d records acknowledged, %d flushes refused\n", c.rate, c.dur, r.sent, retries)
		fmt.Printf("peak RSS %.1f MiB; CPU while sending %.2f s = %.2f µs per record (flush, spool, compress, upload); to exit %.2f s = %.2f µs\n",
			float64(r.peakKB)/1024, r.sendCPU.Seconds(), perRecord(r.sendCPU, r.sent), r.cpu.Seconds(), perRecord(r.cpu, r.sent))
		fmt.Printf("%d objects, %d bytes stored, %d CloudWatch events; all done in %s\n", r.objects, r.stored, r.cwEvents, took.Round(time.Millisecond))
	}
	return r, nil
}

func perRecord(d time.Duration, n int64) float64 {
	return float64(d.Microseconds()) / float64(max(n, 1))
}

// processCPU is the user and system CPU of a process that has exited.
func processCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// cpuTime reads utime+stime of pid from /proc (clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

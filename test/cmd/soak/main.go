// Command soak drives the real envoy_s3.so through test/host at a steady rate into
// MinIO and reports what it cost: peak RSS of the process, CPU per record (flush,
// spool, compression and upload together), and records delivered.
//
//	go run ./test/cmd/soak -rate 20000 -duration 10m
//
// With -fluent-bit it runs a real Fluent Bit instead, fed through its forward
// input, with -output null (the baseline), gonull (the smallest Go plugin,
// test/cmd/gonull: what any Go plugin costs) or envoy_s3, and reports the peak RSS of
// the Fluent Bit process:
//
//	go run ./test/cmd/soak -fluent-bit /path/to/fluent-bit -output null -rate 35000 -duration 40s
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
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

func main() {
	rate := flag.Int("rate", 20000, "records per second")
	dur := flag.Duration("duration", time.Minute, "how long to send")
	per := flag.Int("chunk", 1000, "records per chunk (one flush)")
	codec := flag.String("compression", "gzip", "gzip, zstd or none (with -format parquet: zstd, snappy, gzip or none)")
	flag.StringVar(&objFormat, "format", "json_lines", "json_lines or parquet")
	flag.StringVar(&soPath, "so", "", "plugin to load (default: envoy_s3.so at the repository root)")
	flag.StringVar(&hostPath, "host", "", "host to run (default: bin/flb-host-stub)")
	flag.Func("hostarg", "extra argument for the host, e.g. -hostarg=--coro-stack=0 (repeatable)", func(v string) error {
		hostArgs = append(hostArgs, strings.SplitN(v, "=", 2)...)
		return nil
	})
	fb := flag.String("fluent-bit", "", "run this Fluent Bit (forward input) instead of the C host")
	output := flag.String("output", "envoy_s3", "with -fluent-bit: null, gonull (the smallest Go plugin) or envoy_s3")
	flag.Parse()
	run := run
	if *fb != "" {
		run = func(rate int, dur time.Duration, per int, codec string) error {
			return viaFluentBit(*fb, *output, rate, dur, per, codec)
		}
	}
	if err := run(*rate, *dur, *per, *codec); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

var (
	objFormat        string
	soPath, hostPath string
	hostArgs         []string
)

func run(rate int, dur time.Duration, per int, codec string) error {
	root, err := miniotest.RepoRoot()
	if err != nil {
		return err
	}
	if soPath == "" {
		soPath = filepath.Join(root, "envoy_s3.so")
	}
	if hostPath == "" {
		hostPath = filepath.Join(root, "bin", "flb-host-stub")
	}
	ctx := context.Background()
	m, err := miniotest.Launch(ctx, miniotest.Options{})
	if err != nil {
		return err
	}
	defer m.Stop()
	if err := m.MakeBucket(ctx, "soak"); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "envoy_s3-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(work, chunk.Encoder{}, task, gen.New(1).Mixed(per*20), per, time.Now())
	if err != nil {
		return err
	}
	cmd := exec.Command(hostPath, append(append([]string{"--plugin", soPath}, hostArgs...), "--stdin",
		"--instance", "bucket=soak", "region="+m.Region, "endpoint="+m.Endpoint, "compression="+codec, "format="+objFormat,
		"store_dir="+filepath.Join(work, "spool"), "upload_timeout=30s", "stats_interval=30s")...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey, "AWS_EC2_METADATA_DISABLED=true", "ENVOY_S3_SHUTDOWN_TIMEOUT=60s")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	out := bufio.NewScanner(stdout)
	for out.Scan() && out.Text() != "ready" {
	}
	pid := cmd.Process.Pid
	interval := time.Duration(per) * time.Second / time.Duration(rate)
	start := time.Now()
	cpu0 := cpuTime(pid)
	var peak, sent, retries int64
	next := start
	for i := 0; time.Since(start) < dur; i++ {
		fmt.Fprintf(stdin, "flush 0 %s %s\n", files[i%len(files)], task.Tag())
		if !out.Scan() {
			return fmt.Errorf("host ended early")
		}
		f := strings.Fields(out.Text())
		if len(f) == 4 && f[3] == "1" {
			sent += int64(per)
		} else {
			retries++
		}
		if rss := rssKB(pid); rss > peak {
			peak = rss
		}
		if i%int(max(1, int64(time.Second/interval)*10)) == 0 {
			fmt.Printf("%6.0fs  sent %9d  rss %6.1f MiB  peak %6.1f MiB\n", time.Since(start).Seconds(), sent, float64(rssKB(pid))/1024, float64(peak)/1024)
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	sendCPU := cpuTime(pid) - cpu0
	var hwm peakRSS
	stopHWM := hwm.watch(pid) // the uploads at exit count too
	fmt.Fprintln(stdin, "exit")
	stdin.Close()
	for out.Scan() {
	}
	cmd.Wait()
	stopHWM()
	peak = max(peak, hwm.get())
	took := time.Since(start)
	objs, err := m.ListObjects(ctx, "soak", "")
	if err != nil {
		return err
	}
	var stored int64
	for _, o := range objs {
		stored += o.Size
	}
	fmt.Printf("\nrate %d rec/s for %s: %d records acknowledged, %d flushes refused\n", rate, dur, sent, retries)
	fmt.Printf("peak RSS %.1f MiB; CPU while sending %.2f s = %.2f µs per record (flush, spool, compress, upload)\n",
		float64(peak)/1024, sendCPU.Seconds(), float64(sendCPU.Microseconds())/float64(sent))
	fmt.Printf("%d objects, %d bytes stored; all done in %s\n", len(objs), stored, took.Round(time.Millisecond))
	return nil
}

// rssKB reads VmRSS of pid from /proc.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
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

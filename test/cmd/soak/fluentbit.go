package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/forward"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// viaFluentBit runs a real Fluent Bit with a forward input (as Docker's fluentd log
// driver feeds it under FireLens) and either the null output or envoy_s3, sends
// records at rate with the forward protocol, and reports the peak RSS (VmHWM) of the
// Fluent Bit process: the null output is the baseline envoy_s3 is compared with.
func viaFluentBit(fb, output string, rate int, dur time.Duration, per int, codec string) error {
	root, err := miniotest.RepoRoot()
	if err != nil {
		return err
	}
	if soPath == "" {
		soPath = filepath.Join(root, "envoy_s3.so")
	}
	work, err := os.MkdirTemp("", "envoy_s3-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	ctx := context.Background()
	var conf strings.Builder
	fmt.Fprintf(&conf, "[SERVICE]\n    Flush 1\n    Grace 30\n    Log_Level warn\n\n[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port %d\n\n", port)
	args := []string{}
	env := os.Environ()
	var m *miniotest.Server
	switch output {
	case "null":
		conf.WriteString("[OUTPUT]\n    Name null\n    Match *\n")
	case "gonull":
		// The smallest Go plugin: what being a Go plugin costs, apart from envoy_s3.
		so := filepath.Join(work, "gonull.so")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-o", so, "./test/cmd/gonull")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building test/cmd/gonull: %w", err)
		}
		conf.WriteString("[OUTPUT]\n    Name gonull\n    Match *\n")
		args = append(args, "-e", so)
	case "envoy_s3":
		m, err = miniotest.Launch(ctx, miniotest.Options{})
		if err != nil {
			return err
		}
		defer m.Stop()
		if err := m.MakeBucket(ctx, "soak"); err != nil {
			return err
		}
		fmt.Fprintf(&conf, "[OUTPUT]\n    Name envoy_s3\n    Match *\n    bucket soak\n    region %s\n    endpoint %s\n    compression %s\n    format %s\n    store_dir %s\n    upload_timeout 30s\n    stats_interval 30s\n",
			m.Region, m.Endpoint, codec, objFormat, filepath.Join(work, "spool"))
		args = append(args, "-e", soPath)
		env = append(env, "AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey, "AWS_EC2_METADATA_DISABLED=true", "ENVOY_S3_SHUTDOWN_TIMEOUT=60s")
	default:
		return fmt.Errorf("-output %q: null, gonull or envoy_s3", output)
	}
	cfg := filepath.Join(work, "fluent-bit.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(fb, append(args, "-c", cfg)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	conn, err := forward.Dial(port)
	if err != nil {
		return err
	}

	// Messages built before the clock starts, so the sender is not what limits the rate.
	task := chunkgen.DefaultTask()
	lines := gen.New(1).Mixed(per * 20)
	start := time.Now()
	msgs := make([][]byte, 0, 20)
	for i := 0; i < len(lines); i += per {
		msg := chunk.AppendArrayHeader(nil, 3)
		msg = chunk.AppendString(msg, task.Tag())
		msg = chunk.AppendArrayHeader(msg, per)
		for j := i; j < i+per; j++ {
			msg = chunk.AppendArrayHeader(msg, 2)
			msg = chunk.AppendEventTime(msg, start.Add(time.Duration(j)*time.Millisecond))
			if msg, err = chunk.AppendAny(msg, task.Record(lines[j].Line, chunkgen.Source(lines[j]))); err != nil {
				return err
			}
		}
		msgs = append(msgs, msg)
	}

	var peak peakRSS
	stop := peak.watch(pid)
	interval := time.Duration(per) * time.Second / time.Duration(rate)
	cpu0 := cpuTime(pid)
	var sent int64
	begin := time.Now()
	next := begin
	for i := 0; time.Since(begin) < dur; i++ {
		id := "soak-" + strconv.Itoa(i)
		msg := chunk.AppendMapHeader(msgs[i%len(msgs)], 1)
		msg = chunk.AppendString(chunk.AppendString(msg, "chunk"), id)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		msgs[i%len(msgs)] = msg[:len(msgs[i%len(msgs)])]
		if err := forward.WaitAck(conn, id); err != nil {
			return err
		}
		sent += int64(per)
		if i%int(max(1, int64(time.Second/interval)*10)) == 0 {
			fmt.Printf("%6.0fs  sent %9d  rss %6.1f MiB  peak %6.1f MiB\n", time.Since(begin).Seconds(), sent, float64(statusKB(pid, "VmRSS:"))/1024, float64(peak.get())/1024)
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	sendCPU := cpuTime(pid) - cpu0
	achieved := float64(sent) / time.Since(begin).Seconds()
	conn.Close()
	time.Sleep(3 * time.Second) // a Flush interval or two
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	stop()
	fmt.Printf("\nfluent-bit %s output, %d rec/s asked, %.0f rec/s acknowledged for %s: %d records\n", output, rate, achieved, dur, sent)
	fmt.Printf("peak RSS (VmHWM) of fluent-bit %.1f MiB; CPU while sending %.2f s = %.2f µs per record\n",
		float64(peak.get())/1024, sendCPU.Seconds(), float64(sendCPU.Microseconds())/float64(sent))
	if m != nil {
		objs, err := m.ListObjects(ctx, "soak", "")
		if err != nil {
			return err
		}
		var stored int64
		for _, o := range objs {
			stored += o.Size
		}
		fmt.Printf("%d objects, %d bytes stored\n", len(objs), stored)
	}
	return nil
}

// peakRSS follows VmHWM of a process until it exits.
type peakRSS struct {
	mu sync.Mutex
	kb int64
}

func (p *peakRSS) get() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kb
}

func (p *peakRSS) watch(pid int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := statusKB(pid, "VmHWM:"); kb > 0 {
				p.mu.Lock()
				p.kb = max(p.kb, kb)
				p.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// statusKB reads one kB field of /proc/<pid>/status.
func statusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

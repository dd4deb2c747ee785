package main

import (
	"cmp"
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
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/forward"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// viaFluentBit runs a real Fluent Bit with a forward input (as Docker's fluentd log
// driver feeds it under FireLens) and the output of c, sends records at rate with the
// forward protocol, and reports the CPU and peak RSS (VmHWM) of the Fluent Bit
// process: the null output is the baseline envoy_s3 is compared with, Fluent Bit's
// own s3 output (gzip, PutObject into MinIO) the yardstick.
func viaFluentBit(fb string, c config) (result, error) {
	var r result
	work, err := os.MkdirTemp("", "envoy_s3-soak-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	ctx := context.Background()
	var conf strings.Builder
	fmt.Fprintf(&conf, "[SERVICE]\n    Flush 1\n    Grace 30\n    Log_Level warn\n\n[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port %d\n\n", port)
	args := []string{}
	env := os.Environ()
	var m *miniotest.Server
	var cw *cwserver.Server
	switch c.output {
	case "null":
		conf.WriteString("[OUTPUT]\n    Name null\n    Match *\n")
	case "gonull":
		// The smallest Go plugin: what being a Go plugin costs, apart from envoy_s3.
		so := filepath.Join(work, "gonull.so")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-o", so, "./test/cmd/gonull")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return r, fmt.Errorf("building test/cmd/gonull: %w", err)
		}
		conf.WriteString("[OUTPUT]\n    Name gonull\n    Match *\n")
		args = append(args, "-e", so)
	case "s3", "envoy_s3":
		settings, senv, ms, cws, stop, err := services(ctx, c)
		if err != nil {
			return r, err
		}
		defer stop()
		m, cw, env = ms, cws, append(env, senv...)
		if c.output == "s3" {
			// Fluent Bit's own output as a FireLens user would set it up: gzip,
			// PutObject (MinIO takes path-style requests at the endpoint), its own
			// buffer directory; objects are the whole record as JSON lines.
			settings = [][2]string{{"bucket", "soak"}, {"region", m.Region}, {"endpoint", m.Endpoint},
				{"use_put_object", "On"}, {"compression", "gzip"}, {"total_file_size", cmp.Or(c.s3FileSize, "50M")},
				{"upload_timeout", cmp.Or(c.s3Timeout, "30s")}, {"retry_limit", "2"}}
		} else {
			args = append(args, "-e", c.so)
		}
		fmt.Fprintf(&conf, "[OUTPUT]\n    Name %s\n    Match *\n    store_dir %s\n", c.output, filepath.Join(work, "store"))
		for _, s := range settings {
			fmt.Fprintf(&conf, "    %s %s\n", s[0], s[1])
		}
	default:
		return r, fmt.Errorf("-output %q: null, gonull, s3 or envoy_s3", c.output)
	}
	cfg := filepath.Join(work, "fluent-bit.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		return r, err
	}
	if c.quiet {
		args = append(args, "-q") // no banner between the bench's lines
	}
	cmd := exec.Command(fb, append(args, "-c", cfg)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	conn, err := forward.Dial(port)
	if err != nil {
		return r, err
	}

	// Messages built before the clock starts, so the sender is not what limits the rate.
	task := chunkgen.DefaultTask()
	recs, err := lines(c.mix, c.per*20)
	if err != nil {
		return r, err
	}
	start := time.Now()
	msgs := make([][]byte, 0, 20)
	for i := 0; i < len(recs); i += c.per {
		msg := chunk.AppendArrayHeader(nil, 3)
		msg = chunk.AppendString(msg, task.Tag())
		msg = chunk.AppendArrayHeader(msg, c.per)
		for j := i; j < i+c.per; j++ {
			msg = chunk.AppendArrayHeader(msg, 2)
			msg = chunk.AppendEventTime(msg, start.Add(time.Duration(j)*time.Millisecond))
			if msg, err = chunk.AppendAny(msg, task.Record(recs[j].Line, chunkgen.Source(recs[j]))); err != nil {
				return r, err
			}
		}
		msgs = append(msgs, msg)
	}

	var peak peakRSS
	stop := peak.watch(pid)
	interval := time.Duration(c.per) * time.Second / time.Duration(c.rate)
	cpu0 := cpuTime(pid)
	begin := time.Now()
	next := begin
	for i := 0; time.Since(begin) < c.dur; i++ {
		id := "soak-" + strconv.Itoa(i)
		msg := chunk.AppendMapHeader(msgs[i%len(msgs)], 1)
		msg = chunk.AppendString(chunk.AppendString(msg, "chunk"), id)
		if _, err := conn.Write(msg); err != nil {
			return r, err
		}
		msgs[i%len(msgs)] = msg[:len(msgs[i%len(msgs)])]
		if err := forward.WaitAck(conn, id); err != nil {
			return r, err
		}
		r.sent += int64(c.per)
		if !c.quiet && i%int(max(1, int64(time.Second/interval)*10)) == 0 {
			fmt.Printf("%6.0fs  sent %9d  rss %6.1f MiB  peak %6.1f MiB\n", time.Since(begin).Seconds(), r.sent, float64(statusKB(pid, "VmRSS:"))/1024, float64(peak.get())/1024)
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	r.sendCPU = cpuTime(pid) - cpu0
	achieved := float64(r.sent) / time.Since(begin).Seconds()
	conn.Close()
	time.Sleep(3 * time.Second) // a Flush interval or two
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	stop()
	r.cpu = processCPU(cmd) - cpu0
	r.peakKB = peak.get()
	if err := r.count(ctx, m, cw, task.Tag()); err != nil {
		return r, err
	}
	if !c.quiet {
		fmt.Printf("\nfluent-bit %s output, %d rec/s asked, %.0f rec/s acknowledged for %s: %d records\n", c.output, c.rate, achieved, c.dur, r.sent)
		fmt.Printf("peak RSS (VmHWM) of fluent-bit %.1f MiB; CPU while sending %.2f s = %.2f µs per record; to exit %.2f s = %.2f µs\n",
			float64(r.peakKB)/1024, r.sendCPU.Seconds(), perRecord(r.sendCPU, r.sent), r.cpu.Seconds(), perRecord(r.cpu, r.sent))
		if m != nil {
			fmt.Printf("%d objects, %d bytes stored, %d CloudWatch events\n", r.objects, r.stored, r.cwEvents)
		}
	}
	return r, nil
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

// Package outage measures what an S3 outage does to a router: records are sent at
// a fixed rate through the real envoy_s3.so into MinIO, with test/faultproxy in
// between; for a while every S3 request is reset (S3 unreachable), then S3 is back.
// It samples the spool, the router's memory and the chunks waiting at the sender,
// times the drain, and reads every object back to count records lost and
// duplicated. test/cmd/outage prints its table; test/e2e runs it compressed.
//
// The router is the C host (test/host) standing in for Fluent Bit with
// Retry_Limit no_limits: a chunk refused with RETRY is kept and flushed again a
// second later, oldest first, while new chunks keep coming. With Options.FluentBit
// it is a real Fluent Bit (forward input, storage.type filesystem), fed with the
// forward protocol; the chunks waiting are then the files in its storage.path.
//
// Every record carries a sequence number ("outage-<n>", the request id of access
// lines and the end of other lines), so each one is found in S3 exactly once or
// counted as lost or duplicated.
package outage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/forward"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// Options of a run. Zero values take the defaults named.
type Options struct {
	Rate     int           // records per second; 5000
	Before   time.Duration // S3 up before the outage; 30s
	Outage   time.Duration // S3 unreachable; 10m
	After    time.Duration // longest wait for the drain once S3 is back; 10m
	PerChunk int           // records per chunk (one flush); 500
	Every    time.Duration // a row of the table this often; 30s
	// Settings are envoy_s3 options added to (or replacing) the run's: bucket,
	// region, endpoint, store_dir, compression zstd, stats_interval 5s.
	Settings map[string]string
	// FluentBit, when set, runs that Fluent Bit instead of the C host.
	FluentBit string
	SO, Host  string    // the plugin and the C host; default: the repository's
	Log       io.Writer // progress; nil discards
	RouterLog io.Writer // the router's own log; nil discards
}

// Row is one sample.
type Row struct {
	At         time.Duration
	Phase      string // "S3 up", "S3 down", "S3 back"
	SpoolBytes int64  // bytes under store_dir
	RSSKiB     int64  // resident memory of the router process
	Held       int    // chunks refused and waiting at the sender (Fluent Bit: chunk files)
	Sent       int64  // records handed to the router
	Accepted   int64  // records the plugin accepted (stats line records=)
	Stored     int64  // records the plugin stored in S3 (stats line stored_records=)
	Retry      int64  // flushes answered RETRY so far (stats line backpressure=)
}

// Result of a run.
type Result struct {
	Rows       []Row
	Router     string // "C host" or the Fluent Bit path
	Sent       int64  // records generated and handed to the router
	Accepted   int64
	Retry      int64 // flushes answered RETRY
	InS3       int64 // distinct records found in S3
	Lost       int64 // sent, acknowledged by the router, never found in S3
	Duplicated int64 // extra copies found in S3
	Unsent     int64 // still refused when the run ended (the drain did not finish)
	PeakRSSKiB int64 // VmHWM of the router process
	PeakSpool  int64
	MaxHeld    int
	Drain      time.Duration // S3 back until no chunk waits and no sealed batch is left in store_dir
	Drained    bool
	Objects    int
	S3Requests int // requests the proxy saw, reset ones included
	Resets     int // requests reset during the outage
}

func (o *Options) defaults() error {
	if o.Rate <= 0 {
		o.Rate = 5000
	}
	if o.Before <= 0 {
		o.Before = 30 * time.Second
	}
	if o.Outage <= 0 {
		o.Outage = 10 * time.Minute
	}
	if o.After <= 0 {
		o.After = 10 * time.Minute
	}
	if o.PerChunk <= 0 {
		o.PerChunk = 500
	}
	if o.Every <= 0 {
		o.Every = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.RouterLog == nil {
		o.RouterLog = io.Discard
	}
	root, err := miniotest.RepoRoot()
	if err != nil {
		return err
	}
	if o.SO == "" {
		o.SO = filepath.Join(root, "envoy_s3.so")
	}
	if o.Host == "" {
		o.Host = filepath.Join(root, "bin", "flb-host-stub")
	}
	return nil
}

// router is the process the records go through.
type router interface {
	pid() int
	// send hands one chunk of records over; false: refused (held by the sender).
	send(c *pending) (bool, error)
	// held is the number of chunks waiting at the sender or router.
	held() int
	// drained reports whether every record sent so far was accepted (give or
	// take the last second's).
	drained(sent int64) bool
	// retry flushes waiting chunks again, oldest first, until one is refused or
	// limit have been accepted; it reports how many were.
	retry(limit int) (int, error)
	stop() error
}

// pending is one chunk not yet accepted.
type pending struct {
	first, n int64
	path     string // C host: the chunk file
	msg      []byte // Fluent Bit: the forward message
}

const bucket = "outage"

// Run performs one measurement. It needs MinIO (miniotest) and the built .so and host.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	m, err := miniotest.Launch(ctx, miniotest.Options{})
	if err != nil {
		return nil, err
	}
	defer m.Stop()
	if err := m.MakeBucket(ctx, bucket); err != nil {
		return nil, err
	}
	proxy, err := faultproxy.Start(m.Endpoint)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	work, err := os.MkdirTemp("", "envoy_s3-outage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	store := filepath.Join(work, "spool")
	if err := os.Mkdir(store, 0o700); err != nil {
		return nil, err
	}
	settings := map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": proxy.URL(), "store_dir": store,
		"compression": "zstd", "stats_interval": "5s",
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey,
		"AWS_EC2_METADATA_DISABLED=true", "ENVOY_S3_SHUTDOWN_TIMEOUT=300s")
	st := &statsTail{out: o.RouterLog}
	res := &Result{Router: "C host (test/host) and envoy_s3.so"}
	var r router
	if o.FluentBit != "" {
		res.Router = "Fluent Bit " + o.FluentBit
		r, err = startFluentBit(o, work, settings, env, st)
	} else {
		r, err = startHost(o, work, settings, env, st)
	}
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			r.stop()
		}
	}()

	task := chunkgen.DefaultTask()
	var sent atomic.Int64
	var phase atomic.Value
	phase.Store("S3 up")
	begin := time.Now()
	sampler := &sampler{o: &o, r: r, store: store, st: st, sent: &sent, phase: &phase, begin: begin, res: res}
	stopSampling := sampler.start()

	interval := time.Duration(o.PerChunk) * time.Second / time.Duration(o.Rate)
	downAt, upAt := begin.Add(o.Before), begin.Add(o.Before+o.Outage)
	deadline := upAt.Add(o.After)
	next := begin
	lastRetry := begin
	var seq int64
	down, back := false, false
	for {
		now := time.Now()
		if !down && !now.Before(downAt) {
			down = true
			phase.Store("S3 down")
			proxy.SetPlan(func(int, *http.Request) faultproxy.Fault { return faultproxy.Reset })
			fmt.Fprintf(o.Log, "%s: S3 unreachable (every request reset)\n", now.Sub(begin).Round(time.Second))
		}
		if !back && !now.Before(upAt) {
			back = true
			phase.Store("S3 back")
			proxy.SetPlan(nil)
			fmt.Fprintf(o.Log, "%s: S3 reachable again\n", now.Sub(begin).Round(time.Second))
		}
		if back && r.drained(sent.Load()) && sealedWaiting(store) == 0 {
			res.Drain, res.Drained = now.Sub(upAt), true
			break
		}
		if now.After(deadline) {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := newChunk(work, task, seq, o.PerChunk, now, o.FluentBit != "")
		if err != nil {
			return nil, err
		}
		seq += int64(o.PerChunk)
		sent.Add(int64(o.PerChunk))
		if _, err := r.send(c); err != nil {
			return nil, err
		}
		if r.held() > 0 && now.Sub(lastRetry) >= time.Second {
			lastRetry = now
			if _, err := r.retry(1 << 20); err != nil {
				return nil, err
			}
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	stopSampling()
	res.Sent = sent.Load()
	res.Unsent = int64(r.held()) * int64(o.PerChunk)
	stopped = true
	if err := r.stop(); err != nil {
		return nil, err
	}
	res.PeakRSSKiB = max(res.PeakRSSKiB, sampler.hwm.Load())
	res.Accepted, _, res.Retry = st.values()
	res.Resets = proxy.Count(faultproxy.Reset)
	res.S3Requests = len(proxy.Requests())
	seen, objects, err := readBack(ctx, m, seq)
	if err != nil {
		return nil, err
	}
	res.Objects = objects
	for i, n := range seen {
		switch {
		case n > 0:
			res.InS3++
			res.Duplicated += int64(n - 1)
		case !inUnsent(r, int64(i)):
			res.Lost++
		}
	}
	return res, nil
}

// inUnsent reports whether record i is in a chunk the router still refused at the
// end (those are not lost by the plugin: it never acknowledged them).
func inUnsent(r router, i int64) bool {
	if h, ok := r.(*hostRouter); ok {
		for _, c := range h.queue {
			if i >= c.first && i < c.first+c.n {
				return true
			}
		}
	}
	return false
}

// newChunk builds records first..first+n-1: three access lines in four.
func newChunk(dir string, task chunkgen.Task, first int64, n int, now time.Time, forwardMsg bool) (*pending, error) {
	lines := make([]gen.Labeled, n)
	for i := range lines {
		s := first + int64(i)
		ts := now.Add(time.Duration(i) * time.Millisecond).UTC()
		if s%4 == 3 {
			lines[i] = gen.Labeled{Line: fmt.Appendf(nil, "[%s][14][info][main] [source/server/server.cc:408] outage-%d",
				ts.Format("2006-01-02 15:04:05.000"), s)}
			continue
		}
		lines[i] = gen.Labeled{IsAccess: true, Line: fmt.Appendf(nil,
			`[%s] "GET /api/orders/%d?page=2 HTTP/1.1" 200 0 %d %d 2 "10.0.1.%d" "curl/8.11.1" "outage-%d" "backend" "10.0.2.1:8080"`,
			ts.Format("2006-01-02T15:04:05.000Z"), s%97, 100+s%900, 1+s%50, s%250, s)}
	}
	c := &pending{first: first, n: int64(n)}
	if forwardMsg {
		msg := chunk.AppendArrayHeader(nil, 3)
		msg = chunk.AppendString(msg, task.Tag())
		msg = chunk.AppendArrayHeader(msg, n)
		for i, l := range lines {
			msg = chunk.AppendArrayHeader(msg, 2)
			msg = chunk.AppendEventTime(msg, now.Add(time.Duration(i)*time.Millisecond))
			var err error
			if msg, err = chunk.AppendAny(msg, task.Record(l.Line, chunkgen.Source(l))); err != nil {
				return nil, err
			}
		}
		c.msg = chunk.AppendString(chunk.AppendString(chunk.AppendMapHeader(msg, 1), "chunk"), "c"+strconv.FormatInt(first, 10))
		return c, nil
	}
	data, err := chunkgen.Chunk(chunk.Encoder{}, task, lines, now)
	if err != nil {
		return nil, err
	}
	c.path = filepath.Join(dir, "chunk-"+strconv.FormatInt(first, 10)+".msgpack")
	return c, os.WriteFile(c.path, data, 0o600)
}

// readBack counts each record's copies in the bucket.
func readBack(ctx context.Context, m *miniotest.Server, records int64) ([]uint16, int, error) {
	seen := make([]uint16, records)
	objs, err := m.ListObjects(ctx, bucket, "")
	if err != nil {
		return nil, 0, err
	}
	for _, obj := range objs {
		body, err := m.GetObject(ctx, bucket, obj.Key)
		if err != nil {
			return nil, 0, err
		}
		codec := compress.None
		for _, c := range []compress.Codec{compress.Gzip, compress.Zstd} {
			if strings.HasSuffix(obj.Key, c.Ext()) {
				codec = c
			}
		}
		if body, err = compress.Decode(codec, body); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", obj.Key, err)
		}
		for line := range bytes.Lines(body) {
			i := bytes.Index(line, []byte("outage-"))
			if i < 0 {
				return nil, 0, fmt.Errorf("%s: a line without a sequence number: %.200s", obj.Key, line)
			}
			j := i + len("outage-")
			k := j
			for k < len(line) && line[k] >= '0' && line[k] <= '9' {
				k++
			}
			s, err := strconv.ParseInt(string(line[j:k]), 10, 64)
			if err != nil || s >= records {
				return nil, 0, fmt.Errorf("%s: bad sequence number in %.200s", obj.Key, line)
			}
			seen[s]++
		}
	}
	return seen, len(objs), nil
}

// sealedWaiting counts sealed batch files not yet uploaded under store.
func sealedWaiting(store string) int {
	n := 0
	dirs, _ := filepath.Glob(filepath.Join(store, "*", "sealed"))
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		n += len(entries)
	}
	return n
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// statusKiB reads one kB field of /proc/<pid>/status.
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, field) {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// statsTail copies the router's log to out and keeps the last stats line's counters.
type statsTail struct {
	out                           io.Writer
	mu                            sync.Mutex
	records, stored, backpressure int64
}

func (s *statsTail) values() (records, stored, backpressure int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.stored, s.backpressure
}

func (s *statsTail) follow(r io.Reader, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.out, line)
		if !strings.Contains(line, " stats: ") && !strings.Contains(line, " exit: ") {
			continue
		}
		s.mu.Lock()
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "records":
				s.records = n
			case "stored_records":
				s.stored = n
			case "backpressure":
				s.backpressure = n
			}
		}
		s.mu.Unlock()
	}
}

type sampler struct {
	o     *Options
	r     router
	store string
	st    *statsTail
	sent  *atomic.Int64
	phase *atomic.Value
	begin time.Time
	res   *Result
	hwm   atomic.Int64
}

func (s *sampler) start() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		lastRow := time.Time{}
		for {
			now := time.Now()
			pid := s.r.pid()
			spool, rss, held := dirBytes(s.store), statusKiB(pid, "VmRSS:"), s.r.held()
			s.hwm.Store(max(s.hwm.Load(), statusKiB(pid, "VmHWM:")))
			s.res.PeakSpool = max(s.res.PeakSpool, spool)
			s.res.MaxHeld = max(s.res.MaxHeld, held)
			if now.Sub(lastRow) >= s.o.Every {
				lastRow = now
				acc, stored, retry := s.st.values()
				row := Row{At: now.Sub(s.begin), Phase: s.phase.Load().(string), SpoolBytes: spool, RSSKiB: rss, Held: held,
					Sent: s.sent.Load(), Accepted: acc, Stored: stored, Retry: retry}
				s.res.Rows = append(s.res.Rows, row)
				fmt.Fprintf(s.o.Log, "%s\n", FormatRow(row))
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

// Header is the table's header, in Markdown.
const Header = "| time | S3 | store_dir bytes | router RSS | chunks waiting | records sent | accepted | stored in S3 | flushes answered RETRY |\n|---|---|---|---|---|---|---|---|---|"

// FormatRow renders a row of the table.
func FormatRow(r Row) string {
	return fmt.Sprintf("| %s | %s | %.1f MB | %.1f MiB | %d | %d | %d | %d | %d |", r.At.Round(time.Second), r.Phase,
		float64(r.SpoolBytes)/1e6, float64(r.RSSKiB)/1024, r.Held, r.Sent, r.Accepted, r.Stored, r.Retry)
}

// hostRouter drives test/host over its stdin.
type hostRouter struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	tag    string
	queue  []*pending
	logEnd chan struct{}
	mu     sync.Mutex // queue's length, read by the sampler
	n      int
}

func startHost(o Options, work string, settings map[string]string, env []string, st *statsTail) (*hostRouter, error) {
	args := []string{"--plugin", o.SO, "--stdin", "--instance"}
	for k, v := range settings {
		args = append(args, k+"="+v)
	}
	cmd := exec.Command(o.Host, args...)
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &hostRouter{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), tag: chunkgen.DefaultTask().Tag(), logEnd: make(chan struct{})}
	go st.follow(stderr, h.logEnd)
	for h.out.Scan() {
		if l := h.out.Text(); l == "ready" {
			return h, nil
		} else if strings.HasPrefix(l, "init ") && !strings.HasSuffix(l, " 1") {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, errors.New("the host did not start the plugin (see its log)")
}

func (h *hostRouter) pid() int { return h.cmd.Process.Pid }

func (h *hostRouter) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *hostRouter) drained(int64) bool { return h.held() == 0 }

func (h *hostRouter) flush(c *pending) (bool, error) {
	fmt.Fprintf(h.stdin, "flush 0 %s %s\n", c.path, h.tag)
	if !h.out.Scan() {
		return false, errors.New("the host ended during a flush")
	}
	f := strings.Fields(h.out.Text())
	if len(f) != 4 || f[0] != "flush" {
		return false, fmt.Errorf("host said %q", h.out.Text())
	}
	switch f[3] {
	case "1":
		os.Remove(c.path)
		return true, nil
	case "2":
		return false, nil
	}
	return false, fmt.Errorf("flush answered %s (FLB_ERROR): the plugin dropped a chunk", f[3])
}

func (h *hostRouter) setQueue(q []*pending) {
	h.queue = q
	h.mu.Lock()
	h.n = len(q)
	h.mu.Unlock()
}

func (h *hostRouter) send(c *pending) (bool, error) {
	ok, err := h.flush(c)
	if err == nil && !ok {
		h.setQueue(append(h.queue, c))
	}
	return ok, err
}

func (h *hostRouter) retry(limit int) (int, error) {
	n := 0
	for n < limit && len(h.queue) > 0 {
		ok, err := h.flush(h.queue[0])
		if err != nil || !ok {
			return n, err
		}
		h.setQueue(h.queue[1:])
		n++
	}
	return n, nil
}

func (h *hostRouter) stop() error {
	fmt.Fprintln(h.stdin, "exit")
	h.stdin.Close()
	for h.out.Scan() {
	}
	err := h.cmd.Wait()
	<-h.logEnd
	return err
}

// fluentBit is a real Fluent Bit fed through its forward input.
type fluentBit struct {
	st      *statsTail
	rate    int
	cmd     *exec.Cmd
	conn    net.Conn
	storage string
	logEnd  chan struct{}
}

func startFluentBit(o Options, work string, settings map[string]string, env []string, st *statsTail) (*fluentBit, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	storage := filepath.Join(work, "flb-storage")
	var conf strings.Builder
	fmt.Fprintf(&conf, "[SERVICE]\n    Flush 1\n    Grace 30\n    Log_Level info\n    storage.path %s\n\n", storage)
	fmt.Fprintf(&conf, "[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port %d\n    storage.type filesystem\n\n", port)
	conf.WriteString("[OUTPUT]\n    Name envoy_s3\n    Match *\n    Retry_Limit no_limits\n    Workers 1\n")
	for k, v := range settings {
		fmt.Fprintf(&conf, "    %s %s\n", k, v)
	}
	cfg := filepath.Join(work, "fluent-bit.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.FluentBit, "-e", o.SO, "-c", cfg)
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &fluentBit{st: st, rate: o.Rate, cmd: cmd, storage: storage, logEnd: make(chan struct{})}
	go func() { cmd.Wait(); pw.Close() }()
	go st.follow(pr, f.logEnd)
	if f.conn, err = forward.Dial(port); err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	return f, nil
}

func (f *fluentBit) pid() int { return f.cmd.Process.Pid }

func (f *fluentBit) drained(sent int64) bool {
	records, _, _ := f.st.values()
	return records >= sent-int64(f.rate)*2 // Flush 1: a second or two in Fluent Bit's buffer
}

// send waits for Fluent Bit's ack: while its input is paused, the sender waits, as
// Docker's log driver does.
func (f *fluentBit) send(c *pending) (bool, error) {
	if _, err := f.conn.Write(c.msg); err != nil {
		return false, err
	}
	return true, forward.WaitAck(f.conn, "c"+strconv.FormatInt(c.first, 10))
}

// held counts the chunk files Fluent Bit keeps in its storage.path.
func (f *fluentBit) held() int {
	n := 0
	filepath.WalkDir(f.storage, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".flb") {
			n++
		}
		return nil
	})
	return n
}

// retry is Fluent Bit's own business (its scheduler).
func (f *fluentBit) retry(int) (int, error) { return 0, nil }

func (f *fluentBit) stop() error {
	f.conn.Close()
	f.cmd.Process.Signal(os.Interrupt)
	<-f.logEnd
	return nil
}

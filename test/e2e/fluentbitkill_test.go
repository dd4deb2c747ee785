package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/forward"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// numbered are access lines whose request id is replaced by the number of the record,
// so each record stored can be told from every other without keeping them all.
type numbered struct {
	task   chunkgen.Task
	before [][]byte // the line up to its request id
	after  [][]byte // the line after it
	want   []string // the normalised line, request id replaced by idMark
}

const idMark = "\x00id\x00"

// recordID renders record n's request id in the shape of a UUID.
func recordID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

var recordIDRE = regexp.MustCompile(`00000000-0000-4000-8000-(\d{12})`)

func numberedLines(t *testing.T) *numbered {
	t.Helper()
	reqID := 0
	for i, n := range gen.FieldNames {
		if n == "request_id" {
			reqID = i
		}
	}
	x := &numbered{task: chunkgen.DefaultTask()}
	for _, l := range accessOnly(gen.New(77).Mixed(4000)) {
		id, _ := l.Want.Values[reqID].(string)
		want := expectedAccess(x.task, l)
		if id == "" || bytes.Count(l.Line, []byte(id)) != 1 || strings.Count(want, id) != 1 {
			continue
		}
		i := bytes.Index(l.Line, []byte(id))
		x.before = append(x.before, l.Line[:i])
		x.after = append(x.after, l.Line[i+len(id):])
		x.want = append(x.want, strings.Replace(want, id, idMark, 1))
	}
	if len(x.want) < 1000 {
		t.Fatalf("only %d generated access lines carry a request id", len(x.want))
	}
	return x
}

// message encodes records [from, to) as one forward message asking for an ack.
func (x *numbered) message(from, to int, ack string) []byte {
	msg := chunk.AppendArrayHeader(nil, 3)
	msg = chunk.AppendString(msg, x.task.Tag())
	msg = chunk.AppendArrayHeader(msg, to-from)
	now := time.Now()
	var line []byte
	for n := from; n < to; n++ {
		b := n % len(x.want)
		line = append(append(append(line[:0], x.before[b]...), recordID(n)...), x.after[b]...)
		msg = chunk.AppendArrayHeader(msg, 2)
		msg = chunk.AppendEventTime(msg, now)
		msg, _ = chunk.AppendAny(msg, x.task.Record(line, "stdout"))
	}
	msg = chunk.AppendMapHeader(msg, 1)
	return chunk.AppendString(chunk.AppendString(msg, "chunk"), ack)
}

// fluentBit is one run of a real Fluent Bit over the same storage and store_dir.
type fluentBit struct {
	cmd  *exec.Cmd
	port int
	log  string
	done chan struct{}
}

func startFluentBit(t *testing.T, bin, so, work, conf string, run int) *fluentBit {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := filepath.Join(work, fmt.Sprintf("fluent-bit-%d.conf", run))
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(conf, "@PORT@", strconv.Itoa(port))), 0o644); err != nil {
		t.Fatal(err)
	}
	fb := &fluentBit{port: port, log: filepath.Join(work, fmt.Sprintf("run-%02d.log", run)), done: make(chan struct{})}
	out, err := os.Create(fb.log)
	if err != nil {
		t.Fatal(err)
	}
	fb.cmd = exec.Command(bin, "-e", so, "-c", cfg)
	fb.cmd.Stdout, fb.cmd.Stderr = out, out
	if err := fb.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		fb.cmd.Wait()
		out.Close()
		close(fb.done)
	}()
	t.Cleanup(func() {
		fb.cmd.Process.Kill()
		<-fb.done
	})
	return fb
}

var replayedRE = regexp.MustCompile(`replayed=(\d+)`)

// replays reads a run's log: how many replayed chunks the plugin answered from its
// spool (the largest replayed= of its stats lines, or 1 for the info line alone).
func replays(t *testing.T, log string) int {
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if bytes.Contains(b, []byte("already stored came again")) {
		n = 1
	}
	for _, m := range replayedRE.FindAllSubmatch(b, -1) {
		v, _ := strconv.Atoi(string(m[1]))
		n = max(n, v)
	}
	return n
}

// chunkFiles counts Fluent Bit's chunk files under its storage.path.
func chunkFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".flb") {
			n++
		}
		return nil
	})
	return n
}

// Through a real Fluent Bit (FLUENT_BIT names the binary): the forward input on
// filesystem storage, envoy_s3 with two workers and store_dir, records sent as fast as
// Fluent Bit acknowledges them, and SIGKILLs at random moments, each followed by a
// restart over the same storage and store_dir. Fluent Bit sends again every chunk whose
// flush it had not seen answered; the plugin answers those it already stored without
// storing them again. Every record must land: once, or more often only if the sender
// itself sent it again (its message's ack was lost to a kill); those are counted apart.
func TestFluentBitKillDuringFlushStoresEachChunkOnce(t *testing.T) {
	bin := os.Getenv("FLUENT_BIT")
	if bin == "" {
		t.Skip("FLUENT_BIT names no Fluent Bit binary: this test runs only through a real Fluent Bit")
	}
	so, _ := artifacts(t)
	const bucket = "fbkill"
	m := env(t, bucket)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "120s")
	kills := 24
	if s := os.Getenv("FLUENT_BIT_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	x := numberedLines(t)
	work := t.TempDir()
	storage, store := filepath.Join(work, "flb-storage"), filepath.Join(work, "spool")
	conf := fmt.Sprintf(`[SERVICE]
    Flush 1
    Grace 60
    Log_Level info
    scheduler.base 1
    scheduler.cap 2
    storage.path %s
    storage.sync normal
    storage.backlog.mem_limit 64M

[INPUT]
    Name forward
    Listen 127.0.0.1
    Port @PORT@
    storage.type filesystem

[OUTPUT]
    Name envoy_s3
    Match *
    Workers 2
    Retry_Limit no_limits
    bucket %s
    region %s
    endpoint %s
    store_dir %s
    total_file_size 1M
    upload_timeout 2s
    stats_interval 1s
    other_logs drop
    redact_query_params none
    redact_detectors none
`, storage, bucket, m.Region, m.Endpoint, store)

	const per = 200 // records a forward message
	var (
		sends    []uint8 // how many times the sender sent each record
		sentIn   []uint8 // the run each record was first sent in
		next     int     // the first record never sent
		pending  = -1    // the first record of the message sent but not acknowledged
		replayed = 0
		rng      = rand.New(rand.NewPCG(2026, 25))
	)
	send := func(conn net.Conn, from, run int) bool {
		to := from + per
		for len(sends) < to {
			sends = append(sends, 0)
			sentIn = append(sentIn, uint8(run))
		}
		for n := from; n < to; n++ {
			sends[n]++
		}
		id := "m" + strconv.Itoa(from)
		if _, err := conn.Write(x.message(from, to, id)); err != nil {
			pending = from
			return false
		}
		if err := forward.WaitAck(conn, id); err != nil {
			pending = from
			return false
		}
		pending = -1
		return true
	}
	for run := 0; run <= kills; run++ {
		fb := startFluentBit(t, bin, so, work, conf, run)
		conn, err := forward.Dial(fb.port)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, tail(fb.log))
		}
		first := next
		if run == kills {
			// The last run: what was never acknowledged is sent again, then Fluent Bit
			// drains its storage and stops.
			if pending >= 0 && !send(conn, pending, run) {
				t.Fatalf("last run: no ack\n%s", tail(fb.log))
			}
			conn.Close()
			deadline := time.Now().Add(5 * time.Minute)
			for quiet := 0; quiet < 3; time.Sleep(time.Second) {
				if chunkFiles(storage) == 0 {
					quiet++
				} else {
					quiet = 0
				}
				if time.Now().After(deadline) {
					t.Fatalf("Fluent Bit still holds %d chunk files after 5 minutes\n%s", chunkFiles(storage), tail(fb.log))
				}
			}
			fb.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-fb.done:
			case <-time.After(4 * time.Minute):
				t.Fatalf("Fluent Bit did not stop\n%s", tail(fb.log))
			}
			got := replays(t, fb.log)
			replayed += got
			t.Logf("last run: drained and stopped; at least %d replayed chunks answered", got)
			break
		}
		resent := pending
		if pending >= 0 && !send(conn, pending, run) {
			t.Fatalf("run %d: no ack for the first message\n%s", run, tail(fb.log))
		}
		delay := 300*time.Millisecond + time.Duration(rng.Int64N(int64(2200*time.Millisecond)))
		killer := time.AfterFunc(delay, func() { fb.cmd.Process.Signal(syscall.SIGKILL) })
		for send(conn, next, run) {
			next += per
		}
		if pending == next {
			next += per
		}
		killer.Stop()
		<-fb.done
		conn.Close()
		got := replays(t, fb.log)
		replayed += got
		t.Logf("run %d: %d new records sent, SIGKILL after %v (the unacknowledged message of the run before sent again: %v); at least %d replayed chunks answered",
			run, next-first, delay.Round(time.Millisecond), resent >= 0, got)
	}
	if left := chunkFiles(storage); left > 0 {
		t.Errorf("Fluent Bit left %d chunk files in its storage", left)
	}

	// Count every record stored.
	got := make([]uint16, next)
	garbled, objects := 0, 0
	for _, o := range m.List(bucket, "") {
		if strings.HasPrefix(o.Key, deadPrefix) {
			continue
		}
		objects++
		body, err := compress.Decode(compress.Gzip, m.Get(bucket, o.Key))
		if err != nil {
			t.Fatalf("decompressing %s: %v", o.Key, err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			sm := recordIDRE.FindStringSubmatch(line)
			n := -1
			if sm != nil {
				n, _ = strconv.Atoi(sm[1])
			}
			if n < 0 || n >= next || strings.Replace(line, sm[0], idMark, 1) != x.want[n%len(x.want)] {
				if garbled++; garbled <= 3 {
					t.Errorf("object %s holds a record not sent as it is:\n  %s", o.Key, line)
				}
				continue
			}
			got[n]++
		}
	}
	// A kill during an Append leaves its last segment torn: recovery ships the range as a
	// dead letter, and Fluent Bit sends the chunk again since it was never answered.
	torn, tornRecords := 0, int64(0)
	for k, man := range deadLetters(t, m, bucket) {
		if man.Reason != "torn" {
			t.Errorf("dead letter %s: %s (%s): a SIGKILL leaves only torn tails", k, man.Reason, man.Detail)
			continue
		}
		torn++
		tornRecords += man.Records
	}
	missing, dups, resentDups, unexplained, resentRecords := 0, 0, 0, 0, 0
	byRun := map[int]int{}
	for n, g := range got {
		s := int(sends[n])
		if s > 1 {
			resentRecords++
		}
		switch {
		case g == 0:
			missing++
			if missing <= 3 {
				t.Errorf("record %d (first sent in run %d, sent %d times) is missing", n, sentIn[n], s)
			}
		case g > 1:
			dups += int(g) - 1
			resentDups += min(int(g), s) - 1
			if int(g) > s {
				unexplained += int(g) - s
				byRun[int(sentIn[n])] += int(g) - s
			}
		}
	}
	t.Logf("Fluent Bit, %d SIGKILLs during flushes at full speed: %d records sent (%d of them twice by the sender, after a lost ack), %d objects; "+
		"%d missing, %d stored more than once: %d explained by the sender's resends, %d not; %d replayed chunks answered without storing them again; "+
		"%d torn tails of unanswered flushes shipped as dead letters (%d records, sent again by Fluent Bit)",
		kills, next, resentRecords, objects, missing, dups, resentDups, unexplained, replayed, torn, tornRecords)
	if missing > 0 || unexplained > 0 || garbled > 0 {
		t.Fatalf("%d records missing, %d duplicates the sender did not cause (by run first sent: %v), %d garbled: want every record exactly once",
			missing, unexplained, byRun, garbled)
	}
	if replayed == 0 {
		t.Fatal("no kill came while a stored chunk's OK was unseen: no replay was answered, so the test proved nothing")
	}
}

// tail returns the end of a log file, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

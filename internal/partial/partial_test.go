package partial

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// clock is a settable Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// piece builds the FireLens record of one piece as Docker's fluentd driver sends it.
func piece(t testing.TB, id string, ord int, last bool, log string) chunk.Map {
	t.Helper()
	b, err := chunk.AppendAny(nil, []chunk.KV{
		{Key: "container_id", Value: "c0ffee"}, {Key: "log", Value: log}, {Key: "source", Value: "stdout"},
		{Key: "partial_message", Value: "true"}, {Key: "partial_id", Value: id},
		{Key: "partial_ordinal", Value: strconv.Itoa(ord)}, {Key: "partial_last", Value: strconv.FormatBool(last)},
		{Key: "ecs_cluster", Value: "prod"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := recordMap(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustPart(t testing.TB, tag, id string, ord int, last bool, log string) *Part {
	t.Helper()
	p, ok := Parse(piece(t, id, ord, last, log), time.Unix(1700000000, int64(ord)), tag, "log")
	if !ok {
		t.Fatalf("Parse refused piece %s/%d", id, ord)
	}
	return p
}

// render is what a caller writes for a result: the joined record as JSON, or each
// piece as it came.
func render(t testing.TB, whole, asIs []*Part) []string {
	t.Helper()
	var out []string
	if len(whole) > 0 {
		_, m, err := Join(nil, whole, "log")
		if err != nil {
			t.Fatal(err)
		}
		var e chunk.JSONEncoder
		out = append(out, "joined "+string(e.AppendMap(nil, m)))
	}
	for _, p := range asIs {
		out = append(out, fmt.Sprintf("as-is %s#%d %q", p.Key[strings.IndexByte(p.Key, 0)+1:], p.Ordinal, p.Log))
	}
	return out
}

func TestJoinRecordShape(t *testing.T) {
	r, _ := New(Options{})
	r.Begin()
	var got []string
	for _, p := range []*Part{mustPart(t, "tag", "x", 2, false, "B"), mustPart(t, "tag", "x", 3, true, "C"), mustPart(t, "tag", "x", 1, false, "A")} {
		w, a := r.Add(p)
		got = append(got, render(t, w, a)...)
	}
	r.Commit()
	want := `joined {"container_id":"c0ffee","log":"ABC","source":"stdout","ecs_cluster":"prod"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if s := r.Stats(); s.Parts != 3 || s.Joined != 1 || s.Held != 0 || s.HeldSize != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGolden replays testdata/*.input: lines "<tag> <id> <ordinal> <last|-> <log>"
// add pieces inside one flush; "--- commit", "--- rollback", "--- tick <duration>"
// (advance the clock, then write what is due), "--- crash" (drop the Reassembler
// without closing it and open the journal again) and "--- exit" (write everything)
// steer it. The golden file lists what each step wrote.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.input")
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.input")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			c := &clock{t: time.Unix(1700000000, 0)}
			opt := Options{Dir: dir, Now: c.now, Timeout: 10 * time.Second, MaxLineBytes: 64, MaxBytes: 4096}
			r, err := New(opt)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			inTx := false
			begin := func() {
				if !inTx {
					r.Begin()
					inTx = true
				}
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(src), "\n"), "\n") {
				out.WriteString(line + "\n")
				if line == "" || line[0] == '#' {
					continue
				}
				f := strings.Fields(line)
				var wrote []string
				switch {
				case f[0] == "---" && f[1] == "commit":
					begin()
					if err := r.Prepare(); err != nil {
						t.Fatal(err)
					}
					r.Commit()
					inTx = false
				case f[0] == "---" && f[1] == "rollback":
					begin()
					if err := r.Prepare(); err != nil {
						t.Fatal(err)
					}
					r.Rollback()
					inTx = false
				case f[0] == "---" && (f[1] == "tick" || f[1] == "exit"):
					if f[1] == "tick" {
						d, _ := time.ParseDuration(f[2])
						c.t = c.t.Add(d)
					}
					begin()
					wrote = render(t, nil, r.Due(f[1] == "exit"))
					r.Prepare()
					r.Commit()
					inTx = false
				case f[0] == "---" && f[1] == "crash":
					if inTx {
						t.Fatal("crash inside a transaction")
					}
					if r, err = New(opt); err != nil {
						t.Fatal(err)
					}
					wrote = []string{fmt.Sprintf("recovered %d piece(s)", r.Recovered())}
				default:
					ord, _ := strconv.Atoi(f[2])
					begin()
					w, a := r.Add(mustPart(t, f[0], f[1], ord, f[3] == "last", strings.Join(f[4:], " ")))
					wrote = render(t, w, a)
				}
				for _, w := range wrote {
					out.WriteString("  => " + w + "\n")
				}
			}
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				os.WriteFile(golden, out.Bytes(), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("%s differs:\n%s", golden, out.String())
			}
		})
	}
}

// A piece that cannot be grouped is refused by Parse, so the caller writes it.
func TestParseRefusesUngroupable(t *testing.T) {
	for _, kv := range [][]chunk.KV{
		{{Key: "log", Value: "x"}, {Key: "partial_message", Value: "true"}, {Key: "partial_ordinal", Value: "1"}},
		{{Key: "log", Value: "x"}, {Key: "partial_message", Value: "true"}, {Key: "partial_id", Value: "a"}, {Key: "partial_ordinal", Value: "0"}},
		{{Key: "log", Value: "x"}, {Key: "partial_message", Value: "true"}, {Key: "partial_id", Value: "a"}, {Key: "partial_ordinal", Value: "one"}},
		{{Key: "log", Value: 5}, {Key: "partial_message", Value: "true"}, {Key: "partial_id", Value: "a"}, {Key: "partial_ordinal", Value: "1"}},
	} {
		b, _ := chunk.AppendAny(nil, kv)
		m, _ := recordMap(b)
		if _, ok := Parse(m, time.Now(), "t", "log"); ok {
			t.Errorf("Parse accepted %v", kv)
		}
	}
	b, _ := chunk.AppendAny(nil, []chunk.KV{{Key: "log", Value: "x"}, {Key: "partial_message", Value: true}, {Key: "partial_id", Value: []byte("a")}, {Key: "partial_ordinal", Value: 2}, {Key: "partial_last", Value: true}})
	m, _ := recordMap(b)
	if p, ok := Parse(m, time.Now(), "t", "log"); !ok || p.Ordinal != 2 || !p.Last {
		t.Errorf("typed values refused: %+v %v", p, ok)
	}
}

// TestPropertyNothingLost: lines split at random into pieces, shuffled within a
// window, delivered in random flushes; flushes refused (rollback, then the same
// pieces resent) and crashes (journal reopened without Close) at random; timeouts at
// random. Every line is written, whole or as all its pieces, never lost; without
// crashes none is written twice.
func TestPropertyNothingLost(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 7))
		crashes := seed%2 == 1
		c := &clock{t: time.Unix(1700000000, 0)}
		opt := Options{Dir: t.TempDir(), Now: c.now, Timeout: 10 * time.Second, MaxLineBytes: 1 << 20, MaxBytes: 1 << 20}
		if seed%3 == 0 {
			opt.MaxBytes = 300 // evictions
		}
		r, err := New(opt)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]string{}
		var queue []*Part
		for i := range 40 {
			id := fmt.Sprintf("id%d", i)
			line := strings.Repeat(string(rune('a'+i%26)), 1+rng.IntN(200)) + id
			lines[id] = line
			n := 1 + rng.IntN(4)
			cuts := make([]int, 0, n+1)
			cuts = append(cuts, 0)
			for k := 1; k < n; k++ {
				cuts = append(cuts, rng.IntN(len(line)+1))
			}
			sort.Ints(cuts)
			cuts = append(cuts, len(line))
			for k := range n {
				queue = append(queue, mustPart(t, "tag", id, k+1, k == n-1, line[cuts[k]:cuts[k+1]]))
			}
		}
		// Shuffle within a small window: pieces of a line stay near each other.
		for i := range queue {
			j := min(len(queue)-1, i+rng.IntN(4))
			queue[i], queue[j] = queue[j], queue[i]
		}
		written := map[string][]string{} // id -> what was written for it
		write := func(whole, asIs []*Part) {
			if len(whole) > 0 {
				var b []byte
				for _, p := range whole {
					b = append(b, p.Log...)
				}
				id := whole[0].Key[4:]
				written[id] = append(written[id], "W:"+string(b))
			}
			for _, p := range asIs {
				id := p.Key[4:]
				written[id] = append(written[id], fmt.Sprintf("P%d:%s", p.Ordinal, p.Log))
			}
		}
		for len(queue) > 0 {
			n := min(len(queue), 1+rng.IntN(6))
			flush := queue[:n]
			var whole, asIs []*Part
			r.Begin()
			for _, p := range flush {
				cp := *p
				w, a := r.Add(&cp)
				whole, asIs = append(whole, w...), append(asIs, a...)
			}
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(5) == 0 {
				r.Rollback() // the store refused: Fluent Bit sends the same chunk again
				continue
			}
			r.Commit()
			for len(whole) > 0 {
				k := 1
				for k < len(whole) && whole[k].Ordinal != 1 {
					k++
				}
				write(whole[:k], nil)
				whole = whole[k:]
			}
			write(nil, asIs)
			queue = queue[n:]
			if rng.IntN(4) == 0 {
				c.t = c.t.Add(time.Duration(rng.IntN(15)) * time.Second)
				r.Begin()
				due := r.Due(false)
				r.Prepare()
				r.Commit()
				write(nil, due)
			}
			if crashes && rng.IntN(6) == 0 {
				if r, err = New(opt); err != nil {
					t.Fatal(err)
				}
			}
		}
		r.Begin()
		due := r.Due(true)
		r.Prepare()
		r.Commit()
		write(nil, due)
		for id, line := range lines {
			got := written[id]
			if !covers(got, line) {
				t.Fatalf("seed %d: line %s lost: wrote %q, line %q", seed, id, got, line)
			}
			if !crashes && len(got) != 1 && !strings.HasPrefix(got[0], "P") {
				t.Fatalf("seed %d: line %s written more than once without a crash: %q", seed, id, got)
			}
		}
	}
}

// covers reports whether what was written holds the whole line, or all its pieces.
func covers(got []string, line string) bool {
	pieces := map[int]string{}
	for _, g := range got {
		if g == "W:"+line {
			return true
		}
		if g[0] == 'P' {
			i := strings.IndexByte(g, ':')
			n, _ := strconv.Atoi(g[1:i])
			pieces[n] = g[i+1:]
		}
	}
	var b strings.Builder
	for k := 1; k <= len(pieces); k++ {
		p, ok := pieces[k]
		if !ok {
			return false
		}
		b.WriteString(p)
	}
	return b.String() == line
}

// A torn or damaged tail loses only what follows the damage.
func TestJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	r, _ := New(Options{Dir: dir})
	for i, log := range []string{"one", "two"} {
		r.Begin()
		r.Add(mustPart(t, "t", fmt.Sprint("g", i), 1, false, log))
		if err := r.Prepare(); err != nil {
			t.Fatal(err)
		}
		r.Commit()
	}
	r.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.pjl"))
	if len(files) != 1 {
		t.Fatalf("journal files: %v", files)
	}
	b, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], b[:len(b)-3], 0o600)
	r2, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := r2.Recovered(); n != 1 {
		t.Fatalf("recovered %d pieces from a torn journal, want 1", n)
	}
}

// FuzzJournal: any file content replays without panic.
func FuzzJournal(f *testing.F) {
	p := &Part{Key: "t\x00a", Tag: "t", Ordinal: 1, Record: []byte{0x80}, Log: []byte("x"), seq: 1}
	f.Add(encodeAdd([]byte(journalMagic), p))
	f.Add(append(encodeAdd([]byte(journalMagic), p), appendEntry(nil, entryDone, func(d []byte) []byte { return append(d, 1) })...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "0.pjl"), data, 0o600)
		r, err := New(Options{Dir: dir})
		if err != nil {
			return
		}
		r.Begin()
		r.Due(true)
		r.Commit()
		r.Close()
	})
}

// Journal files adopted from an earlier process's directory merge with ours; their
// sequence numbers do not collide.
func TestJournalMergesAdoptedFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for i, dir := range []string{a, b} {
		r, _ := New(Options{Dir: dir})
		r.Begin()
		r.Add(mustPart(t, "t", fmt.Sprint("g", i), 1, false, fmt.Sprint("piece", i)))
		if err := r.Prepare(); err != nil {
			t.Fatal(err)
		}
		r.Commit()
		r.Close()
	}
	files, _ := filepath.Glob(filepath.Join(b, "*.pjl"))
	for _, f := range files {
		os.Rename(f, filepath.Join(a, "adopted-0-"+filepath.Base(f)))
	}
	r, err := New(Options{Dir: a})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Recovered(); n != 2 {
		t.Fatalf("recovered %d pieces, want 2", n)
	}
	r.Begin()
	due := r.Due(true)
	r.Commit()
	if got := render(t, nil, due); len(got) != 2 || got[0] == got[1] {
		t.Fatalf("due %q", got)
	}
}

// FuzzReassemble drives a Reassembler with pieces and transactions read from data:
// whatever comes, nothing panics, no piece is lost (every piece taken by a committed
// transaction is written, joined or as it came, once everything is due), and the
// accounting of held pieces returns to zero.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{0x01, 0x11, 0x22, 0x13, 0xff, 0x02, 0x31, 0xfe, 0x12})
	f.Add([]byte("\x10\x11\x12\x13\x14\xff\x15\x16\xfe\xfd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &clock{t: time.Unix(1700000000, 0)}
		r, _ := New(Options{Now: c.now, Timeout: time.Second, MaxLineBytes: 40, MaxBytes: 1500})
		in, out := map[string]bool{}, map[string]bool{}
		var pending []string
		note := func(whole, asIs []*Part) {
			for _, p := range append(whole, asIs...) {
				out[fmt.Sprintf("%s#%d", p.Key, p.Ordinal)] = true
			}
		}
		var held [][2][]*Part
		r.Begin()
		for _, b := range data {
			switch b {
			case 0xff: // commit
				r.Prepare()
				r.Commit()
				for _, h := range held {
					note(h[0], h[1])
				}
				for _, k := range pending {
					in[k] = true
				}
				held, pending = nil, nil
				r.Begin()
			case 0xfe: // rollback
				r.Rollback()
				held, pending = nil, nil
				r.Begin()
			case 0xfd: // time passes, due pieces written
				c.t = c.t.Add(2 * time.Second)
				held = append(held, [2][]*Part{nil, r.Due(false)})
			default:
				id, ord, last := b>>4&7, int(b&3)+1, b&4 != 0
				p := &Part{Key: fmt.Sprint("t\x00", id), Tag: "t", Ordinal: ord, Last: last, Record: []byte{0x80}, Log: bytes.Repeat([]byte{'a' + id}, int(b>>3&3)+1)}
				w, a := r.Add(p)
				held = append(held, [2][]*Part{w, a})
				pending = append(pending, fmt.Sprintf("%s#%d", p.Key, p.Ordinal))
			}
		}
		r.Prepare()
		r.Commit()
		for _, h := range held {
			note(h[0], h[1])
		}
		for _, k := range pending {
			in[k] = true
		}
		r.Begin()
		note(nil, r.Due(true))
		r.Commit()
		for k := range in {
			if !out[k] {
				t.Fatalf("piece %q taken by a committed flush was never written", k)
			}
		}
		if s := r.Stats(); s.Held != 0 || s.HeldSize != 0 {
			t.Fatalf("held after everything was due: %+v", s)
		}
	})
}

package spool

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// idsOf returns the record ids of NDJSON lines written by part().
func idsOf(t *testing.T, payload []byte) []int {
	var ids []int
	for _, l := range bytes.SplitAfter(payload, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var id int
		if _, err := fmt.Sscanf(string(l), `{"id":%d,`, &id); err != nil {
			t.Fatalf("bad line %q", l)
		}
		ids = append(ids, id)
	}
	return ids
}

// damage flips, truncates or appends bytes in the batch files under dir and returns
// the ids of the records whose segments it damaged.
func damage(t *testing.T, rng *rand.Rand, dir string) (lost []int, what []string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"+fileExt))
	for _, path := range files {
		if rng.IntN(2) == 0 {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The valid segments as written (a torn, unacknowledged tail is left out).
		sc := scanner{r: bytes.NewReader(data), size: int64(len(data))}
		type seg struct {
			off, end int64
			ids      []int
		}
		var segs []seg
		var valid int64 = headerSize
		for off := int64(headerSize); ; {
			typ, _, payload, ok, _ := sc.at(off)
			if !ok {
				break
			}
			end := off + segHdrSize + int64(len(payload))
			if typ == segData {
				segs = append(segs, seg{off, end, idsOf(t, payload)})
			}
			off, valid = end, end
		}
		if len(segs) == 0 {
			continue
		}
		switch rng.IntN(3) {
		case 0: // flip one bit anywhere in the valid part
			off := rng.Int64N(valid)
			data[off] ^= 1 << rng.IntN(8)
			for _, s := range segs {
				if off >= s.off && off < s.end {
					lost = append(lost, s.ids...)
				}
			}
			what = append(what, fmt.Sprintf("flip %s@%d", filepath.Base(path), off))
		case 1: // truncate inside the last DATA segment, after its header (a cut
			// through the header leaves no count to report)
			last := segs[len(segs)-1]
			cut := last.off + segHdrSize + rng.Int64N(last.end-last.off-segHdrSize)
			data = data[:cut]
			lost = append(lost, last.ids...)
			what = append(what, fmt.Sprintf("truncate %s@%d", filepath.Base(path), cut))
		case 2: // append junk
			junk := make([]byte, 1+rng.IntN(200))
			for i := range junk {
				junk[i] = byte(rng.IntN(256))
			}
			data = append(data, junk...)
			what = append(what, fmt.Sprintf("append %d to %s", len(junk), filepath.Base(path)))
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return lost, what
}

// The crash test: a writer is killed at random, and between kills bytes
// of the spool files are flipped, cut off or appended, over many seeds. Every
// acknowledged record in a segment left intact arrives; every record of a damaged
// segment is reported lost.
func TestCrashWithDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		dir := t.TempDir()
		acked := map[int]bool{}
		damaged := map[int]bool{}
		var reported int64
		var log []string
		for round := 0; round < 4; round++ {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
			cmd.Env = append(os.Environ(), "SPOOL_CRASH_DIR="+dir, "SPOOL_CRASH_BASE="+strconv.Itoa(round*10000))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done, opened := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
						if n, err := strconv.Atoi(v); err == nil {
							for id := n * 100; id <= n*100+40; id++ {
								acked[id] = true
							}
						}
					} else if v, ok := strings.CutPrefix(sc.Text(), "lost "); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						reported += n
						close(opened)
					}
				}
			}()
			// Kill only once recovery has reported, or its report would be lost.
			select {
			case <-opened:
			case <-done:
				t.Fatalf("seed %d round %d: child exited: %s", seed, round, stderr.String())
			}
			time.Sleep(time.Duration(50+rng.IntN(200)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			cmd.Wait()
			ids, what := damage(t, rng, dir)
			for _, id := range ids {
				damaged[id] = true
			}
			log = append(log, what...)
		}
		s := mustOpen(t, dir, "crash", testOpts())
		reported += s.Lost().Records
		seen := map[int]bool{}
		for _, b := range s.Recovered() {
			data, _ := readAll(t, s, b)
			for _, id := range idsOf(t, data) {
				seen[id] = true
			}
		}
		s.Close()
		missing := 0
		for id := range acked {
			if !damaged[id] && !seen[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("seed %d: %d acknowledged records of intact segments missing after %q", seed, missing, log)
		}
		if reported < int64(len(damaged)) {
			t.Fatalf("seed %d: %d records in damaged segments, %d reported lost, after %q", seed, len(damaged), reported, log)
		}
		t.Logf("seed %d: %d acknowledged, %d in damaged segments, %d reported lost, %d damage operations", seed, len(acked), len(damaged), reported, len(log))
	}
}

package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bytes appended after a SEAL that accounts for every record of the batch lose
// nothing: the loss estimate must not count their lines as records. A SEAL that
// counts more records than the intact segments hold gives the exact loss.
func TestJunkAfterSealLosesNoRecords(t *testing.T) {
	file, spans, segs := sevenSegments(t)
	all := bytes.Join(segs, nil)
	junk := strings.Repeat(`{"junk":"appended by something else"}`+"\n", 22)
	for _, tc := range []struct {
		name string
		cut  bool // the third DATA segment damaged too
		lost int64
	}{{"intact", false, 0}, {"damaged", true, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Clone(file)
			if tc.cut {
				data[spans[2][0]+segHdrSize+5] ^= 0x20
			}
			data = appendSegment(data, segSeal, 280, []byte(fmt.Sprintf(`{"key":"k/same","records":280,"raw":%d}`, len(all))))
			data = append(data, junk...)
			root := t.TempDir()
			dir := filepath.Join(root, "id-0", "sealed")
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "x"+fileExt), data, 0o600)
			var l logs
			s := mustOpen(t, root, "id", l.opts())
			defer s.Close()
			if got := s.Lost().Records; got != tc.lost {
				t.Errorf("Lost().Records = %d, want %d", got, tc.lost)
			}
			out := strings.Join(append(l.error, l.warn...), "\n")
			if want := fmt.Sprintf("about %d record(s)", tc.lost); tc.lost > 0 && !strings.Contains(out, want) {
				t.Errorf("the log does not say %q:\n%s", want, out)
			}
			if tc.lost == 0 && strings.Contains(out, "losing") {
				t.Errorf("the log reports a loss where the SEAL accounts for every record:\n%s", out)
			}
			if !strings.Contains(out, QuarantineDir) {
				t.Errorf("the log does not say where the cut bytes are:\n%s", out)
			}
			rec := s.Recovered()
			if len(rec) != 1 {
				t.Fatalf("recovered %d batches", len(rec))
			}
			if got, _ := readAll(t, s, rec[0]); !tc.cut && !bytes.Equal(got, all) {
				t.Fatal("lost records to appended bytes")
			}
		})
	}
}

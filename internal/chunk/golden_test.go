package chunk

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// readHexInput reads a testdata/*.input file: hex bytes, with whitespace
// ignored and '#' starting a comment that runs to the end of the line.
func readHexInput(t testing.TB, path string) []byte {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(text), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	data, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}

// describe decodes a chunk into the text the golden files hold.
func describe(data []byte) []byte {
	var out bytes.Buffer
	var d Decoder
	var ev Event
	var e JSONEncoder
	d.Reset(data)
	for n := 0; d.Next(&ev); n++ {
		form := "v2"
		if ev.Legacy {
			form = "legacy"
		}
		when := ev.Time.Format(time.RFC3339Nano)
		if ev.TimeInvalid {
			when = fmt.Sprintf("invalid(%x)", ev.TimeValue.Raw())
		}
		fmt.Fprintf(&out, "event %d %s time=%s raw=%d\n", n, form, when, len(ev.Raw))
		fmt.Fprintf(&out, "  meta   %s\n", e.AppendMap(nil, ev.Meta))
		fmt.Fprintf(&out, "  record %s\n", e.AppendMap(nil, ev.Record))
	}
	skipped, regions, first := d.Skipped()
	fmt.Fprintf(&out, "bad=%d badtime=%d groups=%d err=%v consumed=%d/%d\n", d.Bad(), d.BadTime(), d.Groups(), d.Err(), d.Offset(), len(data))
	fmt.Fprintf(&out, "skipped=%d regions=%d first=%d lost=%d\n", skipped, regions, first, d.Lost())
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.input"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata/*.input files: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got := describe(readHexInput(t, in))
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

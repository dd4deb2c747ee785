package compress

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var codecs = []Codec{None, Gzip, Zstd}

// TestCodecNames: the names and key extensions the configuration and the keys use
// (internal/config parses the names).
func TestCodecNames(t *testing.T) {
	for _, tc := range []struct {
		c         Codec
		name, ext string
	}{
		{None, "none", ".ndjson"},
		{Gzip, "gzip", ".ndjson.gz"},
		{Zstd, "zstd", ".ndjson.zst"},
		{Snappy, "snappy", ".ndjson"},
	} {
		if tc.c.String() != tc.name || tc.c.Ext() != tc.ext {
			t.Errorf("%d: String %q Ext %q, want %q %q", tc.c, tc.c, tc.c.Ext(), tc.name, tc.ext)
		}
	}
	// Snappy compresses Parquet pages only: NDJSON objects are never snappy.
	if _, err := NewEncoder(Snappy); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("NewEncoder(Snappy) error = %v, want ErrUnknownCodec", err)
	} else if msg := err.Error(); !strings.Contains(msg, "gzip, zstd or none") || strings.Contains(msg, "\n") {
		t.Errorf("NewEncoder(Snappy) error %q does not say what is allowed in one line", msg)
	}
	if s := Codec(7).String(); s != "Codec(7)" {
		t.Errorf("Codec(7).String() = %q", s)
	}
}

func TestNewEncoderLevel(t *testing.T) {
	for _, tc := range []struct {
		c     Codec
		level int
		ok    bool
	}{
		{Gzip, -3, true}, {Gzip, 1, true}, {Gzip, 9, true}, {Gzip, 10, false}, {Gzip, -4, false},
		{Zstd, 1, true}, {Zstd, 3, true}, {Zstd, 22, true}, {Zstd, 0, false}, {Zstd, 23, false},
		{None, 123, true}, {Codec(3), 1, false},
	} {
		e, err := NewEncoderLevel(tc.c, tc.level)
		if tc.ok != (err == nil) {
			t.Errorf("NewEncoderLevel(%v, %d) error = %v, want ok=%v", tc.c, tc.level, err, tc.ok)
			continue
		}
		if err == nil && e.Codec() != tc.c {
			t.Errorf("Codec() = %v, want %v", e.Codec(), tc.c)
		}
		if err != nil && !errors.Is(err, ErrLevel) && !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("NewEncoderLevel(%v, %d) error %v is not a documented sentinel", tc.c, tc.level, err)
		}
	}
}

// splitFrames cuts data into pieces of pseudo-random sizes, including an
// empty piece and a one-byte piece, so frame boundaries fall mid-line.
func splitFrames(data []byte, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	frames := [][]byte{{}}
	if len(data) > 0 {
		frames = append(frames, data[:1])
		data = data[1:]
	}
	for len(data) > 0 {
		n := min(len(data), 1+r.IntN(200_000))
		frames = append(frames, data[:n])
		data = data[n:]
	}
	return append(frames, []byte{})
}

func encodeFrames(t testing.TB, c Codec, frames [][]byte) []byte {
	e, err := NewEncoder(c)
	if err != nil {
		t.Fatal(err)
	}
	var obj []byte
	for _, f := range frames {
		obj = e.AppendFrame(obj, f)
	}
	return obj
}

// TestConcatenatedFramesAreOneObject checks the package's central claim with
// decoders that are not ours: the standard library's gzip reader, klauspost's
// streaming zstd reader, and the gzip/zstd command-line tools when installed.
func TestConcatenatedFramesAreOneObject(t *testing.T) {
	data := accessLogNDJSON(1, 1<<20)
	frames := splitFrames(data, 2)
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			obj := encodeFrames(t, c, frames)
			got, err := Decode(c, obj)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("Decode returned %d bytes, want the %d bytes encoded", len(got), len(data))
			}
			switch c {
			case Gzip:
				zr, err := stdgzip.NewReader(bytes.NewReader(obj))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("compress/gzip read %d bytes, err %v; want %d bytes", len(got), err, len(data))
				}
				if n := countGzipMembers(t, obj); n != len(frames) {
					t.Errorf("object has %d gzip members, want one per frame (%d)", n, len(frames))
				}
				runTool(t, obj, data, "gzip", "-dc")
			case Zstd:
				zr, err := zstd.NewReader(bytes.NewReader(obj), zstd.WithDecoderConcurrency(1))
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				got, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("zstd stream reader read %d bytes, err %v; want %d bytes", len(got), err, len(data))
				}
				runTool(t, obj, data, "zstd", "-dc")
			case None:
				if !bytes.Equal(obj, data) {
					t.Fatal("none: object differs from its input")
				}
			}
		})
	}
}

// countGzipMembers counts members the way compress/gzip documents it:
// Multistream(false) stops at each member's end, Reset starts the next.
func countGzipMembers(t *testing.T, obj []byte) int {
	br := bytes.NewReader(obj) // an io.ByteReader, so gzip reads no further than a member
	zr, err := stdgzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatal(err)
		}
		if err := zr.Reset(br); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

func runTool(t *testing.T, obj, want []byte, tool string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Logf("%s not installed; command-line check skipped", tool)
		return
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(obj)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", tool, strings.Join(args, " "), err, stderr.Bytes())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s %s produced %d bytes, want %d", tool, strings.Join(args, " "), len(got), len(want))
	}
}

func TestAppendFrameKeepsDstAndIsDeterministic(t *testing.T) {
	src := accessLogNDJSON(3, 100_000)
	for _, c := range codecs {
		e, err := NewEncoder(c)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("prefix")
		a := e.AppendFrame(append([]byte(nil), prefix...), src)
		if !bytes.HasPrefix(a, prefix) {
			t.Fatalf("%v: AppendFrame overwrote dst", c)
		}
		// The same input through the same reused encoder gives the same frame:
		// no state leaks from one frame into the next, and gzip headers carry
		// no time stamp.
		b := e.AppendFrame(nil, src)
		if !bytes.Equal(a[len(prefix):], b) {
			t.Fatalf("%v: a reused encoder produced a different frame for the same input", c)
		}
		other, _ := NewEncoder(c)
		if !bytes.Equal(other.AppendFrame(nil, src), b) {
			t.Fatalf("%v: a fresh encoder and a reused one disagree", c)
		}
		if c != None && len(b) >= len(src)/4 {
			t.Errorf("%v: access logs compressed to %d of %d bytes; expected better than 4:1", c, len(b), len(src))
		}
	}
}

func TestAppendFrameAllocatesNothing(t *testing.T) {
	src := accessLogNDJSON(4, 64<<10)
	for _, c := range codecs {
		e, err := NewEncoder(c)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 2*len(src)+1024)
		dst = e.AppendFrame(dst[:0], src) // warm up lazily built state
		allocs := testing.AllocsPerRun(50, func() { dst = e.AppendFrame(dst[:0], src) })
		if allocs != 0 {
			t.Errorf("%v: AppendFrame allocates %.1f times per frame in steady state, want 0", c, allocs)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	data := accessLogNDJSON(5, 50_000)
	for _, c := range []Codec{Gzip, Zstd} {
		obj := encodeFrames(t, c, [][]byte{data[:20_000], data[20_000:]})
		// A torn tail (a spool file cut mid-frame) must be an error, never
		// a silently shorter result.
		for _, cut := range []int{1, 7, len(obj) / 2, len(obj) - 1} {
			if got, err := Decode(c, obj[:cut]); err == nil {
				t.Errorf("%v: Decode of an object cut at %d/%d returned %d bytes and no error", c, cut, len(obj), len(got))
			}
		}
		bad := append([]byte(nil), obj...)
		bad[len(bad)/2] ^= 0x55
		bad[len(bad)/2+1] ^= 0xaa
		if got, err := Decode(c, bad); err == nil && bytes.Equal(got, data) {
			t.Errorf("%v: corruption went unnoticed", c)
		} else if err == nil {
			t.Errorf("%v: corrupt object decoded to %d bytes without error", c, len(got))
		}
		if _, err := Decode(c, []byte("{\"not\":\"compressed\"}\n")); err == nil {
			t.Errorf("%v: plain text decoded without error", c)
		}
	}
	if _, err := Decode(Codec(9), nil); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("Decode(Codec(9)) error = %v, want ErrUnknownCodec", err)
	}
}

func TestLimitReader(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int64
		err   error
	}{
		{"12345", 5, nil},
		{"123456", 5, ErrTooLarge},
		{"", 0, nil},
	} {
		l := &limitReader{r: strings.NewReader(tc.in), n: tc.limit, close: func() {}}
		got, err := io.ReadAll(l)
		if !errors.Is(err, tc.err) {
			t.Errorf("limit %d over %q: err = %v, want %v", tc.limit, tc.in, err, tc.err)
		}
		if int64(len(got)) > tc.limit {
			t.Errorf("limit %d over %q: read %d bytes", tc.limit, tc.in, len(got))
		}
	}
}

func TestZstdTooLarge(t *testing.T) {
	// A frame header that claims a 2 GiB single-segment content size.
	hdr := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0} // magic; FCS flag 2 (4 bytes), single segment
	hdr = binary.LittleEndian.AppendUint32(hdr, 2<<30-1)
	hdr = append(hdr, 0x01, 0x00, 0x00) // last raw block of size 0
	if _, err := Decode(Zstd, hdr); err == nil {
		t.Fatal("Decode accepted a frame claiming 2 GiB")
	}
}

// FuzzRoundTrip checks that any sequence of frames, encoded by one reused
// encoder per codec, decodes to exactly the concatenation of its inputs, and
// that the standard library's gzip reader agrees.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint64(0))
	f.Add([]byte("{\"a\":1}\n"), uint64(1))
	f.Add(accessLogNDJSON(6, 600), uint64(2))
	f.Add(bytes.Repeat([]byte{0}, 200), uint64(3))
	// Encoders are shared by all inputs, as in production, and warmed up
	// first so that lazily built state does not make coverage vary between
	// runs of the same input (the fuzzer's minimizer needs it stable).
	warm := accessLogNDJSON(12, 300_000)
	encs := make([]*Encoder, len(codecs))
	for i, c := range codecs {
		e, err := NewEncoder(c)
		if err != nil {
			f.Fatal(err)
		}
		e.AppendFrame(nil, warm)
		e.AppendFrame(nil, nil)
		encs[i] = e
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		// Frame sizes come from seed so boundaries fall anywhere.
		r := rand.New(rand.NewPCG(seed, seed>>7))
		var frames [][]byte
		for rest := data; ; {
			n := r.IntN(len(rest) + 1)
			frames = append(frames, rest[:n])
			rest = rest[n:]
			if len(rest) == 0 {
				break
			}
		}
		for i, c := range codecs {
			var obj []byte
			for _, fr := range frames {
				obj = encs[i].AppendFrame(obj, fr)
			}
			got, err := Decode(c, obj)
			if err != nil {
				t.Fatalf("%v: %d frames: %v", c, len(frames), err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%v: %d frames: round trip changed the data", c, len(frames))
			}
			if c == Gzip {
				zr, err := stdgzip.NewReader(bytes.NewReader(obj))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("compress/gzip disagrees: %v", err)
				}
			}
		}
	})
}

// FuzzDecode feeds arbitrary bytes to Decode: it must return an error or data,
// never panic or run away with memory.
func FuzzDecode(f *testing.F) {
	data := accessLogNDJSON(7, 2000)
	for _, c := range codecs {
		e, _ := NewEncoder(c)
		f.Add(uint8(c), e.AppendFrame(e.AppendFrame(nil, data[:500]), data[500:]))
	}
	f.Add(uint8(Zstd), []byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add(uint8(Gzip), []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, c uint8, obj []byte) {
		out, err := Decode(Codec(c%3), obj)
		if err == nil && len(out) > MaxDecodedSize {
			t.Fatalf("decoded %d bytes beyond the limit", len(out))
		}
	})
}

var benchFrameSizes = []int{64 << 10, 1 << 20}

// BenchmarkAppendFrame measures compression of NDJSON access logs per core:
// MB/s of input, allocations per frame, and the compression ratio
// (input/output) as the "ratio" metric. Levels beyond the defaults are here to
// justify the defaults.
func BenchmarkAppendFrame(b *testing.B) {
	data := accessLogNDJSON(8, 1<<20+(1<<16))
	for _, cfg := range []struct {
		c     Codec
		level int
		name  string
	}{
		{None, 0, "none"},
		{Gzip, DefaultGzipLevel, "gzip-1"},
		{Gzip, gzip.StatelessCompression, "gzip-stateless"},
		{Gzip, 4, "gzip-4"},
		{Gzip, 6, "gzip-6"},
		{Zstd, DefaultZstdLevel, "zstd-fastest"},
		{Zstd, 3, "zstd-default"},
	} {
		for _, size := range benchFrameSizes {
			b.Run(cfg.name+"/"+sizeName(size), func(b *testing.B) {
				e, err := NewEncoderLevel(cfg.c, cfg.level)
				if err != nil {
					b.Fatal(err)
				}
				src := data[:size]
				dst := e.AppendFrame(make([]byte, 0, 2*size), src)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					dst = e.AppendFrame(dst[:0], src)
				}
				b.ReportMetric(float64(size)/float64(len(dst)), "ratio")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(size)/600), "ns/600B")
			})
		}
	}
}

// BenchmarkNewEncoder shows what one encoder costs in memory (B/op) once it
// has compressed its first 1 MiB frame; one is kept per open batch.
func BenchmarkNewEncoder(b *testing.B) {
	src := accessLogNDJSON(9, 1<<20)
	dst := make([]byte, 0, 2<<20)
	for _, c := range []Codec{Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := NewEncoder(c)
				if err != nil {
					b.Fatal(err)
				}
				dst = e.AppendFrame(dst[:0], src)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	data := accessLogNDJSON(10, 1<<20)
	for _, c := range []Codec{Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			obj := encodeFrames(b, c, splitFrames(data, 11))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(c, obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}

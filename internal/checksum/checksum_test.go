package checksum

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

// Every algorithm gives the digest of the reference implementation, whatever the
// sizes of the writes; CRC64NVME also its published check value.
func TestAgainstReference(t *testing.T) {
	ref := map[Algorithm]func([]byte) []byte{
		CRC32C: func(b []byte) []byte {
			return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
		},
		CRC32: func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) },
		CRC64NVME: func(b []byte) []byte {
			return binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, crc64.MakeTable(nvmePoly)))
		},
		SHA256: func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
		SHA1:   func(b []byte) []byte { s := sha1.Sum(b); return s[:] },
	}
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, a := range Algorithms {
		if a == None {
			if a.New() != nil {
				t.Error("None has a hash")
			}
			continue
		}
		for _, n := range []int{0, 1, 7, 8, 9, 63, 4096, len(data)} {
			for _, step := range []int{1, 5, 2048, 1 << 20} {
				var buf bytes.Buffer
				w := &Writer{W: &buf, H: a.New()}
				for p := data[:n]; len(p) > 0; {
					k := min(step, len(p))
					w.Write(p[:k])
					p = p[k:]
				}
				want := base64.StdEncoding.EncodeToString(ref[a](data[:n]))
				if got := SumOf(a, w.H); got.Value != want || got.Alg != a {
					t.Fatalf("%s of %d bytes in writes of %d: %+v, want %s", a, n, step, got, want)
				}
				if !bytes.Equal(buf.Bytes(), data[:n]) {
					t.Fatalf("%s: the writer changed the bytes", a)
				}
			}
		}
	}
	// CRC-64/NVME's check value (the CRC of "123456789").
	if got := updateNVME(0, []byte("123456789")); got != 0xae8b14860a799888 {
		t.Errorf("CRC64NVME check value %#x", got)
	}
}

func TestOfAndNames(t *testing.T) {
	s, err := Of(CRC32C, bytes.NewReader([]byte("123456789")))
	if err != nil || s.Value != base64.StdEncoding.EncodeToString([]byte{0xe3, 0x06, 0x92, 0x83}) {
		t.Errorf("CRC32C of the check string: %+v %v", s, err)
	}
	if s, err := Of(None, bytes.NewReader(nil)); s != (Sum{}) || err != nil {
		t.Errorf("None: %+v %v", s, err)
	}
	for i, want := range []string{"none", "CRC32C", "CRC32", "CRC64NVME", "SHA256", "SHA1"} {
		if got := Algorithm(i).String(); got != want {
			t.Errorf("Algorithm(%d) = %s, want %s", i, got, want)
		}
	}
}

// BenchmarkWriter is the cost of hashing a body as it is encoded, per byte of
// (compressed) body, in writes of 64 KiB as the body file's buffer passes them.
func BenchmarkWriter(b *testing.B) {
	p := make([]byte, 64<<10)
	for i := range p {
		p[i] = byte(i * 7)
	}
	for _, a := range Algorithms[:len(Algorithms)-1] {
		b.Run(fmt.Sprint(a), func(b *testing.B) {
			w := &Writer{W: discard{}, H: a.New()}
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				w.Write(p)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Package checksum computes the checksums S3 verifies on upload (the
// x-amz-checksum-* headers of PutObject): CRC32C, CRC32, CRC64NVME, SHA256 and
// SHA1. An object's checksum is computed as its body is encoded (Writer), from
// the encoder's output on its way to the body file or to memory, so the upload
// reads the body only to send it, and S3 refuses a body that changed anywhere
// between the encoder and S3: in the body file, in the page cache, or in flight.
//
// CRC32C and CRC32 use the standard library (hardware instructions on amd64 and
// arm64). CRC64NVME is computed here by slicing-by-8 over one table built at
// start-up: hash/crc64 builds a 16 KiB table on every write of 2 KiB or more for
// any polynomial but its two own.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
)

// Algorithm is a checksum algorithm of S3's, or None.
type Algorithm uint8

// Algorithms. None sends no checksum.
const (
	None Algorithm = iota
	CRC32C
	CRC32
	CRC64NVME
	SHA256
	SHA1
	numAlgorithms
)

var names = [numAlgorithms]string{"none", "CRC32C", "CRC32", "CRC64NVME", "SHA256", "SHA1"}

// Algorithms are the values of checksum_algorithm, the default first.
var Algorithms = []Algorithm{CRC32C, CRC32, CRC64NVME, SHA256, SHA1, None}

// String is S3's name of a (CRC32C, ...), or "none".
func (a Algorithm) String() string {
	if a < numAlgorithms {
		return names[a]
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// New returns a new hash of a; nil for None.
func (a Algorithm) New() hash.Hash {
	switch a {
	case CRC32C:
		return crc32.New(castagnoli)
	case CRC32:
		return crc32.NewIEEE()
	case CRC64NVME:
		return new(crc64NVME)
	case SHA256:
		return sha256.New()
	case SHA1:
		return sha1.New()
	}
	return nil
}

// Sum is the checksum of a body, as S3's header carries it.
type Sum struct {
	Alg   Algorithm
	Value string // base64 of the digest, big-endian for the CRCs
}

// SumOf is the Sum of what h (a hash of a) has been given.
func SumOf(a Algorithm, h hash.Hash) Sum {
	var b [32]byte
	return Sum{Alg: a, Value: base64.StdEncoding.EncodeToString(h.Sum(b[:0]))}
}

// Of reads r to its end and returns its checksum by a; the zero Sum for None.
func Of(a Algorithm, r io.Reader) (Sum, error) {
	h := a.New()
	if h == nil {
		return Sum{}, nil
	}
	if _, err := io.Copy(h, r); err != nil {
		return Sum{}, err
	}
	return SumOf(a, h), nil
}

// Writer hashes what it passes on to W: what W accepted, so a short write
// leaves the hash matching what W holds.
type Writer struct {
	W io.Writer
	H hash.Hash
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.W.Write(p)
	w.H.Write(p[:n])
	return n, err
}

// crc64NVME is the CRC-64/NVME of S3 (reflected polynomial 0x9a6c9329ac4bc9b5,
// initial value and final XOR all ones), as hash/crc64 computes it with
// crc64.MakeTable(0x9a6c9329ac4bc9b5).
type crc64NVME uint64

const nvmePoly = 0x9a6c9329ac4bc9b5

var nvmeTable = func() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ nvmePoly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

func updateNVME(crc uint64, p []byte) uint64 {
	t := nvmeTable
	crc = ^crc
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

func (c *crc64NVME) Write(p []byte) (int, error) {
	*c = crc64NVME(updateNVME(uint64(*c), p))
	return len(p), nil
}

func (c *crc64NVME) Sum(b []byte) []byte { return binary.BigEndian.AppendUint64(b, uint64(*c)) }
func (c *crc64NVME) Reset()              { *c = 0 }
func (*crc64NVME) Size() int             { return 8 }
func (*crc64NVME) BlockSize() int        { return 1 }

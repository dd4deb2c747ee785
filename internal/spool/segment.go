package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"strings"
)

// The batch file format; doc.go describes it.
const (
	magic      = "ES3SPL"
	version    = 3 // written; versions 1 (one META, no Meta in SEAL) and 2 (no COMMIT) are still read
	headerSize = 8
	segHdrSize = 13
	maxMeta    = 1 << 16

	segMeta = 1
	segData = 2
	segSeal = 3
	// segCommit closes the segments of one Append in one file (format version 3).
	segCommit = 4

	fileExt = ".spl"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// isBatchName reports whether name is that of a batch file.
func isBatchName(name string) bool { return strings.HasSuffix(name, fileExt) }

// appendHeader appends the file header and both copies of META.
func appendHeader(dst, metaJSON []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, version)
	dst = append(dst, headerCheck(dst[len(dst)-7:]))
	dst = appendSegment(dst, segMeta, 0, metaJSON)
	return appendSegment(dst, segMeta, 0, metaJSON)
}

// appendSegment appends one encoded segment to dst.
func appendSegment(dst []byte, typ byte, records uint32, payload []byte) []byte {
	return append(appendSegmentHeader(dst, typ, records, payload), payload...)
}

// appendSegmentHeader appends the header of the segment holding payload to dst.
func appendSegmentHeader(dst []byte, typ byte, records uint32, payload []byte) []byte {
	// The header is built in dst itself: a local array would escape into crc32's
	// assembly and cost an allocation per segment.
	start := len(dst)
	dst = append(dst, typ, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	h := dst[start:]
	binary.LittleEndian.PutUint32(h[1:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[5:], records)
	c := crc32.Update(0, castagnoli, h[:9])
	c = crc32.Update(c, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[9:], c)
	return dst
}

type sealRec struct {
	Key     string `json:"key"`
	Records int    `json:"records"`
	Raw     int64  `json:"raw"`
	Meta    *Meta  `json:"meta,omitempty"` // version 2: a third copy of META
}

// scanner reads segments from a batch file.
type scanner struct {
	r    io.ReaderAt
	size int64
	off  int64 // start of the next segment
	buf  []byte
	hdr  [segHdrSize]byte
}

// header reads the file header and the first META of a clean file. ok is false when
// they are torn or invalid; an unknown version is reported as errVersion.
func (sc *scanner) header() (m Meta, ok bool, err error) {
	var h [headerSize]byte
	if sc.size < headerSize {
		return m, false, nil
	}
	if _, err := sc.r.ReadAt(h[:], 0); err != nil {
		return m, false, err
	}
	if string(h[:len(magic)]) != magic {
		return m, false, nil
	}
	switch headerKind(h) {
	case headerFuture:
		return m, false, errVersion
	case headerDamaged:
		return m, false, nil
	}
	sc.off = headerSize
	typ, _, payload, ok, err := sc.next()
	if err != nil || !ok || typ != segMeta {
		return m, false, err
	}
	if json.Unmarshal(payload, &m) != nil {
		return Meta{}, false, nil
	}
	return m, true, nil
}

var errVersion = errors.New("spool: batch file of an unknown format version")

// headerCheck is the last header byte from version 2 on: the low byte of the CRC-32C
// of the first seven, so a damaged version byte is told apart from a newer format
// (which keeps this rule). Version 1 has a zero there.
func headerCheck(h []byte) byte { return byte(crc32.Checksum(h[:7], castagnoli)) }

const (
	headerOK = iota
	headerDamaged
	headerFuture
)

func headerKind(h [headerSize]byte) int {
	switch {
	case string(h[:len(magic)]) != magic:
		return headerDamaged
	case h[6] == 1 && h[7] == 0, h[6] >= 2 && h[6] <= version && h[7] == headerCheck(h[:]):
		return headerOK
	case h[6] > version && h[7] == headerCheck(h[:]):
		return headerFuture
	}
	return headerDamaged
}

// knownSegment reports whether t is a segment type of some version this package reads.
func knownSegment(t byte) bool { return t >= segMeta && t <= segCommit }

// next reads the segment at sc.off and moves past it; ok is false when it is torn or
// fails its CRC.
func (sc *scanner) next() (typ byte, records uint32, payload []byte, ok bool, err error) {
	typ, records, payload, ok, err = sc.at(sc.off)
	if ok {
		sc.off += segHdrSize + int64(len(payload))
	}
	return typ, records, payload, ok, err
}

// at reads the segment at off; ok is false when it is torn, of an unknown type or
// fails its CRC.
func (sc *scanner) at(off int64) (typ byte, records uint32, payload []byte, ok bool, err error) {
	h := sc.hdr[:]
	if off < 0 || sc.size-off < segHdrSize {
		return 0, 0, nil, false, nil
	}
	if _, err := sc.r.ReadAt(h, off); err != nil {
		return 0, 0, nil, false, err
	}
	if !knownSegment(h[0]) {
		return 0, 0, nil, false, nil
	}
	n := int64(binary.LittleEndian.Uint32(h[1:]))
	if n > sc.size-off-segHdrSize || h[0] == segMeta && n > maxMeta || h[0] == segCommit && n > maxCommit {
		return 0, 0, nil, false, nil
	}
	if int64(cap(sc.buf)) < n {
		sc.buf = make([]byte, n)
	}
	payload = sc.buf[:n]
	if _, err := sc.r.ReadAt(payload, off+segHdrSize); err != nil {
		return 0, 0, nil, false, err
	}
	c := crc32.Update(0, castagnoli, h[:9])
	c = crc32.Update(c, castagnoli, payload)
	if c != binary.LittleEndian.Uint32(h[9:]) {
		return 0, 0, nil, false, nil
	}
	return h[0], binary.LittleEndian.Uint32(h[5:]), payload, true, nil
}

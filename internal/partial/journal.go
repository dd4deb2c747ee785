package partial

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

const (
	journalMagic = "ES3PJL\x01\x00"
	journalExt   = ".pjl"
	entryHdr     = 9 // type u8, len u32, crc u32
	entryAdd     = 1
	entryDone    = 2
	maxEntry     = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journal is the append-only file of pieces held across flushes (see doc.go).
type journal struct {
	dir  string
	name string // the file being appended
	f    *os.File
	size int64
	seq  uint64 // last sequence number given
	buf  []byte
	logf func(string, ...any)
}

// openJournal replays every journal file in dir and rewrites the live pieces into
// a fresh file, removing the old ones.
func openJournal(dir string, logf func(string, ...any)) (*journal, []*Part, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("partial: journal: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("partial: journal: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), journalExt) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	j := &journal{dir: dir, logf: logf}
	var parts []*Part
	for _, n := range names {
		// Sequence numbers are per file (an adopted file has its own): replay each
		// file alone, then number the survivors anew.
		live := map[uint64]*Part{}
		if err := j.replay(filepath.Join(dir, n), live); err != nil {
			return nil, nil, err
		}
		from := make([]*Part, 0, len(live))
		for _, p := range live {
			from = append(from, p)
		}
		sort.Slice(from, func(a, b int) bool { return from[a].seq < from[b].seq })
		parts = append(parts, from...)
	}
	for i, p := range parts {
		p.seq = uint64(i + 1)
	}
	j.seq = uint64(len(parts))
	if err := j.rewrite(parts); err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if filepath.Join(dir, n) != j.name {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				j.close()
				return nil, nil, fmt.Errorf("partial: journal: %w", err)
			}
		}
	}
	if err := fsutil.SyncDir(dir); err != nil {
		j.close()
		return nil, nil, fmt.Errorf("partial: journal: %w", err)
	}
	return j, parts, nil
}

// replay reads one file's entries into live up to its first bad entry.
func (j *journal) replay(path string, live map[uint64]*Part) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("partial: journal: %w", err)
	}
	if len(b) < len(journalMagic) || string(b[:len(journalMagic)]) != journalMagic {
		j.logf("partial: %s is not a journal of this version; left as it is", path)
		return nil
	}
	off := len(journalMagic)
	for off < len(b) {
		typ, payload, next, ok := readEntry(b, off)
		if !ok {
			j.logf("partial: journal %s is torn or damaged at byte %d of %d: the pieces after it are lost", path, off, len(b))
			break
		}
		off = next
		switch typ {
		case entryAdd:
			p, ok := decodeAdd(payload)
			if !ok {
				continue
			}
			live[p.seq] = p
		case entryDone:
			for len(payload) > 0 {
				seq, n := binary.Uvarint(payload)
				if n <= 0 {
					break
				}
				payload = payload[n:]
				delete(live, seq)
			}
		}
	}
	return nil
}

func readEntry(b []byte, off int) (typ byte, payload []byte, next int, ok bool) {
	if len(b)-off < entryHdr {
		return 0, nil, 0, false
	}
	h := b[off : off+entryHdr]
	n := int(binary.LittleEndian.Uint32(h[1:]))
	if n > maxEntry || len(b)-off-entryHdr < n {
		return 0, nil, 0, false
	}
	payload = b[off+entryHdr : off+entryHdr+n]
	c := crc32.Update(0, castagnoli, h[:5])
	if crc32.Update(c, castagnoli, payload) != binary.LittleEndian.Uint32(h[5:]) {
		return 0, nil, 0, false
	}
	return h[0], payload, off + entryHdr + n, true
}

func appendEntry(dst []byte, typ byte, payload func([]byte) []byte) []byte {
	start := len(dst)
	dst = append(dst, typ, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = payload(dst)
	h := dst[start : start+entryHdr]
	binary.LittleEndian.PutUint32(h[1:], uint32(len(dst)-start-entryHdr))
	c := crc32.Update(0, castagnoli, h[:5])
	binary.LittleEndian.PutUint32(h[5:], crc32.Update(c, castagnoli, dst[start+entryHdr:]))
	return dst
}

func appendBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

func encodeAdd(dst []byte, p *Part) []byte {
	return appendEntry(dst, entryAdd, func(d []byte) []byte {
		d = binary.AppendUvarint(d, p.seq)
		d = appendBytes(d, []byte(p.Key))
		d = appendBytes(d, []byte(p.Tag))
		d = appendBytes(d, p.Record)
		d = appendBytes(d, p.Log)
		d = binary.AppendUvarint(d, uint64(p.Ordinal))
		last := byte(0)
		if p.Last {
			last = 1
		}
		d = append(d, last)
		return binary.AppendVarint(d, p.Time.UnixNano())
	})
}

func decodeAdd(b []byte) (*Part, bool) {
	var p Part
	var ok bool
	next := func() []byte {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			ok = false
			return nil
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v
	}
	seq, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, false
	}
	b, ok = b[k:], true
	p.seq = seq
	p.Key, p.Tag = string(next()), string(next())
	p.Record, p.Log = append([]byte(nil), next()...), append([]byte(nil), next()...)
	ord, k := binary.Uvarint(b)
	if !ok || k <= 0 || ord < 1 || ord > 1<<20 || len(b) < k+1 {
		return nil, false
	}
	p.Ordinal, p.Last = int(ord), b[k] == 1
	ns, k2 := binary.Varint(b[k+1:])
	if k2 <= 0 {
		return nil, false
	}
	p.Time = time.Unix(0, ns).UTC()
	return &p, true
}

// add appends ADD entries for parts, numbering them, and fsyncs; on error the file
// is cut back.
func (j *journal) add(parts []*Part) error {
	j.buf = j.buf[:0]
	seq := j.seq
	for _, p := range parts {
		seq++
		p.seq = seq
		j.buf = encodeAdd(j.buf, p)
	}
	if err := j.write(j.buf, true); err != nil {
		return err
	}
	j.seq = seq
	return nil
}

// done appends a DONE entry naming the pieces written; it is made durable by the
// next fsync (see doc.go: losing it costs a duplicate, never a piece).
func (j *journal) done(seqs []uint64) error {
	j.buf = appendEntry(j.buf[:0], entryDone, func(d []byte) []byte {
		for _, s := range seqs {
			d = binary.AppendUvarint(d, s)
		}
		return d
	})
	return j.write(j.buf, false)
}

func (j *journal) write(b []byte, sync bool) error {
	if _, err := j.f.WriteAt(b, j.size); err != nil {
		j.f.Truncate(j.size)
		return fmt.Errorf("partial: journal: %w", err)
	}
	if sync {
		if err := j.f.Sync(); err != nil {
			j.f.Truncate(j.size)
			return fmt.Errorf("partial: journal: %w", err)
		}
	}
	j.size += int64(len(b))
	return nil
}

// truncate cuts the file back to size (a refused flush's entries).
func (j *journal) truncate(size int64) error {
	if err := j.f.Truncate(size); err != nil {
		return err
	}
	j.size = size
	return j.f.Sync()
}

// rewrite writes parts into a new file, fsynced, which becomes the journal; the old
// file is removed.
func (j *journal) rewrite(parts []*Part) error {
	name := filepath.Join(j.dir, fmt.Sprintf("%016x%s", time.Now().UnixNano(), journalExt))
	f, err := os.OpenFile(name+".tmp", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("partial: journal: %w", err)
	}
	b := append([]byte(nil), journalMagic...)
	for _, p := range parts {
		b = encodeAdd(b, p)
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(name+".tmp", name)
	}
	if err == nil {
		err = fsutil.SyncDir(j.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(name + ".tmp")
		return fmt.Errorf("partial: journal: %w", err)
	}
	old, oldName := j.f, j.name
	j.f, j.name, j.size = f, name, int64(len(b))
	if old != nil {
		old.Close()
		if oldName != name {
			os.Remove(oldName)
		}
	}
	return nil
}

// compact rewrites the journal with only the live parts.
func (j *journal) compact(parts []*Part) error {
	sort.Slice(parts, func(a, b int) bool { return parts[a].seq < parts[b].seq })
	return j.rewrite(parts)
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}

package parquetenc

import (
	"hash/maphash"
	"math"
	"slices"
)

// colData holds one column of the rows read so far, compactly: integers as
// int64 with a null flag, repeating strings as ids into an interned set (a
// task ARN costs 4 bytes a row, not 90), other strings in one arena.
type colData struct {
	kind  colKind
	ints  []int64  // colTime, colInt
	null  []bool   // colInt, colStr
	ids   []uint32 // colDict: 0 is null, n is interned value n-1
	data  []byte   // colStr arena; colDict interned values
	ends  []uint32 // end offsets into data: per row (colStr) or per interned value (colDict)
	slots []uint32 // colDict: open-addressing table of interned ids (0 empty)
	last  []byte   // colDict: the previous value, skipping the lookup on runs
	lastI uint32
}

// internSeed hashes interned values; a map[string] would allocate a key per
// distinct value.
var internSeed = maphash.MakeSeed()

func (c *colData) reset() {
	c.ints, c.null, c.ids, c.data, c.ends = c.ints[:0], c.null[:0], c.ids[:0], c.data[:0], c.ends[:0]
	clear(c.slots)
	c.last, c.lastI = nil, 0
}

// bytes is the memory the column's rows hold.
func (c *colData) bytes() int {
	return 8*len(c.ints) + len(c.null) + 4*len(c.ids) + len(c.data) + 4*len(c.ends) + 4*len(c.slots)
}

// value is one parsed value waiting to be committed with its row.
type value struct {
	set bool
	i   int64
	b   []byte
}

func (c *colData) add(v *value) {
	switch c.kind {
	case colTime:
		c.ints = append(c.ints, v.i)
	case colInt:
		c.ints = append(c.ints, v.i)
		c.null = append(c.null, !v.set)
	case colDict:
		if !v.set {
			c.ids = append(c.ids, 0)
			return
		}
		if c.lastI != 0 && string(v.b) == string(c.last) {
			c.ids = append(c.ids, c.lastI)
			return
		}
		id := c.intern(v.b)
		c.ids = append(c.ids, id)
		c.lastI, c.last = id, c.data[c.start(id-1):c.ends[id-1]]
	case colStr:
		c.null = append(c.null, !v.set)
		if v.set {
			c.data = append(c.data, v.b...)
		}
		c.ends = append(c.ends, uint32(len(c.data)))
	}
}

// intern returns the id of v, adding it if new.
func (c *colData) intern(v []byte) uint32 {
	if 2*(len(c.ends)+1) > len(c.slots) {
		c.growSlots()
	}
	mask := uint64(len(c.slots) - 1)
	for i := maphash.Bytes(internSeed, v) & mask; ; i = (i + 1) & mask {
		id := c.slots[i]
		if id == 0 {
			c.data = append(c.data, v...)
			c.ends = append(c.ends, uint32(len(c.data)))
			id = uint32(len(c.ends))
			c.slots[i] = id
			return id
		}
		if string(c.data[c.start(id-1):c.ends[id-1]]) == string(v) {
			return id
		}
	}
}

// growSlots doubles the table (at least 64 slots) and re-inserts every id.
func (c *colData) growSlots() {
	n := max(64, 2*len(c.slots))
	c.slots = make([]uint32, n)
	mask := uint64(n - 1)
	for id := uint32(1); id <= uint32(len(c.ends)); id++ {
		i := maphash.Bytes(internSeed, c.data[c.start(id-1):c.ends[id-1]]) & mask
		for c.slots[i] != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = id
	}
}

func (c *colData) start(i uint32) uint32 {
	if i == 0 {
		return 0
	}
	return c.ends[i-1]
}

// table is the rows of one row group, column by column.
type table struct {
	cols []colData
	row  []value
	rows int
	perm []uint32
}

func (t *table) init(cols []column) {
	t.cols = make([]colData, len(cols))
	for i, c := range cols {
		t.cols[i].kind = c.kind
	}
	t.row = make([]value, len(cols))
}

// capBytes is the memory the column buffers keep between files.
func (t *table) capBytes() int {
	n := 0
	for i := range t.cols {
		c := &t.cols[i]
		n += 8*cap(c.ints) + cap(c.null) + 4*cap(c.ids) + cap(c.data) + 4*cap(c.ends) + 4*cap(c.slots)
	}
	return n
}

// release drops buffers larger than keep, so an idle Encoder holds little:
// an instance keeps one per schema, and a batch's rows take megabytes.
func (t *table) release(keep int) {
	if t.capBytes() <= keep {
		return
	}
	for i := range t.cols {
		t.cols[i] = colData{kind: t.cols[i].kind}
	}
	t.perm = nil
}

func (t *table) reset() {
	for i := range t.cols {
		t.cols[i].reset()
	}
	t.rows = 0
}

// room reports whether the arenas can take a row of n more bytes: offsets are
// 32-bit, so a row group ends well before 4 GiB of one column.
func (t *table) room(n int) bool {
	for i := range t.cols {
		if len(t.cols[i].data)+n > math.MaxUint32/2 {
			return false
		}
	}
	return true
}

func (t *table) bytes() int {
	n := 0
	for i := range t.cols {
		n += t.cols[i].bytes()
	}
	return n
}

// commit appends the parsed row and clears it.
func (t *table) commit() {
	for i := range t.cols {
		t.cols[i].add(&t.row[i])
		t.row[i] = value{}
	}
	t.rows++
}

// order returns the row indexes sorted by timestamp (column 0), stably, so
// rows of one millisecond keep their arrival order.
func (t *table) order() []uint32 {
	t.perm = slices.Grow(t.perm[:0], t.rows)[:t.rows]
	ts := t.cols[0].ints
	sorted := true
	for i := range t.perm {
		t.perm[i] = uint32(i)
		if i > 0 && ts[i] < ts[i-1] {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(t.perm, func(a, b uint32) int {
			switch {
			case ts[a] < ts[b]:
				return -1
			case ts[a] > ts[b]:
				return 1
			}
			return 0
		})
	}
	return t.perm
}

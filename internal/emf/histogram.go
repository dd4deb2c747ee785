package emf

import (
	"math/bits"
	"strconv"
)

// Histogram buckets integer milliseconds log-linearly: values below 16 each have
// their own bucket; above, every power of two is cut into 16 equal buckets. A
// bucket is reported by its midpoint, which is within 1/32 (3.1%) of every value
// in it. Counts are exact.
//
// EMF takes at most MaxValues distinct values per metric in one event; an interval
// whose values fill more buckets is reported with 8, 4 or 2 buckets per power
// of two (within 1/16, 1/8 or 1/4 of each value) until it fits, never split: 16
// exact values plus 29 powers of two at 2 buckets each is 74.
type Histogram struct {
	counts [NumBuckets]uint32
	n      uint64
}

const (
	subBits    = 4
	subBuckets = 1 << subBits // per power of two
	// NumBuckets covers every non-negative value up to 2^32-1 ms (49 days);
	// larger values fall into the last bucket.
	NumBuckets = subBuckets + (32-subBits)*subBuckets
	// MaxValues is EMF's limit of distinct values per metric per event.
	MaxValues = 100
)

// bucketOf is the bucket of v (v >= 0).
func bucketOf(v int64) int {
	if v < subBuckets {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v >= 1<<32 {
		return NumBuckets - 1
	}
	e := bits.Len64(uint64(v)) - 1 // >= subBits
	shift := e - subBits
	return subBuckets + shift*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange is the lowest value of bucket i and its width, at coarsening level
// l (0 = full resolution; above 15, buckets are merged 2^l at a time).
func bucketRange(i, l int) (lo, width int64) {
	if i < subBuckets {
		return int64(i), 1 // exact, at every level
	}
	shift := (i - subBuckets) / subBuckets
	sub := int64((i-subBuckets)%subBuckets) &^ (1<<l - 1)
	return (subBuckets + sub) << shift, int64(1) << (shift + l)
}

// Add counts one value.
func (h *Histogram) Add(v int64) {
	h.counts[bucketOf(v)]++
	h.n++
}

// Count is how many values were added.
func (h *Histogram) Count() uint64 { return h.n }

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// level is the finest coarsening level at which h has at most MaxValues buckets.
func (h *Histogram) level() int {
	for l := 0; ; l++ {
		distinct, last := 0, int64(-1)
		for i, c := range h.counts {
			if c == 0 {
				continue
			}
			if lo, _ := bucketRange(i, l); lo != last {
				distinct, last = distinct+1, lo
			}
		}
		if distinct <= MaxValues {
			return l
		}
	}
}

// AppendJSON appends {"Values":[...],"Counts":[...]}: each non-empty bucket's
// midpoint and count, at most MaxValues of each, values ascending.
func (h *Histogram) AppendJSON(dst []byte) []byte {
	l := h.level()
	type vc struct {
		lo, w int64
		n     uint64
	}
	var buf [MaxValues]vc
	out := buf[:0]
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lo, w := bucketRange(i, l)
		if k := len(out) - 1; k >= 0 && out[k].lo == lo {
			out[k].n += uint64(c)
			continue
		}
		out = append(out, vc{lo, w, uint64(c)})
	}
	dst = append(dst, `{"Values":[`...)
	for k, b := range out {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendFloat(dst, float64(b.lo)+float64(b.w-1)/2, 'f', -1, 64)
	}
	dst = append(dst, `],"Counts":[`...)
	for k, b := range out {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, b.n, 10)
	}
	return append(dst, "]}"...)
}

// Resolution is the largest distance, relative to the value, between a value
// added to h and the value AppendJSON reports for it.
func (h *Histogram) Resolution() float64 {
	return float64(int64(1)<<h.level()) / (2 * subBuckets)
}

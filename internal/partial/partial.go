package partial

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

// Defaults of Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBytes     = 16 << 20
	DefaultMaxLineBytes = 1 << 20
)

// The keys Docker's fluentd log driver adds to each piece.
const (
	keyMessage = "partial_message"
	keyID      = "partial_id"
	keyOrdinal = "partial_ordinal"
	keyLast    = "partial_last"
)

// Part is one piece of a split line, copied out of the chunk it came in.
type Part struct {
	Key     string    // the group: tag, NUL, partial_id
	Tag     string    // the chunk's tag
	Ordinal int       // 1-based position in the line
	Last    bool      // partial_last
	Time    time.Time // event time
	Record  []byte    // the FireLens record (msgpack map) as received
	Log     []byte    // this piece of the line

	arrived   time.Time
	journaled bool   // in the journal (a committed flush left it held)
	seq       uint64 // its number in the journal, named again by DONE
}

// Size is what the part costs in memory, for MaxBytes.
func (p *Part) Size() int { return len(p.Record) + len(p.Log) + len(p.Key) + len(p.Tag) + 64 }

// Parse copies the piece rec (with event time t, under tag) into a Part. It reports
// false for a piece that cannot be grouped (no partial_id, no ordinal of 1 or more,
// no string log value): the caller writes that one as it is.
func Parse(rec chunk.Map, t time.Time, tag, logKey string) (*Part, bool) {
	var id, logv []byte
	ord, last, gotOrd := 0, false, false
	it := rec.Iter()
	for it.Next() {
		k, v := it.Key(), it.Value()
		if kk := k.Kind(); kk != chunk.KindStr && kk != chunk.KindBin {
			continue
		}
		switch name := k.Bytes(); string(name) {
		case keyID:
			if id == nil && (v.Kind() == chunk.KindStr || v.Kind() == chunk.KindBin) {
				id = v.Bytes()
			}
		case keyOrdinal:
			if !gotOrd {
				ord, gotOrd = ordinal(v)
			}
		case keyLast:
			switch v.Kind() {
			case chunk.KindStr, chunk.KindBin:
				last = string(v.Bytes()) == "true"
			case chunk.KindBool:
				last, _ = v.Bool()
			}
		case logKey:
			if logv == nil && (v.Kind() == chunk.KindStr || v.Kind() == chunk.KindBin) {
				logv = v.Bytes()
			}
		}
	}
	if len(id) == 0 || !gotOrd || logv == nil {
		return nil, false
	}
	return &Part{
		Key: tag + "\x00" + string(id), Tag: tag, Ordinal: ord, Last: last, Time: t,
		Record: bytes.Clone(rec.Raw()), Log: bytes.Clone(logv),
	}, true
}

func ordinal(v chunk.Value) (int, bool) {
	var n int64
	switch v.Kind() {
	case chunk.KindStr, chunk.KindBin:
		var err error
		if n, err = strconv.ParseInt(string(v.Bytes()), 10, 32); err != nil {
			return 0, false
		}
	case chunk.KindInt, chunk.KindUint:
		var ok bool
		if n, ok = v.Int(); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if n < 1 || n > 1<<20 {
		return 0, false
	}
	return int(n), true
}

// Join appends the record of a complete group to dst: the first piece's record with
// the pieces' logs joined as the log value and the partial_* keys removed. It returns
// the map, which aliases dst.
func Join(dst []byte, parts []*Part, logKey string) ([]byte, chunk.Map, error) {
	if len(parts) == 0 {
		return dst, chunk.Map{}, errors.New("partial: empty group")
	}
	logs := make([][]byte, len(parts))
	for i, p := range parts {
		logs[i] = p.Log
	}
	return rewrite(dst, parts[0].Record, logKey, logs, true)
}

// Cut says where the line of a piece written as it came was cut: before it unless
// it is the first piece, after it unless it says partial_last. A secret cut there
// is half in this piece and half in a neighbour that may never come; the caller
// masks what touches the cuts (redact.Piece) before the piece's other rules.
func (p *Part) Cut() (before, after bool) { return p.Ordinal > 1, !p.Last }

// MapLog appends the record of a part to be written as it came, with log (the
// piece's log value once its cuts are masked) as its log value, to dst. It returns
// the map, which aliases dst.
func (p *Part) MapLog(dst, log []byte, logKey string) ([]byte, chunk.Map, error) {
	return rewrite(dst, p.Record, logKey, [][]byte{log}, false)
}

// rewrite appends record rec with the logs joined as its log value (and without the
// partial_* keys when drop is set) to dst.
func rewrite(dst, rec []byte, logKey string, logs [][]byte, drop bool) ([]byte, chunk.Map, error) {
	first, err := recordMap(rec)
	if err != nil {
		return dst, chunk.Map{}, err
	}
	n := 0
	it := first.Iter()
	for it.Next() {
		if !drop || !dropKey(it.Key()) {
			n++
		}
	}
	size := 0
	for _, l := range logs {
		size += len(l)
	}
	start := len(dst)
	dst = chunk.AppendMapHeader(dst, n)
	logDone := false
	it = first.Iter()
	for it.Next() {
		k := it.Key()
		if drop && dropKey(k) {
			continue
		}
		dst = append(dst, k.Raw()...)
		if !logDone && (k.Kind() == chunk.KindStr || k.Kind() == chunk.KindBin) && string(k.Bytes()) == logKey {
			logDone = true
			dst = chunk.AppendStringHeader(dst, size)
			for _, l := range logs {
				dst = append(dst, l...)
			}
			continue
		}
		dst = append(dst, it.Value().Raw()...)
	}
	m, err := recordMap(dst[start:])
	return dst, m, err
}

// Map returns the record of a part, to be written as it came.
func (p *Part) Map() (chunk.Map, error) { return recordMap(p.Record) }

func recordMap(b []byte) (chunk.Map, error) {
	v, _, err := chunk.ReadValue(b)
	if err != nil {
		return chunk.Map{}, err
	}
	m, ok := v.Map()
	if !ok {
		return chunk.Map{}, errors.New("partial: record is not a map")
	}
	return m, nil
}

func dropKey(k chunk.Value) bool {
	if kk := k.Kind(); kk != chunk.KindStr && kk != chunk.KindBin {
		return false
	}
	switch string(k.Bytes()) {
	case keyMessage, keyID, keyOrdinal, keyLast:
		return true
	}
	return false
}

// Options configure a Reassembler.
type Options struct {
	Timeout      time.Duration        // how long a group waits for its pieces; 0: DefaultTimeout
	MaxBytes     int64                // pieces held at most; 0: DefaultMaxBytes
	MaxLineBytes int                  // longest joined line; 0: DefaultMaxLineBytes
	Dir          string               // journal directory; "" keeps pieces in memory only
	Now          func() time.Time     // nil: time.Now
	Logf         func(string, ...any) // warnings; nil discards
}

// Stats are the Reassembler's counters.
type Stats struct {
	Parts    int64 // pieces received
	Joined   int64 // complete groups written as one record
	AsIs     int64 // pieces written as they came (timed out, too long, over memory, repeated ordinal)
	Held     int   // pieces waiting now
	HeldSize int64 // their bytes
}

type group struct {
	parts   []*Part // by ordinal
	size    int
	first   time.Time // arrival of the first piece
	lastOrd int       // ordinal of the piece that said partial_last; 0 until then
}

func (g *group) clone() *group {
	c := *g
	c.parts = append([]*Part(nil), g.parts...)
	return &c
}

func (g *group) complete() bool {
	n := len(g.parts)
	return g.lastOrd > 0 && n == g.lastOrd && g.parts[0].Ordinal == 1 && g.parts[n-1].Ordinal == g.lastOrd
}

// Reassembler holds the groups of one output instance. Its methods are safe for
// concurrent use; a flush's calls form a transaction (Begin ... Commit or Rollback)
// that holds its lock throughout (see the package documentation).
type Reassembler struct {
	opt Options
	mu  sync.Mutex
	j   *journal

	groups map[string]*group
	size   int64
	stats  Stats

	// The transaction in progress.
	undo     map[string]*group // groups as they were at Begin; nil: absent then
	undoSize int64
	undoSt   Stats
	done     []uint64 // journaled pieces this transaction finished
	mark     int64    // journal size at Prepare, for Rollback
	prepared bool
}

// New returns a Reassembler; with Options.Dir it replays the journal there first, so
// the pieces an earlier process held wait again (their Timeout starts anew).
func New(opt Options) (*Reassembler, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	r := &Reassembler{opt: opt, groups: map[string]*group{}}
	if opt.Dir == "" {
		return r, nil
	}
	j, parts, err := openJournal(opt.Dir, opt.Logf)
	if err != nil {
		return nil, err
	}
	r.j = j
	now := opt.Now()
	for _, p := range parts {
		p.arrived, p.journaled = now, true
		r.insert(p)
	}
	return r, nil
}

// Recovered reports how many pieces the journal held at New.
func (r *Reassembler) Recovered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats.Held
}

// Stats returns the counters.
func (r *Reassembler) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Begin starts a transaction and holds the lock until Commit or Rollback.
func (r *Reassembler) Begin() {
	r.mu.Lock()
	r.undo = map[string]*group{}
	r.undoSize, r.undoSt = r.size, r.stats
	r.done = r.done[:0]
	r.prepared = false
}

// touch remembers how group key was before the transaction changed it.
func (r *Reassembler) touch(key string) {
	if _, ok := r.undo[key]; ok {
		return
	}
	if g := r.groups[key]; g != nil {
		r.undo[key] = g.clone()
	} else {
		r.undo[key] = nil
	}
}

// insert adds p to its group without any check; false when its ordinal is held.
func (r *Reassembler) insert(p *Part) bool {
	g := r.groups[p.Key]
	if g == nil {
		g = &group{first: p.arrived}
		r.groups[p.Key] = g
	}
	i := sort.Search(len(g.parts), func(i int) bool { return g.parts[i].Ordinal >= p.Ordinal })
	if i < len(g.parts) && g.parts[i].Ordinal == p.Ordinal {
		return false
	}
	g.parts = append(g.parts, nil)
	copy(g.parts[i+1:], g.parts[i:])
	g.parts[i] = p
	g.size += len(p.Log)
	if p.Last {
		g.lastOrd = p.Ordinal
	}
	r.size += int64(p.Size())
	r.stats.Held++
	r.stats.HeldSize = r.size
	return true
}

// remove takes group key out and returns its pieces.
func (r *Reassembler) remove(key string) []*Part {
	g := r.groups[key]
	delete(r.groups, key)
	for _, p := range g.parts {
		r.size -= int64(p.Size())
		if p.journaled {
			r.done = append(r.done, p.seq)
		}
	}
	r.stats.Held -= len(g.parts)
	r.stats.HeldSize = r.size
	return g.parts
}

// Add takes one piece. It returns the pieces of a group p completed, in order (join
// them and write one record), and pieces to write as they came; both may be empty.
func (r *Reassembler) Add(p *Part) (whole, asIs []*Part) {
	r.stats.Parts++
	p.arrived = r.opt.Now()
	r.touch(p.Key)
	if g := r.groups[p.Key]; g != nil {
		i := sort.Search(len(g.parts), func(i int) bool { return g.parts[i].Ordinal >= p.Ordinal })
		if i < len(g.parts) && g.parts[i].Ordinal == p.Ordinal {
			if bytes.Equal(g.parts[i].Log, p.Log) {
				return nil, nil // a redelivery of a piece held
			}
			r.stats.AsIs++
			return nil, []*Part{p}
		}
	}
	r.insert(p)
	g := r.groups[p.Key]
	switch {
	case g.complete():
		r.stats.Joined++
		whole = r.remove(p.Key)
	case g.size > r.opt.MaxLineBytes:
		asIs = r.remove(p.Key)
		r.stats.AsIs += int64(len(asIs))
	}
	for r.size > r.opt.MaxBytes && len(r.groups) > 0 {
		asIs = append(asIs, r.evictOldest()...)
	}
	return whole, asIs
}

func (r *Reassembler) evictOldest() []*Part {
	var oldest string
	var at time.Time
	for k, g := range r.groups {
		if oldest == "" || g.first.Before(at) {
			oldest, at = k, g.first
		}
	}
	r.touch(oldest)
	parts := r.remove(oldest)
	r.stats.AsIs += int64(len(parts))
	return parts
}

// Due removes the groups whose first piece arrived Timeout ago or more (every group
// when all is set, as at exit) and returns their pieces, to write as they came.
func (r *Reassembler) Due(all bool) []*Part {
	now := r.opt.Now()
	var keys []string
	for k, g := range r.groups {
		if all || now.Sub(g.first) >= r.opt.Timeout {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		ga, gb := r.groups[keys[a]], r.groups[keys[b]]
		return ga.first.Before(gb.first) || ga.first.Equal(gb.first) && keys[a] < keys[b]
	})
	var out []*Part
	for _, k := range keys {
		r.touch(k)
		out = append(out, r.remove(k)...)
	}
	r.stats.AsIs += int64(len(out))
	return out
}

// Prepare makes the pieces the transaction leaves held durable (journal, fsync).
// Without a journal it does nothing.
func (r *Reassembler) Prepare() error {
	if r.j == nil {
		return nil
	}
	r.mark = r.j.size
	var add []*Part
	for key := range r.undo {
		if g := r.groups[key]; g != nil {
			for _, p := range g.parts {
				if !p.journaled {
					add = append(add, p)
				}
			}
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := r.j.add(add); err != nil {
		return err
	}
	for _, p := range add {
		p.journaled = true
	}
	r.prepared = true
	return nil
}

// Commit ends the transaction: the groups it finished are marked done in the journal.
func (r *Reassembler) Commit() {
	defer r.mu.Unlock()
	r.undo = nil
	if r.j == nil {
		return
	}
	if len(r.done) > 0 {
		if err := r.j.done(r.done); err != nil {
			// Not durable: after a crash those pieces come back and are written again
			// (duplicates, never a loss).
			r.opt.Logf("partial: could not mark %d written piece(s) done in the journal: %v", len(r.done), err)
		}
	}
	live := int64(0)
	for _, g := range r.groups {
		for _, p := range g.parts {
			live += int64(p.Size())
		}
	}
	if r.j.size > max(1<<20, 4*live) {
		var parts []*Part
		for _, g := range r.groups {
			parts = append(parts, g.parts...)
		}
		if err := r.j.compact(parts); err != nil {
			r.opt.Logf("partial: compacting the journal: %v", err)
		}
	}
}

// Rollback ends the transaction undoing it: groups as they were at Begin, the
// journal cut back to where Prepare found it.
func (r *Reassembler) Rollback() {
	defer r.mu.Unlock()
	for key, g := range r.undo {
		if g == nil {
			delete(r.groups, key)
		} else {
			r.groups[key] = g
		}
	}
	r.size, r.stats = r.undoSize, r.undoSt
	r.undo = nil
	if r.prepared {
		if err := r.j.truncate(r.mark); err != nil {
			r.opt.Logf("partial: could not cut the journal back after a refused flush (a restart may write its pieces once more): %v", err)
		}
	}
}

// Close closes the journal; pieces still in it wait for the next start.
func (r *Reassembler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.j == nil {
		return nil
	}
	return r.j.close()
}

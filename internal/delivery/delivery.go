// Package delivery uploads sealed objects in the background with a bounded pool of
// workers, so a Fluent Bit flush never waits on the network.
//
// Every failed upload is retried with exponential backoff and full jitter for as long
// as the object is held. Errors the user must fix (a denied or missing bucket) are
// logged once per episode with the remedy and then retried slowly, so fixing the
// bucket policy heals the pipeline without a restart. A job refused that way waits in
// the queue, not in its worker, so a permanent error on some objects (a denied
// prefix, a sporadic 403) never stalls the others; only when Workers attempts in a
// row are refused with no upload between does the pool hold, probing one object
// every SlowRetry/16.
//
// # Episodes
//
// Failures are logged per episode, not per attempt or per worker. An episode of a
// permanent error starts with the first attempt that fails with its remedy and ends
// when a job that hit it is uploaded; an episode of transient errors (5xx,
// timeouts, refused connections) starts with the first failed attempt after a
// success and ends with the next success. The first failure of an episode is logged
// at once, with its cause; while it lasts, a reminder is logged at most once per
// Options.Remind. An attempt that was already under way when its episode ended
// belongs to that episode: its failure, reported after the success that ended it,
// neither logs again nor opens a new episode. So N workers failing together give one
// line, whatever the order in which they finish.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("delivery: closed")

// Putter stores one object. s3sink.Client implements it.
type Putter interface {
	Put(ctx context.Context, key string, body Body) error
}

// Body is the content of one object. Each attempt reads it from its start through
// ReadAt, so a retry sends all of it again and a body in a file is streamed, never
// held in memory whole.
type Body interface {
	io.ReaderAt
	Size() int64
	// Close releases the body (a body file is removed) once its job is uploaded
	// or abandoned. Size still answers after Close.
	Close() error
}

// ErrBodyRefused marks a failure the body itself may cause: the server found it
// did not match its checksum, whether it changed in flight or after it was
// prepared (a body file on a failing disk). A prepared body is then built again
// for the next attempt, so damage that is in the body does not repeat forever.
var ErrBodyRefused = errors.New("delivery: the body did not match its checksum")

// BodyRefused marks err as ErrBodyRefused; its text is err's.
func BodyRefused(err error) error { return bodyRefused{err} }

type bodyRefused struct{ error }

func (e bodyRefused) Unwrap() []error { return []error{e.error, ErrBodyRefused} }

// Bytes is a Body held in memory.
type Bytes []byte

// ReadAt implements io.ReaderAt.
func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("delivery: negative offset")
	}
	if off >= int64(len(b)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size is len(b).
func (b Bytes) Size() int64 { return int64(len(b)) }

// Close does nothing: memory is the owner's to reuse (see Job.Done).
func (Bytes) Close() error { return nil }

// Reader reads the whole of b from its start. It is seekable, so an S3 client can
// hash the payload and rewind it without buffering it.
func Reader(b Body) *io.SectionReader { return io.NewSectionReader(b, 0, b.Size()) }

// ReadAll returns the bytes of b: Bytes as they are, any other body read into memory.
func ReadAll(b Body) ([]byte, error) {
	if m, ok := b.(Bytes); ok {
		return m, nil
	}
	return io.ReadAll(Reader(b))
}

// Job is one object to upload. Either Body is set (and stays its submitter's, to
// release in Done), or Prepare builds it in the upload worker (reading and encoding a
// spooled batch off the flush path), once and kept for the retries; the pool closes a
// prepared body when the job is uploaded or abandoned. Done, when set, runs once
// after the upload succeeded.
type Job struct {
	Key     string
	Body    Body
	Prepare func() (Body, error)
	Size    int64 // bytes accounted as pending; Body.Size() when zero
	Records int
	Done    func()
	// Send, when set, delivers the body instead of Putter.Put (CloudWatch Logs batches).
	Send func(ctx context.Context, body Body) error
	// Target names where this job goes, for messages; "" means Options.Target.
	Target string
	// Since is when the job's first record was accepted (Pool.Oldest); zero: unknown.
	Since time.Time

	hit       string    // the episode this job's last failure belonged to
	counted   int64     // bytes added to Pool.pending at Submit
	notBefore time.Time // a permanent error: not tried again before this
	probe     bool      // tried during a hold of the pool
	lastErr   error     // why the last attempt failed, or was cut by Close
}

// Err says why j's last attempt failed: its error, or, for an attempt Close cut
// short, how long it had waited for an answer. nil when j was never tried.
func (j *Job) Err() error { return j.lastErr }

func (j *Job) size() int64 {
	if j.Size > 0 || j.Body == nil {
		return j.Size
	}
	return j.Body.Size()
}

// release closes a body the pool prepared.
func (j *Job) release() {
	if j.Prepare != nil && j.Body != nil {
		j.Body.Close()
		j.Body = nil // rebuilt from the spool if ever needed again
	}
}

// Verdict says how to treat an upload error.
type Verdict struct {
	Permanent bool   // retry slowly, log once
	Remedy    string // one line saying what to fix; never a secret
}

// Options configure a Pool.
type Options struct {
	Workers    int                              // concurrent uploads; default 4
	Put        Putter                           //
	Classify   func(error) Verdict              // nil: every error is transient
	MinBackoff time.Duration                    // default 500ms
	MaxBackoff time.Duration                    // default 30s
	SlowRetry  time.Duration                    // wait between tries of a permanent error; default 60s
	Timeout    time.Duration                    // per attempt; default 60s
	Target     string                           // where uploads go, for messages (an endpoint and bucket)
	Logf       func(string, ...any)             // warnings (may be nil)
	Errorf     func(string, ...any)             // errors the user must fix (nil: Logf)
	Remind     time.Duration                    // least time between reminders of an ongoing episode; default 60s
	Uploaded   func(j *Job, took time.Duration) // stats hook (may be nil)
	Failed     func(j *Job, err error)          // stats hook, per failed attempt (may be nil)
}

// Pool is a set of upload workers fed by an unbounded queue whose size the caller
// watches through Pending to apply backpressure.
type Pool struct {
	opt     Options
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*Job
	busy    map[*Job]struct{} // being uploaded by a worker
	pending int64             // bytes queued or in flight
	jobs    int
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	inflightLeft []*Job // jobs abandoned mid-retry at Close

	// Permanent errors: the refused job waits in the queue (notBefore), and its
	// worker takes the next one. Only when Workers attempts in a row were refused
	// with no upload between (a missing bucket) does the pool hold: then one job
	// that was never refused is tried every SlowRetry/16 (objects of a denied
	// prefix may have come first), and an upload ends the hold. An endpoint
	// that refuses everything gets about 20 attempts per SlowRetry, not one per
	// queued object.
	streak    int       // permanent failures since the last upload
	holdUntil time.Time // no attempt but probes starts before this
	probing   bool      // a probe is under way
	probeAt   time.Time // the next probe of a hold
	timer     *time.Timer
	timerAt   time.Time

	epMu     sync.Mutex
	episodes map[string]*episode // ongoing, by key (a remedy, or transientEpisode)
	ended    map[string]uint64   // sequence number of the end of the last episode of a key
	seq      uint64              // counts attempt starts and episode ends
}

// transientEpisode is the key of the episode of retryable failures.
const transientEpisode = "\x00transient"

type episode struct {
	failures int
	since    time.Time
	reminded time.Time
}

// New starts the workers.
func New(opt Options) *Pool {
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.SlowRetry <= 0 {
		opt.SlowRetry = 60 * time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 60 * time.Second
	}
	if opt.Remind <= 0 {
		opt.Remind = 60 * time.Second
	}
	p := &Pool{opt: opt, busy: map[*Job]struct{}{}, episodes: map[string]*episode{}, ended: map[string]uint64{}}
	p.cond = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	context.AfterFunc(p.ctx, p.broadcast)
	for i := 0; i < opt.Workers; i++ {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// Submit queues j; it never blocks.
func (p *Pool) Submit(j *Job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.queue = append(p.queue, j)
	j.counted = j.size()
	p.pending += j.counted
	p.jobs++
	p.cond.Signal()
	return nil
}

// Pending reports the objects and bytes not yet uploaded.
func (p *Pool) Pending() (jobs int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobs, p.pending
}

// Oldest is the earliest Since of the jobs queued or being uploaded; zero when
// none has one.
func (p *Pool) Oldest() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Time
	for _, j := range p.queue {
		if !j.Since.IsZero() && (t.IsZero() || j.Since.Before(t)) {
			t = j.Since
		}
	}
	for j := range p.busy {
		if !j.Since.IsZero() && (t.IsZero() || j.Since.Before(t)) {
			t = j.Since
		}
	}
	return t
}

// Close stops taking jobs and waits until every queued job is uploaded or ctx ends;
// it returns the jobs that were not uploaded.
func (p *Pool) Close(ctx context.Context) []*Job {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.cancel()
		<-done
	}
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	left := p.queue
	p.queue = nil
	return append(left, p.inflightLeft...)
}

func (p *Pool) broadcast() {
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// next returns the first job that may be tried now, waiting for one; nil when the
// pool is closed and empty, or cancelled.
func (p *Pool) next() *Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.ctx.Err() != nil || len(p.queue) == 0 && p.closed {
			return nil
		}
		now := time.Now()
		var wake time.Time
		if now.Before(p.holdUntil) {
			wake = p.holdUntil
			if !p.probing && !now.Before(p.probeAt) {
				for i, j := range p.queue {
					if j.notBefore.IsZero() {
						p.queue = append(p.queue[:i], p.queue[i+1:]...)
						p.probing, j.probe = true, true
						p.busy[j] = struct{}{}
						return j
					}
				}
			} else if !p.probing && p.probeAt.Before(wake) {
				wake = p.probeAt
			}
		} else {
			for i, j := range p.queue {
				if !now.Before(j.notBefore) {
					p.queue = append(p.queue[:i], p.queue[i+1:]...)
					p.busy[j] = struct{}{}
					return j
				}
				if wake.IsZero() || j.notBefore.Before(wake) {
					wake = j.notBefore
				}
			}
		}
		p.wakeAt(wake)
		p.cond.Wait()
	}
}

// wakeAt makes sure waiting workers are woken at t (zero: no need); p.mu is held.
func (p *Pool) wakeAt(t time.Time) {
	if t.IsZero() {
		return
	}
	now := time.Now()
	if p.timer != nil && p.timerAt.After(now) && !p.timerAt.After(t) {
		return // an earlier wake is already set
	}
	p.timerAt = t
	if p.timer == nil {
		p.timer = time.AfterFunc(t.Sub(now), p.broadcast)
	} else {
		p.timer.Reset(t.Sub(now))
	}
}

// target is ", <where j goes>" or "".
func (p *Pool) target(j *Job) string {
	t := j.Target
	if t == "" {
		t = p.opt.Target
	}
	if t == "" {
		return ""
	}
	return ", " + t
}

// probeGap is the time between probes during a hold.
func (p *Pool) probeGap() time.Duration { return p.opt.SlowRetry / 16 }

// outcome of upload.
const (
	uploaded = iota
	deferred // refused with a permanent error: back in the queue until notBefore
	cancelled
)

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		j := p.next()
		if j == nil {
			return
		}
		r := p.upload(j)
		if j.probe {
			p.mu.Lock()
			j.probe, p.probing = false, false
			p.probeAt = time.Now().Add(p.probeGap())
			p.mu.Unlock()
		}
		switch r {
		case cancelled:
			j.release()
			p.mu.Lock()
			delete(p.busy, j)
			p.inflightLeft = append(p.inflightLeft, j)
			p.mu.Unlock()
			return
		case deferred:
			j.release() // a body file is written again for the next attempt
			p.mu.Lock()
			delete(p.busy, j)
			p.queue = append(p.queue, j)
			p.cond.Signal()
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		delete(p.busy, j)
		p.pending -= j.counted
		p.jobs--
		p.streak, p.holdUntil = 0, time.Time{}
		p.cond.Broadcast() // a hold has ended
		p.mu.Unlock()
		j.release()
		if j.Done != nil {
			j.Done()
		}
	}
}

// upload tries j until it succeeds, a permanent error defers it, or the pool is
// cancelled.
func (p *Pool) upload(j *Job) int {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		began := p.begin()
		var err error
		if j.Body == nil && j.Prepare != nil {
			j.Body, err = j.Prepare()
			if err != nil {
				j.Body = nil
				err = fmt.Errorf("reading the batch for %s: %w", j.Key, err)
			}
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(p.ctx, p.opt.Timeout)
			if j.Send != nil {
				err = j.Send(ctx, j.Body)
			} else {
				err = p.opt.Put.Put(ctx, j.Key, j.Body)
			}
			if err != nil && p.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// A stalled endpoint: say so, and where.
				err = fmt.Errorf("no answer within the %s attempt timeout%s: %w", p.opt.Timeout, p.target(j), err)
			}
			cancel()
		}
		if err == nil {
			p.succeeded(j)
			if p.opt.Uploaded != nil {
				p.opt.Uploaded(j, time.Since(start))
			}
			return uploaded
		}
		if p.ctx.Err() != nil {
			if err != nil && j.Body != nil {
				j.lastErr = fmt.Errorf("the attempt under way had no answer after %s (attempt timeout %s%s)", time.Since(start).Round(time.Millisecond), p.opt.Timeout, p.target(j))
			}
			return cancelled
		}
		j.lastErr = err
		if p.opt.Failed != nil {
			p.opt.Failed(j, err)
		}
		if errors.Is(err, ErrBodyRefused) {
			j.release() // built again from the spool for the next attempt
		}
		wait := Backoff(attempt, p.opt.MinBackoff, p.opt.MaxBackoff)
		var v Verdict
		if p.opt.Classify != nil {
			v = p.opt.Classify(err)
		}
		if v.Permanent {
			wait = p.opt.SlowRetry/2 + rand.N(p.opt.SlowRetry/2+1)
			p.failed(j, began, v, err, wait)
			now := time.Now()
			j.notBefore = now.Add(wait)
			p.mu.Lock()
			if p.streak++; p.streak >= p.opt.Workers {
				if !now.Before(p.holdUntil) {
					p.probeAt = now.Add(p.probeGap())
				}
				p.holdUntil = j.notBefore
			}
			p.mu.Unlock()
			return deferred
		}
		p.failed(j, began, v, err, wait)
		if !Sleep(p.ctx, wait) {
			return cancelled
		}
	}
}

// begin marks the start of an attempt: its failure belongs to an episode only if
// that episode did not end after this moment.
func (p *Pool) begin() uint64 {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	p.seq++
	return p.seq
}

// failed files a failed attempt under its episode, logging the episode's first
// failure and, while it lasts, a reminder now and then.
func (p *Pool) failed(j *Job, began uint64, v Verdict, err error, wait time.Duration) {
	key := transientEpisode
	if v.Permanent {
		key = v.Remedy
	}
	p.epMu.Lock()
	defer p.epMu.Unlock()
	j.hit = key
	now := time.Now()
	ep := p.episodes[key]
	if ep == nil {
		if p.ended[key] > began {
			// Under way when its episode ended: a late report of that episode.
			return
		}
		ep = &episode{since: now, reminded: now}
		p.episodes[key] = ep
		ep.failures++
		if v.Permanent {
			if logf := p.errorf(); logf != nil {
				logf("%s; data is kept and retried every %s until this is fixed", v.Remedy, p.opt.SlowRetry)
			}
		} else if p.opt.Logf != nil {
			p.opt.Logf("upload of %s failed, retrying with backoff (next in %s): %v", j.Key, wait.Round(time.Millisecond), err)
		}
		return
	}
	ep.failures++
	if !v.Permanent && now.Sub(ep.reminded) >= p.opt.Remind && p.opt.Logf != nil {
		ep.reminded = now
		p.opt.Logf("uploads still failing: %d failed attempts since %s; latest: %v", ep.failures, ep.since.UTC().Format(time.RFC3339), err)
	}
}

// succeeded ends the transient episode, and the permanent one j had hit.
func (p *Pool) succeeded(j *Job) {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	keys := [2]string{transientEpisode, j.hit}
	j.hit = ""
	for _, key := range keys {
		ep := p.episodes[key]
		if key == "" || ep == nil {
			continue
		}
		delete(p.episodes, key)
		p.seq++
		p.ended[key] = p.seq
		if p.opt.Logf != nil {
			p.opt.Logf("uploads succeed again, after %d failed attempt(s) since %s", ep.failures, ep.since.UTC().Format(time.RFC3339))
		}
	}
}

func (p *Pool) errorf() func(string, ...any) {
	if p.opt.Errorf != nil {
		return p.opt.Errorf
	}
	return p.opt.Logf
}

// Backoff is exponential backoff with full jitter: a uniform wait in
// [0, min(max, base*2^attempt)], so many retrying clients spread out.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	ceil := max
	if attempt < 30 {
		if c := base << uint(attempt); c > 0 && c < max {
			ceil = c
		}
	}
	return rand.N(ceil + 1)
}

// Sleep waits d or until ctx ends; it reports whether the full wait elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ByRemedy is a Classify for errors that say themselves whether they need the user:
// an error with a PermanentRemedy method that reports true (s3sink's, cwlogs',
// cwsink.ErrNotSent) is permanent, with that remedy; any other is retried.
func ByRemedy(err error) Verdict {
	var e interface{ PermanentRemedy() (string, bool) }
	if errors.As(err, &e) {
		if remedy, ok := e.PermanentRemedy(); ok {
			return Verdict{Permanent: true, Remedy: remedy}
		}
	}
	return Verdict{}
}

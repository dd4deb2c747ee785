// Package delivery uploads sealed objects in the background with a bounded pool of
// workers, so a Fluent Bit flush never waits on the network.
//
// Every failed upload is retried with exponential backoff and full jitter for as long
// as the object is held. Errors the user must fix (a denied or missing bucket) are
// logged once per episode with the remedy and then retried slowly, so fixing the
// bucket policy heals the pipeline without a restart.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("delivery: closed")

// Putter stores one object. s3sink.Client implements it.
type Putter interface {
	Put(ctx context.Context, key string, body []byte) error
}

// Job is one object to upload. Either Body is set, or Prepare builds it in the upload
// worker (reading and compressing a spooled batch off the flush path); Done, when set,
// runs once after the upload succeeded.
type Job struct {
	Key     string
	Body    []byte
	Prepare func() ([]byte, error)
	Size    int64 // bytes accounted as pending; len(Body) when zero
	Records int
	Done    func()
	// Send, when set, delivers the body instead of Putter.Put (CloudWatch Logs batches).
	Send func(ctx context.Context, body []byte) error
}

func (j *Job) size() int64 {
	if j.Size > 0 {
		return j.Size
	}
	return int64(len(j.Body))
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
	Logf       func(string, ...any)             // warnings (may be nil)
	Errorf     func(string, ...any)             // errors the user must fix (nil: Logf)
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
	pending int64 // bytes queued or in flight
	jobs    int
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	inflightLeft []*Job // jobs abandoned mid-retry at Close

	permMu   sync.Mutex
	permLast string // remedy of the permanent error currently logged
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
	p := &Pool{opt: opt}
	p.cond = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancel(context.Background())
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
	p.pending += j.size()
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

func (p *Pool) next() *Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.queue) == 0 || p.ctx.Err() != nil {
		return nil
	}
	j := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return j
}

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		j := p.next()
		if j == nil {
			return
		}
		if !p.upload(j) {
			p.mu.Lock()
			p.inflightLeft = append(p.inflightLeft, j)
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		p.pending -= j.size()
		p.jobs--
		p.mu.Unlock()
		if j.Done != nil {
			j.Done()
		}
		if j.Prepare != nil {
			j.Body = nil // rebuilt from the spool if ever needed again
		}
	}
}

// upload tries j until it succeeds (true) or the pool is cancelled (false).
func (p *Pool) upload(j *Job) bool {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		var err error
		if j.Body == nil && j.Prepare != nil {
			j.Body, err = j.Prepare()
			if err != nil {
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
			cancel()
		}
		if err == nil {
			p.healed()
			if p.opt.Uploaded != nil {
				p.opt.Uploaded(j, time.Since(start))
			}
			return true
		}
		if p.ctx.Err() != nil {
			return false
		}
		if p.opt.Failed != nil {
			p.opt.Failed(j, err)
		}
		wait := Backoff(attempt, p.opt.MinBackoff, p.opt.MaxBackoff)
		var v Verdict
		if p.opt.Classify != nil {
			v = p.opt.Classify(err)
		}
		if v.Permanent {
			p.permanent(v.Remedy)
			wait = p.opt.SlowRetry/2 + rand.N(p.opt.SlowRetry/2+1)
		} else if attempt >= 3 && p.opt.Logf != nil {
			p.opt.Logf("upload of %s failed %d times, retrying in %s: %v", j.Key, attempt+1, wait.Round(time.Millisecond), err)
		}
		if !Sleep(p.ctx, wait) {
			return false
		}
	}
}

// permanent logs remedy once per episode (until an upload succeeds again).
func (p *Pool) permanent(remedy string) {
	p.permMu.Lock()
	defer p.permMu.Unlock()
	if p.permLast == remedy {
		return
	}
	p.permLast = remedy
	logf := p.opt.Errorf
	if logf == nil {
		logf = p.opt.Logf
	}
	if logf != nil {
		logf("%s; data is kept and retried every %s until this is fixed", remedy, p.opt.SlowRetry)
	}
}

func (p *Pool) healed() {
	p.permMu.Lock()
	if p.permLast != "" && p.opt.Logf != nil {
		p.opt.Logf("uploads succeed again")
	}
	p.permLast = ""
	p.permMu.Unlock()
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

package metricsink

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// HealthStreamPrefix names the log stream of an instance's health events: the
// prefix plus the tag of the first records it saw.
const HealthStreamPrefix = "envoy_s3-health-"

// maxHealthQueue bounds the health events kept while CloudWatch Logs cannot be
// reached: the newest are kept.
const maxHealthQueue = 60

// healthTimeout bounds one attempt to send health events.
const healthTimeout = 30 * time.Second

// After a failed send the sender tries again on its own, without waiting for the
// next event, after a jittered wait that doubles from healthMinBackoff up to
// healthMaxBackoff (delivery.Backoff, as uploads are retried).
const (
	healthMinBackoff = 500 * time.Millisecond
	healthMaxBackoff = 30 * time.Second
)

// healthDest is where an instance's health events go and the dimension values
// they carry, taken from the first records the instance saw.
type healthDest struct{ cluster, family, group, stream string }

// health sends the health series. Unlike route metrics it does not go through
// the store and the upload pool: it must arrive while S3 is down (upload workers
// busy retrying) and while store_dir is full (the store refuses everything), which
// are the moments it is for. A health event is about now, so none is made durable:
// while CloudWatch Logs cannot be reached, the newest maxHealthQueue wait in memory
// and the sender retries them with backoff until a send succeeds or the sink closes.
type health struct {
	dest  atomic.Pointer[healthDest]
	once  sync.Once
	close sync.Once // CloseHealth stops the sender once, however often it is called
	mu    sync.Mutex
	queue []cwlogs.Event
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	// minBackoff and maxBackoff replace healthMinBackoff and healthMaxBackoff
	// when set (tests); set them before the first Health call.
	minBackoff, maxBackoff time.Duration
}

// SetHealthSource names the health series after v (its cluster, family and tag),
// once: later calls change nothing.
func (s *Sink) SetHealthSource(v *keyformat.Vars) {
	if s.health.dest.Load() != nil {
		return
	}
	group, _ := s.Names(v)
	d := &healthDest{cluster: string(v.Cluster), family: string(v.Family), group: group,
		stream: cwlogs.StreamName(&cwlogs.Options{LogStreamPrefix: HealthStreamPrefix}, string(v.Tag))}
	if d.cluster == "" {
		d.cluster = "unknown"
	}
	if d.family == "" {
		d.family = "unknown"
	}
	s.health.dest.CompareAndSwap(nil, d)
}

// HasHealthSource reports whether SetHealthSource was called.
func (s *Sink) HasHealthSource() bool { return s.health.dest.Load() != nil }

// Health sends one health event for the interval that ends at now, in the
// background. Before any record named the series (SetHealthSource) it does nothing.
// warnf reports the start and end of an episode of failed sends.
func (s *Sink) Health(now time.Time, h *emf.Health, warnf func(string, ...any)) {
	d := s.health.dest.Load()
	if d == nil || s.cw == nil {
		return
	}
	ev := cwlogs.Event{Time: now, Message: emf.AppendHealth(nil, s.namespace, s.highRes, d.cluster, d.family, now, h)}
	hs := &s.health
	hs.once.Do(func() {
		hs.wake, hs.stop, hs.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go s.sendHealth(d, warnf)
	})
	hs.mu.Lock()
	hs.queue = append(hs.queue, ev)
	if n := len(hs.queue); n > maxHealthQueue {
		hs.queue = hs.queue[n-maxHealthQueue:]
	}
	hs.mu.Unlock()
	select {
	case hs.wake <- struct{}{}:
	default:
	}
}

// sendHealth delivers queued health events until CloseHealth.
func (s *Sink) sendHealth(d *healthDest, warnf func(string, ...any)) {
	hs := &s.health
	defer close(hs.done)
	// One context for the sender's life, cancelled by CloseHealth, so a send in
	// progress ends when the sink closes.
	life, stopLife := context.WithCancel(context.Background())
	defer stopLife()
	go func() {
		select {
		case <-hs.stop:
			stopLife()
		case <-life.Done():
		}
	}()
	minWait, maxWait := healthMinBackoff, healthMaxBackoff
	if hs.minBackoff > 0 {
		minWait, maxWait = hs.minBackoff, hs.maxBackoff
	}
	failed := 0 // sends failed in a row; while > 0 the sender retries on its own
	for {
		if failed == 0 {
			select {
			case <-hs.stop:
				return
			case <-hs.wake:
			}
		} else if !delivery.Sleep(life, delivery.Backoff(failed-1, minWait, maxWait)) {
			return
		}
		hs.mu.Lock()
		evs := hs.queue
		hs.queue = nil
		hs.mu.Unlock()
		if len(evs) == 0 {
			failed = 0
			continue
		}
		ctx, cancel := context.WithTimeout(life, healthTimeout)
		// PutTo reorders and rewrites its events: it gets a copy.
		err := s.cw.PutTo(ctx, d.group, d.stream, append([]cwlogs.Event(nil), evs...))
		cancel()
		if err == nil {
			if failed > 0 && warnf != nil {
				warnf("health events reach CloudWatch Logs group %s again", d.group)
			}
			failed = 0
			continue
		}
		if failed == 0 && warnf != nil {
			warnf("health events could not be sent to CloudWatch Logs group %s (%v): the newest %d are kept and retried with backoff", d.group, err, maxHealthQueue)
		}
		failed++
		hs.mu.Lock()
		hs.queue = append(evs, hs.queue...)
		if n := len(hs.queue); n > maxHealthQueue {
			hs.queue = hs.queue[n-maxHealthQueue:]
		}
		hs.mu.Unlock()
	}
}

// CloseHealth stops the sender; events not sent yet are dropped.
func (s *Sink) CloseHealth() {
	hs := &s.health
	hs.once.Do(func() {}) // no sender starts after this; one that did is visible here
	if hs.stop != nil {
		hs.close.Do(func() { close(hs.stop) })
		<-hs.done
	}
}

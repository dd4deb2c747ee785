// Command envoy_s3 is the Fluent Bit output plugin, built with -buildmode=c-shared.
//
// This file holds only the cgo exports Fluent Bit's Go proxy calls, and maps them to
// and from internal/pipeline. Return codes are produced in exactly one place, code.
package main

/*
#include <stdlib.h>
#include "props.h"

// The prefix of fluent-bit-go's flbgo_output_plugin and flb_api that every Fluent Bit
// from 1.9 to 5.x lays out the same way.
struct envoy_api { char *(*output_get_property)(char *, void *); };
struct envoy_plugin { void *_; struct envoy_api *api; void *o_ins; void *context; };

static const char *envoy_get(void *plugin, char *key) {
	struct envoy_plugin *p = plugin;
	return p->api->output_get_property(key, p->o_ins);
}
static void *envoy_ins(void *plugin) { return ((struct envoy_plugin *)plugin)->o_ins; }
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/envoy-s3/envoy_s3/internal/buildinfo"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/pipeline"
)

const pluginName = "envoy_s3"

// instances is the Go-side registry: Fluent Bit 1.9 hands every exit call the last
// instance's context, so exit must reach all of them from here.
var instances struct {
	sync.Mutex
	all    []*pipeline.Pipeline
	closed bool
}

// instance is the context Fluent Bit hands back to each flush.
type instance struct {
	*pipeline.Pipeline
	// formatLogged is set once the event format of Fluent Bit's chunks has been logged:
	// Init cannot know it, so the first flush with an event reports it.
	formatLogged atomic.Bool
}

// logFormat reports, once per instance, which event format Fluent Bit sends.
func (in *instance) logFormat(data []byte) {
	if in.formatLogged.Load() {
		return
	}
	var dec chunk.Decoder
	var ev chunk.Event
	dec.Reset(data)
	if dec.Next(&ev) && in.formatLogged.CompareAndSwap(false, true) {
		in.Log().Infof("Fluent Bit event format: %s", buildinfo.EventFormat(ev.Legacy))
	}
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, pluginName, "Envoy / ECS Service Connect access logs to S3")
}

// getter answers config lookups from Fluent Bit's property list.
type getter struct{ plugin unsafe.Pointer }

func (g getter) Get(key string) string {
	_, v := g.raw(key)
	return v
}

func (g getter) raw(key string) (unsafe.Pointer, string) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	v := C.envoy_get(g.plugin, k)
	if v == nil {
		return nil, ""
	}
	return unsafe.Pointer(v), C.GoString(v)
}

// setKeys lists the keys the user set, or nil when they cannot be found safely.
func (g getter) setKeys() []string {
	var known unsafe.Pointer
	for _, k := range config.Keys {
		if p, _ := g.raw(k.Name); p != nil {
			known = p
			break
		}
	}
	if known == nil {
		return nil
	}
	const outcap = 64 << 10
	buf := (*C.char)(C.malloc(outcap))
	defer C.free(unsafe.Pointer(buf))
	n := int(C.envoy_props_keys(C.envoy_ins(g.plugin), (*C.char)(known), 16<<10, buf, outcap))
	if n < 0 {
		return nil
	}
	keys := make([]string, 0, n)
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), outcap)
	for start, i := 0, 0; len(keys) < n && i < outcap; i++ {
		if b[i] == 0 {
			keys = append(keys, string(b[start:i]))
			start = i + 1
		}
	}
	return keys
}

// startProfile writes a CPU profile of the whole process to ENVOY_S3_CPUPROFILE until
// exit: the only way to see inside the plugin while Fluent Bit drives it.
var startProfile = sync.OnceValue(func() func() {
	path := os.Getenv("ENVOY_S3_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
})

// heapProfile writes a Go heap profile to ENVOY_S3_MEMPROFILE each time the live
// heap, as measured by the last garbage collection, reaches a new high (checked
// every 100 ms), so the file shows what the plugin held at its peak and where it
// allocated. Diagnostics only: unset, nothing runs.
var heapProfile = sync.OnceFunc(func() {
	path := os.Getenv("ENVOY_S3_MEMPROFILE")
	if path == "" {
		return
	}
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var high uint64
		for range time.Tick(100 * time.Millisecond) {
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > high {
				high = live
				if f, err := os.Create(path); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
})

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	startProfile()
	heapProfile()
	instances.Lock()
	name := fmt.Sprintf("%s.%d", pluginName, len(instances.all))
	instances.Unlock()
	log := flblog.New(name, flblog.ParseLevel(os.Getenv("ENVOY_S3_LOG_LEVEL")))
	log.Infof("%s; Fluent Bit event format: logged at the first flush", buildinfo.String())

	g := getter{plugin}
	keys := g.setKeys()
	if keys == nil {
		log.Debugf("the keys set on this instance could not be listed; misspelt keys will not be reported")
	}
	cfg, err := config.Parse(g, keys, os.Getenv)
	if err != nil {
		log.Errorf("%v", err)
		return output.FLB_ERROR
	}
	p, err := pipeline.New(cfg, pipeline.Options{
		Name: name, Log: log,
		AttemptTimeout: envDuration("ENVOY_S3_ATTEMPT_TIMEOUT", 0),
		SlowRetry:      envDuration("ENVOY_S3_PERMANENT_RETRY", 0),
		PartialTimeout: envDuration("ENVOY_S3_PARTIAL_TIMEOUT", 0),
	})
	if err != nil {
		log.Errorf("%v", err)
		return output.FLB_ERROR
	}
	instances.Lock()
	instances.all = append(instances.all, p)
	instances.Unlock()
	output.FLBPluginSetContext(plugin, &instance{Pipeline: p})
	return output.FLB_OK
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	p, _ := output.FLBPluginGetContext(ctx).(*instance)
	if p == nil {
		return code(false, fmt.Errorf("flush for an unknown instance"))
	}
	defer func() {
		if r := recover(); r != nil {
			p.Log().Errorf("internal error while flushing (chunk kept for retry): %v", r)
			rc = output.FLB_RETRY
		}
	}()
	var events []byte
	if data != nil && length > 0 {
		events = unsafe.Slice((*byte)(data), int(length))
		p.logFormat(events)
	}
	return code(p.Flush(events, C.GoString(tag)))
}

// code maps a flush outcome to Fluent Bit's return codes, in this one place:
// nil error is OK; a retryable error asks Fluent Bit to keep the chunk; anything
// else drops it.
func code(retry bool, err error) int {
	switch {
	case err == nil:
		return output.FLB_OK
	case retry:
		return output.FLB_RETRY
	default:
		return output.FLB_ERROR
	}
}

// closeAll shuts every instance down once; later exit calls are no-ops.
func closeAll() int {
	instances.Lock()
	defer instances.Unlock()
	if instances.closed {
		return output.FLB_OK
	}
	instances.closed = true
	defer startProfile()() // stops the profile, if one runs
	ctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline())
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range instances.all {
		wg.Add(1)
		go func(p *pipeline.Pipeline) { defer wg.Done(); p.Close(ctx) }(p)
	}
	wg.Wait()
	return output.FLB_OK
}

// shutdownDeadline bounds the uploads at exit. Fluent Bit calls exit after its Grace
// period and ECS sends SIGKILL 30 s after SIGTERM by default, so 10 s leaves room with
// Fluent Bit's default Grace of 5 s; ENVOY_S3_SHUTDOWN_TIMEOUT overrides it.
func shutdownDeadline() time.Duration {
	return envDuration("ENVOY_S3_SHUTDOWN_TIMEOUT", 10*time.Second)
}

// envDuration reads an operational knob from the router container's environment.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int { return closeAll() }

//export FLBPluginExit
func FLBPluginExit() int { return closeAll() }

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) { output.FLBPluginUnregister(def) }

func main() {}

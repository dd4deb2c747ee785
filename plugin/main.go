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

// Registration and instance contexts, as fluent-bit-go's output package does them
// (flb_plugin.h, flb_output.h): its decoder, which envoy_s3 does not use, would link
// a msgpack codec, net/rpc and html/template into the .so (README "Memory").
enum { ENVOY_FLB_ERROR = 0, ENVOY_FLB_OK = 1, ENVOY_FLB_RETRY = 2 };
struct envoy_proxy_def { int type; int proxy; int flags; char *name; char *description; };
static void envoy_register(void *def, char *name, char *desc) {
	struct envoy_proxy_def *p = def;
	p->type = 2;   // FLB_PROXY_OUTPUT_PLUGIN
	p->proxy = 11; // FLB_PROXY_GOLANG
	p->flags = 0;
	p->name = name;
	p->description = desc;
}
static void envoy_unregister(void *def) {
	struct envoy_proxy_def *p = def;
	free(p->name);
	free(p->description);
}
// The instance's context: the proxy's flb_plugin_proxy_context, whose first member is
// remote_context, handed back to FLBPluginFlushCtx and FLBPluginExitCtx.
static void envoy_set_context(void *plugin, void *ctx) {
	*(void **)((struct envoy_plugin *)plugin)->context = ctx;
}
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
	return flbRegister(def, pluginName, "Envoy / ECS Service Connect access logs to S3")
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
		// Every mistake at once, one line each: two misspelt keys cost one deploy, not two.
		all := config.All(err)
		for _, e := range all {
			log.Errorf("%v", e)
		}
		if all == nil {
			log.Errorf("%v", err)
		}
		return flbError
	}
	p, err := pipeline.New(cfg, pipeline.Options{
		Name: name, Log: log,
		AttemptTimeout: envDuration("ENVOY_S3_ATTEMPT_TIMEOUT", 0),
		SlowRetry:      envDuration("ENVOY_S3_PERMANENT_RETRY", 0),
		PartialTimeout: envDuration("ENVOY_S3_PARTIAL_TIMEOUT", 0),
	})
	if err != nil {
		log.Errorf("%v", err)
		return flbError
	}
	instances.Lock()
	instances.all = append(instances.all, p)
	instances.Unlock()
	setContext(plugin, &instance{Pipeline: p})
	return flbOK
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	p, _ := getContext(ctx).(*instance)
	if p == nil {
		return code(false, fmt.Errorf("flush for an unknown instance"))
	}
	defer func() {
		if r := recover(); r != nil {
			p.Log().Errorf("internal error while flushing (chunk kept for retry): %v", r)
			rc = flbRetry
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
		return flbOK
	case retry:
		return flbRetry
	default:
		return flbError
	}
}

// closeAll shuts every instance down once; later exit calls are no-ops.
func closeAll() int {
	instances.Lock()
	defer instances.Unlock()
	if instances.closed {
		return flbOK
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
	if len(instances.all) > 0 {
		// What dies with the task's disk, for the whole process, in one line.
		if line, left := pipeline.ExitLine(instances.all); left {
			instances.all[0].Log().Warnf("%s", line)
		} else {
			instances.all[0].Log().Infof("%s", line)
		}
	}
	return flbOK
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
func FLBPluginUnregister(def unsafe.Pointer) { C.envoy_unregister(def) }

func main() {}

// Fluent Bit's return codes.
const (
	flbError = C.ENVOY_FLB_ERROR
	flbOK    = C.ENVOY_FLB_OK
	flbRetry = C.ENVOY_FLB_RETRY
)

func flbRegister(def unsafe.Pointer, name, desc string) int {
	C.envoy_register(def, C.CString(name), C.CString(desc))
	return 0
}

// contexts maps the context pointer Fluent Bit holds for each instance (a byte of C
// memory, unique while the instance lives; cgo forbids handing it a Go pointer) to
// the instance.
var contexts sync.Map

func setContext(plugin unsafe.Pointer, inst *instance) {
	key := unsafe.Pointer(C.CString(""))
	contexts.Store(uintptr(key), inst)
	C.envoy_set_context(plugin, key)
}

func getContext(ctx unsafe.Pointer) any {
	v, _ := contexts.Load(uintptr(ctx))
	return v
}

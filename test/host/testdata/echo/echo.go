// Command echo is the host's self-test plugin: a minimal Fluent Bit Go output
// plugin that prints to stderr everything the host hands it, so the host's
// imitation of Fluent Bit's Go proxy can be checked without the real plugin.
//
// Build: go build -buildmode=c-shared -o echo.so ./test/host/testdata/echo
// (add -tags echo_noctx for a legacy plugin without the *Ctx callbacks).
//
// With ECHO_NAME set it registers under that name; with ECHO_OVERFLOW set it
// writes past the end of the short registration struct.
//
// Configuration keys (all optional):
//
//	id              label printed with every line
//	init_rc         FLBPluginInit return code (default 1)
//	flush_rc        flush return code (default 1)
//	exit_rc         exit return code (default 1)
//	read            comma-separated keys to read with FLBPluginConfigKey
//	props_offset    walk the properties list at this offset of o_ins and
//	                compare it with output_get_property's answers
//	flush_sleep_ms  sleep in every flush (to observe concurrency)
//	retain          keep the previous flush's data pointer and print its
//	                first byte (only with the host's --poison-only)
package main

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct echo_def { int type; int proxy; int flags; char *name; char *description; };
struct echo_list { struct echo_list *prev, *next; };
struct echo_kv { char *key; char *val; struct echo_list _head; };
struct echo_api { const char *(*output_get_property)(const char *, void *); };
struct echo_plugin { char *name; struct echo_api *api; void *o_ins; void *context; };

static const char *echo_get_raw(void *plugin, const char *key)
{
    struct echo_plugin *p = plugin;
    return p->api->output_get_property(key, p->o_ins);
}

// echo_props walks the mk_list at o_ins+off, filling keys/vals (max n).
static int echo_props(void *plugin, long off, char **keys, char **vals, int n)
{
    struct echo_plugin *p = plugin;
    struct echo_list *head = (struct echo_list *) ((char *) p->o_ins + off);
    struct echo_list *it;
    int i = 0;

    for (it = head->next; it != head && i < n; it = it->next) {
        struct echo_kv *kv = (struct echo_kv *) ((char *) it - offsetof(struct echo_kv, _head));
        keys[i] = kv->key;
        vals[i] = kv->val;
        i++;
    }
    return i;
}

static int echo_sds_ok(const char *s)
{
    uint64_t len;
    memcpy(&len, s - 16, sizeof(len));
    return len == strlen(s);
}

static const char *echo_name(void *plugin)
{
    return ((struct echo_plugin *) plugin)->name;
}
*/
import "C"

import (
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

type instance struct {
	id         string
	flushRC    int
	exitRC     int
	flushSleep time.Duration
	retain     bool
	mu         sync.Mutex
	last       unsafe.Pointer
}

var (
	inflight    atomic.Int32
	maxInflight atomic.Int32
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "echo: "+format+"\n", args...)
}

func atoiDefault(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		logf("bad integer %q", s)
		return def
	}
	return n
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	name := os.Getenv("ECHO_NAME")
	if name == "" {
		name = "echo"
	}
	logf("register name=%s", name)
	rc := output.FLBPluginRegister(def, name, "host self-test plugin")
	if os.Getenv("ECHO_OVERFLOW") != "" {
		// What fluent-bit-go after the pinned commit does: set event_type,
		// which lies past the end of Fluent Bit < 5.0's registration struct.
		*(*C.int)(unsafe.Add(def, unsafe.Sizeof(C.struct_echo_def{}))) = 1
	}
	return rc
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	in := &instance{
		id:         output.FLBPluginConfigKey(plugin, "id"),
		flushRC:    atoiDefault(output.FLBPluginConfigKey(plugin, "flush_rc"), output.FLB_OK),
		exitRC:     atoiDefault(output.FLBPluginConfigKey(plugin, "exit_rc"), output.FLB_OK),
		flushSleep: time.Duration(atoiDefault(output.FLBPluginConfigKey(plugin, "flush_sleep_ms"), 0)) * time.Millisecond,
		retain:     output.FLBPluginConfigKey(plugin, "retain") != "",
	}
	rc := atoiDefault(output.FLBPluginConfigKey(plugin, "init_rc"), output.FLB_OK)
	logf("init id=%s plugin_name=%s", in.id, C.GoString(C.echo_name(plugin)))

	if keys := output.FLBPluginConfigKey(plugin, "read"); keys != "" {
		for _, k := range strings.Split(keys, ",") {
			ck := C.CString(k)
			raw := C.echo_get_raw(plugin, ck)
			C.free(unsafe.Pointer(ck))
			if raw == nil {
				logf("key %s absent", k)
				continue
			}
			logf("key %s=%s", k, output.FLBPluginConfigKey(plugin, k))
		}
	}

	if s := output.FLBPluginConfigKey(plugin, "props_offset"); s != "" {
		off := atoiDefault(s, 0)
		var keys, vals [64]*C.char
		n := int(C.echo_props(plugin, C.long(off), &keys[0], &vals[0], 64))
		for i := 0; i < n; i++ {
			raw := C.echo_get_raw(plugin, keys[i])
			// The first kv with a key wins, so a later duplicate is not "same".
			same := raw == vals[i]
			sds := C.echo_sds_ok(keys[i]) == 1 && C.echo_sds_ok(vals[i]) == 1
			logf("prop %s=%s same=%t sds=%t", C.GoString(keys[i]), C.GoString(vals[i]), same, sds)
		}
		logf("props n=%d", n)
	}

	output.FLBPluginSetContext(plugin, in)
	return rc
}

func flush(in *instance, data unsafe.Pointer, length C.int, tag *C.char) int {
	n := inflight.Add(1)
	for {
		m := maxInflight.Load()
		if n <= m || maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	defer inflight.Add(-1)

	buf := C.GoBytes(data, length)
	h := fnv.New64a()
	h.Write(buf)
	id := "<nil>"
	rc := output.FLB_OK
	if in != nil {
		id = in.id
		rc = in.flushRC
		if in.retain {
			in.mu.Lock()
			if in.last != nil {
				logf("retained first=%#x", *(*byte)(in.last))
			}
			in.last = data
			in.mu.Unlock()
		}
		time.Sleep(in.flushSleep)
	}
	logf("flush id=%s tag=%s len=%d fnv=%016x tid=%d inflight=%d max=%d",
		id, C.GoString(tag), len(buf), h.Sum64(), syscall.Gettid(), n, maxInflight.Load())
	return rc
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	logf("unregister")
	output.FLBPluginUnregister(def)
}

func main() {}

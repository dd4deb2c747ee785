/*
 * host: a stand-in for Fluent Bit's Go output proxy.
 *
 * It loads a Go output plugin (.so built with -buildmode=c-shared) the way
 * Fluent Bit v5.1.1 and v1.9.10 do, so the plugin's cgo layer can be tested
 * without Fluent Bit and without loading a second Go runtime into a Go test
 * binary. The struct layouts below are copied from Fluent Bit's headers
 * (file named above each one); the call sequence mirrors
 * src/flb_plugin_proxy.c, src/proxy/go/go.c and src/flb_output.c.
 *
 * Results go to stdout, one line each, flushed at once:
 *   preregister <rc>             FLBPluginPreRegister(0)       (current only)
 *   register <rc> <name>         FLBPluginRegister(def)
 *   init <instance> <rc>         FLBPluginInit(plugin)
 *   prerun <instance> <rc>       FLBPluginOutputPreRun(0)      (current only)
 *   ready                        all instances initialised
 *   flush <instance> <file> <rc> FLBPluginFlushCtx / FLBPluginFlush (raw rc)
 *   preexit <instance>           FLBPluginOutputPreExit(0)     (current only)
 *   exit <instance> <rc>         FLBPluginExitCtx / FLBPluginExit
 *   unregister                   FLBPluginUnregister(def)
 * Diagnostics go to stderr, prefixed "host: ".
 *
 * Build: cc -O2 -Wall -Wextra -o host host.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- Fluent Bit ABI (copied layouts) ------------------------------------ */

/* include/fluent-bit/flb_plugin_proxy.h */
#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG 11

/* lib/monkey/include/monkey/mk_core/mk_list.h (same in v1.9.10 and v5.1.1) */
struct mk_list {
    struct mk_list *prev, *next;
};

/* include/fluent-bit/flb_sds.h: the header sits right before the char *. */
#pragma pack(push, 1)
struct flb_sds {
    uint64_t len;   /* used */
    uint64_t alloc; /* excluding the header and null terminator */
    char buf[];
};
#pragma pack(pop)

/* include/fluent-bit/flb_kv.h (flb_sds_t key, val) */
struct flb_kv {
    char *key;
    char *val;
    struct mk_list _head;
};

/*
 * include/fluent-bit/flb_plugin_proxy.h, v1.9.10 (the SHORT one; v5.x adds
 * int event_type and struct flb_config_map *config_map). Fluent Bit < 5.0
 * allocates only this much, so a plugin must never write past it.
 */
struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
};

/* include/fluent-bit/flb_api.h, v5.1.1. v1.9.10 has only the first member. */
struct flb_api {
    const char *(*output_get_property)(const char *, void *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
    const char *(*custom_get_property)(const char *, void *);
    int (*custom_log_check)(void *, int);
};

/* include/fluent-bit/flb_plugin_proxy.h (same in both versions) */
struct flb_plugin_proxy {
    struct flb_plugin_proxy_def *def;
    struct flb_api *api;
    void *instance;
    void *dso_handler;
    void *data;
    struct mk_list _head;
};

/* include/fluent-bit/flb_plugin_proxy.h: one per output instance, calloc'd
 * by flb_output_new() and stored in flb_output_instance->context. */
struct flb_plugin_proxy_context {
    void *remote_context;
    struct flb_plugin_proxy *proxy;
};

/* src/proxy/go/go.h: ONE per loaded .so (proxy->data); api, o_ins and
 * context are overwritten by every instance's init. */
struct flbgo_output_plugin {
    char *name;
    void *api;
    void *o_ins;
    struct flb_plugin_proxy_context *context;

    int (*cb_init)(struct flbgo_output_plugin *);
    int (*cb_flush)(const void *, size_t, const char *);
    int (*cb_flush_ctx)(void *, const void *, size_t, char *);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *);
};

/*
 * The head of include/fluent-bit/flb_output.h's struct flb_output_instance up
 * to `properties` (FLB_HAVE_REGEX and FLB_HAVE_TLS on, Linux), used only to
 * place the fields the proxy touches at their real offsets in the fake
 * instance: name (96 / 84), context (160 / 152), properties (384 / 312).
 */
struct mk_event_abi {
    int fd;
    int type;
    uint32_t mask;
    uint8_t status;
    void *data;
    int (*handler)(void *data);
    struct mk_list _head;
    struct mk_list _priority_head;
    char priority;
};
struct flb_net_host_abi {
    int ipv6;
    char *address;
    int port;
    char *name;
    char *listen;
    void *uri;
};
struct out_ins_v5_1_1 {
    struct mk_event_abi event;
    void *processor;
    int event_type, id, log_level, log_suppress_interval;
    char name[32];
    char *alias;
    int flags, test_mode;
    int ch_events[2];
    void *p;
    void *context;
    int retry_limit, retry_limit_is_set, use_tls;
    char *match;
    void *match_regex;
    int tls_verify, tls_verify_hostname, tls_debug;
    char *tls_vhost, *tls_ca_path, *tls_ca_file, *tls_crt_file, *tls_key_file;
    char *tls_key_passwd, *tls_min_version, *tls_max_version, *tls_ciphers;
    int tls_proxy_verify, tls_proxy_verify_hostname;
    char *tls_proxy_ca_path, *tls_proxy_ca_file;
    struct flb_net_host_abi host;
    void *data;
    void *out_context;
    void *tls;
    struct mk_list properties;
};
struct out_ins_v1_9_10 {
    struct mk_event_abi event;
    int event_type, id, log_level;
    char name[32];
    char *alias;
    int flags, test_mode;
    int ch_events[2];
    void *p;
    void *context;
    int retry_limit, use_tls;
    char *match;
    void *match_regex;
    int tls_verify, tls_debug;
    char *tls_vhost, *tls_ca_path, *tls_ca_file, *tls_crt_file, *tls_key_file;
    char *tls_key_passwd;
    struct flb_net_host_abi host;
    void *data;
    void *out_context;
    void *tls;
    struct mk_list properties;
};

/* Coroutine stack sizes of include/fluent-bit/flb_coro.h on Linux:
 * v5.1.1 max(3 * PTHREAD_STACK_MIN / 2, 64 KiB), v1.9.10 3 * 16384 / 2. */
#define CORO_STACK_V5 (64 * 1024)
#define CORO_STACK_V19 (3 * 16384 / 2)

#define FAKE_INS_SIZE 2048  /* the real instance is over 1 KiB */
#define FAKE_JUNK_BEFORE 64 /* junk in front of the instance, too */
#define DEF_CANARY 64       /* guard bytes after the short proxy def */

/* ---- host state ---------------------------------------------------------- */

enum exit_mode { EXIT_CURRENT, EXIT_1_9, EXIT_NONE };

struct kvarg {
    char *key;
    char *val;
};

struct instance {
    struct kvarg *args;
    int nargs;
    char *block;   /* malloc'd: junk, then the fake instance */
    char *o_ins;   /* the fake struct flb_output_instance */
    struct flb_plugin_proxy_context *ctx;
    int state;     /* 0 never initialised, 1 ok, -1 init failed */
};

static const char *opt_plugin;
static enum exit_mode opt_exit = EXIT_CURRENT;
static int opt_workers;
static const char *opt_tag = "test";
static const char **opt_files;
static int opt_nfiles;
static int opt_to = -1;
static int opt_repeat = 1;
static long opt_sleep_ms;
static int opt_ready;
static int opt_stdin;
static long opt_props_offset = -1;
static long opt_coro_stack = -1;
static const char *opt_name;
static int opt_poison_only;
static int opt_junk_zero;
static int opt_verbose;

static struct instance *insts;
static int ninsts;

static void *dso;
static struct flb_plugin_proxy *proxy;
static struct flbgo_output_plugin *plugin;
static int (*cb_pre_run)(int);
static void (*cb_pre_exit)(int);
static void (*cb_unregister)(struct flb_plugin_proxy_def *);

static size_t props_offset;
static size_t coro_stack;
static volatile int in_init;
static int failures; /* calls that could not be made */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

/* out prints one result line to stdout and flushes it. */
static void out(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&out_mu);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
}

/* logf_ prints one diagnostic line to stderr. */
static void logf_(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&out_mu);
    fputs("host: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&out_mu);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        logf_("out of memory");
        _exit(1);
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        logf_("out of memory");
        _exit(1);
    }
    return p;
}

/* sds_new allocates a NUL-terminated string with an flb_sds header. */
static char *sds_new(const char *s)
{
    size_t len = strlen(s);
    struct flb_sds *h = xmalloc(sizeof(struct flb_sds) + len + 1);

    h->len = len;
    h->alloc = len;
    memcpy(h->buf, s, len + 1);
    return h->buf;
}

static uint64_t sds_len(const char *s)
{
    return ((const struct flb_sds *) (s - sizeof(struct flb_sds)))->len;
}

/* ---- the flb_api the plugin calls back into ----------------------------- */

/* host_output_get_property is flb_output_get_property -> flb_config_prop_get
 * -> flb_kv_get_key_value: walk ins->properties, case-insensitive key,
 * return the stored kv->val itself (not a copy), NULL when absent. */
static const char *host_output_get_property(const char *key, void *ins)
{
    struct mk_list *head;
    struct mk_list *it;
    struct flb_kv *kv;
    size_t len;

    if (!in_init) {
        logf_("warning: output_get_property called outside FLBPluginInit");
    }
    if (!key) {
        return NULL;
    }
    len = strlen(key);
    if (len == 0) {
        return NULL;
    }
    head = (struct mk_list *) ((char *) ins + props_offset);
    for (it = head->next; it != head; it = it->next) {
        kv = (struct flb_kv *) ((char *) it - offsetof(struct flb_kv, _head));
        if (sds_len(kv->key) != len) {
            continue;
        }
        if (strncasecmp(kv->key, key, len) == 0) {
            if (opt_verbose) {
                logf_("get_property %s: found", key);
            }
            return kv->val;
        }
    }
    if (opt_verbose) {
        logf_("get_property %s: absent", key);
    }
    return NULL;
}

static const char *host_no_property(const char *key, void *ins)
{
    (void) key;
    (void) ins;
    return NULL;
}

static void *host_no_cmt(void *ins)
{
    (void) ins;
    return NULL;
}

static void host_log_print(int level, const char *file, int line,
                           const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    logf_("plugin log level=%d %s:%d %s", level, file ? file : "-", line, buf);
}

static int host_log_check(void *ins, int level)
{
    (void) ins;
    (void) level;
    return 1;
}

/* ---- fake output instance ------------------------------------------------ */

static uint64_t junk_state = 0x9E3779B97F4A7C15ull;

static uint64_t junk_next(void)
{
    junk_state ^= junk_state << 13;
    junk_state ^= junk_state >> 7;
    junk_state ^= junk_state << 17;
    return junk_state;
}

static int overlaps(size_t a, size_t alen, size_t b, size_t blen)
{
    return a < b + blen && b < a + alen;
}

/* build_instance lays out a heap block: junk, then the fake
 * flb_output_instance with name, context and the properties list at their
 * real offsets; everything else stays junk. */
static void build_instance(struct instance *in, int id)
{
    size_t i;
    size_t name_off, ctx_off;
    struct mk_list *head;

    in->block = xmalloc(FAKE_JUNK_BEFORE + FAKE_INS_SIZE);
    for (i = 0; i + 8 <= FAKE_JUNK_BEFORE + FAKE_INS_SIZE; i += 8) {
        uint64_t v = opt_junk_zero ? 0 : junk_next();
        memcpy(in->block + i, &v, 8);
    }
    in->o_ins = in->block + FAKE_JUNK_BEFORE;

    if (opt_exit == EXIT_1_9) {
        name_off = offsetof(struct out_ins_v1_9_10, name);
        ctx_off = offsetof(struct out_ins_v1_9_10, context);
    }
    else {
        name_off = offsetof(struct out_ins_v5_1_1, name);
        ctx_off = offsetof(struct out_ins_v5_1_1, context);
    }

    in->ctx = xcalloc(1, sizeof(struct flb_plugin_proxy_context));
    in->ctx->proxy = proxy;

    if (!overlaps(name_off, 32, props_offset, sizeof(struct mk_list))) {
        memset(in->o_ins + name_off, 0, 32);
        snprintf(in->o_ins + name_off, 32, "%s.%d", plugin->name, id);
    }
    if (!overlaps(ctx_off, sizeof(void *), props_offset,
                  sizeof(struct mk_list))) {
        memcpy(in->o_ins + ctx_off, &in->ctx, sizeof(void *));
    }

    /* mk_list_init + mk_list_add per property, in argument order, like
     * flb_output_set_property -> flb_kv_item_create. */
    head = (struct mk_list *) (in->o_ins + props_offset);
    head->next = head;
    head->prev = head;
    for (i = 0; i < (size_t) in->nargs; i++) {
        struct flb_kv *kv = xcalloc(1, sizeof(struct flb_kv));

        kv->key = sds_new(in->args[i].key);
        kv->val = sds_new(in->args[i].val);
        kv->_head.next = head;
        kv->_head.prev = head->prev;
        head->prev->next = &kv->_head;
        head->prev = &kv->_head;
    }
}

/* ---- flush: coroutine, buffers, workers ---------------------------------- */

struct flush_call {
    void *remote_context;
    const void *data;
    size_t size;
    char *tag;
    int ret;
};

static _Thread_local struct flush_call *coro_call;
static _Thread_local ucontext_t coro_caller;

static int invoke_flush(struct flush_call *c)
{
    if (plugin->cb_flush_ctx) {
        return plugin->cb_flush_ctx(c->remote_context, c->data, c->size,
                                    c->tag);
    }
    return plugin->cb_flush(c->data, c->size, c->tag);
}

static void coro_main(void)
{
    coro_call->ret = invoke_flush(coro_call);
    /* returning resumes uc_link, the caller */
}

/* run_flush calls the plugin inside a coroutine on a small malloc'd stack,
 * as Fluent Bit's output flush coroutines (libco) do. */
static int run_flush(struct flush_call *c)
{
    ucontext_t co;
    void *stack;

    if (coro_stack == 0) {
        return invoke_flush(c);
    }
    stack = xmalloc(coro_stack);
    if (getcontext(&co) != 0) {
        logf_("getcontext: %s", strerror(errno));
        free(stack);
        return invoke_flush(c);
    }
    co.uc_stack.ss_sp = stack;
    co.uc_stack.ss_size = coro_stack;
    co.uc_link = &coro_caller;
    makecontext(&co, coro_main, 0);
    coro_call = c;
    if (swapcontext(&coro_caller, &co) != 0) {
        logf_("swapcontext: %s", strerror(errno));
        free(stack);
        return invoke_flush(c);
    }
    free(stack);
    return c->ret;
}

static int read_file(const char *path, char **buf, size_t *size)
{
    FILE *f;
    long n;

    f = fopen(path, "rb");
    if (!f) {
        logf_("cannot open chunk file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        logf_("cannot size chunk file %s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    *buf = xmalloc((size_t) n);
    if (n > 0 && fread(*buf, 1, (size_t) n, f) != (size_t) n) {
        logf_("cannot read chunk file %s", path);
        free(*buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *size = (size_t) n;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_failure(void)
{
    pthread_mutex_lock(&fail_mu);
    failures++;
    pthread_mutex_unlock(&fail_mu);
}

/* do_flush is proxy_go_output_flush: data valid only during the call (we
 * poison and free it right after), tag a temporary malloc'd C string. */
static void do_flush(int idx, const char *file, const char *tag)
{
    struct instance *in = &insts[idx];
    struct flush_call c;
    char *buf;
    size_t size;
    size_t tlen = strlen(tag);

    if (read_file(file, &buf, &size) != 0) {
        count_failure();
        return;
    }
    c.remote_context = in->ctx->remote_context;
    c.data = buf;
    c.size = size;
    c.tag = xmalloc(tlen + 1);
    memcpy(c.tag, tag, tlen + 1);
    c.ret = 0;

    c.ret = run_flush(&c);

    memset(buf, 0xAA, size);
    memset(c.tag, 0xAA, tlen + 1);
    if (!opt_poison_only) {
        free(buf);
        free(c.tag);
    }
    out("flush %d %s %d", idx, file, c.ret);
    sleep_ms(opt_sleep_ms);
}

struct job {
    int idx;
    char *file;
    char *tag;
    struct job *next;
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_idle = PTHREAD_COND_INITIALIZER;
static struct job *q_head, *q_tail;
static int q_busy;
static int q_stop;
static pthread_t *workers;

static void *worker_main(void *arg)
{
    struct job *j;

    (void) arg;
    for (;;) {
        pthread_mutex_lock(&q_mu);
        while (!q_head && !q_stop) {
            pthread_cond_wait(&q_cv, &q_mu);
        }
        if (!q_head) {
            pthread_mutex_unlock(&q_mu);
            return NULL;
        }
        j = q_head;
        q_head = j->next;
        if (!q_head) {
            q_tail = NULL;
        }
        q_busy++;
        pthread_mutex_unlock(&q_mu);

        do_flush(j->idx, j->file, j->tag);
        free(j->file);
        free(j->tag);
        free(j);

        pthread_mutex_lock(&q_mu);
        q_busy--;
        if (!q_head && q_busy == 0) {
            pthread_cond_broadcast(&q_idle);
        }
        pthread_mutex_unlock(&q_mu);
    }
}

/* submit runs a flush inline (no workers: the engine thread) or queues it
 * for the worker pool (Workers N: concurrent calls, same context). */
static void submit(int idx, const char *file, const char *tag)
{
    struct job *j;

    if (opt_workers == 0) {
        do_flush(idx, file, tag);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->idx = idx;
    j->file = strdup(file);
    j->tag = strdup(tag);
    pthread_mutex_lock(&q_mu);
    if (q_tail) {
        q_tail->next = j;
    }
    else {
        q_head = j;
    }
    q_tail = j;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
}

static void start_workers(void)
{
    int i;

    workers = xcalloc((size_t) opt_workers, sizeof(pthread_t));
    for (i = 0; i < opt_workers; i++) {
        if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0) {
            logf_("cannot start worker %d", i);
            _exit(1);
        }
    }
}

/* stop_workers drains the queue and joins the pool, as
 * flb_output_thread_pool_destroy does before the exit callback. */
static void stop_workers(void)
{
    int i;

    if (opt_workers == 0) {
        return;
    }
    pthread_mutex_lock(&q_mu);
    while (q_head || q_busy > 0) {
        pthread_cond_wait(&q_idle, &q_mu);
    }
    q_stop = 1;
    pthread_cond_broadcast(&q_cv);
    pthread_mutex_unlock(&q_mu);
    for (i = 0; i < opt_workers; i++) {
        pthread_join(workers[i], NULL);
    }
    free(workers);
    workers = NULL;
}

/* ---- symbols, register, init, exit --------------------------------------- */

/* sym is flb_plugin_proxy_symbol: NULL when absent. */
static void *sym(const char *name)
{
    void *s;

    dlerror();
    s = dlsym(dso, name);
    if (dlerror() != NULL) {
        return NULL;
    }
    return s;
}

static int do_register(void)
{
    int (*cb_pre_register)(int);
    int (*cb_register)(struct flb_plugin_proxy_def *);
    struct flb_plugin_proxy_def *def;
    unsigned char *canary;
    int ret;
    int i;

    proxy = xcalloc(1, sizeof(*proxy));
    proxy->dso_handler = dso;
    proxy->_head.next = proxy->_head.prev = &proxy->_head;

    /* flb_api_create: v1.9.10 allocates a one-member struct. */
    if (opt_exit == EXIT_1_9) {
        proxy->api = xmalloc(sizeof(proxy->api->output_get_property));
    }
    else {
        proxy->api = xmalloc(sizeof(struct flb_api));
        proxy->api->input_get_property = host_no_property;
        proxy->api->output_get_cmt_instance = host_no_cmt;
        proxy->api->input_get_cmt_instance = host_no_cmt;
        proxy->api->log_print = host_log_print;
        proxy->api->input_log_check = host_log_check;
        proxy->api->output_log_check = host_log_check;
        proxy->api->custom_get_property = host_no_property;
        proxy->api->custom_log_check = host_log_check;
    }
    proxy->api->output_get_property = host_output_get_property;

    /* The short def, then guard bytes to catch writes past its end.
     * v1.9.10 malloc's it (junk), v5.1.1 calloc's it; type is set to 0. */
    def = xmalloc(sizeof(*def) + DEF_CANARY);
    memset(def, opt_exit == EXIT_1_9 ? 0xBE : 0, sizeof(*def));
    canary = (unsigned char *) def + sizeof(*def);
    memset(canary, 0x5C, DEF_CANARY);
    def->type = 0;
    proxy->def = def;

    if (opt_exit != EXIT_1_9) {
        cb_pre_register = (int (*)(int)) sym("FLBPluginPreRegister");
        if (cb_pre_register) {
            ret = cb_pre_register(0);
            out("preregister %d", ret);
            if (ret == -1) {
                logf_("FLBPluginPreRegister failed");
                return -1;
            }
        }
    }

    cb_register = (int (*)(struct flb_plugin_proxy_def *)) sym("FLBPluginRegister");
    if (!cb_register) {
        logf_("%s does not export FLBPluginRegister", opt_plugin);
        return -1;
    }
    ret = cb_register(def);
    out("register %d %s", ret,
        (ret != -1 && def->name && def->name[0]) ? def->name : "-");
    for (i = 0; i < DEF_CANARY; i++) {
        if (canary[i] != 0x5C) {
            logf_("FLBPluginRegister wrote past the end of the %zu-byte "
                  "flb_plugin_proxy_def (byte %zu): corrupts Fluent Bit < 5.0",
                  sizeof(*def), sizeof(*def) + (size_t) i);
            return -1;
        }
    }
    if (ret == -1) {
        logf_("FLBPluginRegister returned -1");
        return -1;
    }
    if (def->type != FLB_PROXY_OUTPUT_PLUGIN || def->proxy != FLB_PROXY_GOLANG) {
        logf_("FLBPluginRegister set type=%d proxy=%d, want output (%d) and golang (%d)",
              def->type, def->proxy, FLB_PROXY_OUTPUT_PLUGIN, FLB_PROXY_GOLANG);
        return -1;
    }
    if (!def->name || !def->name[0]) {
        logf_("FLBPluginRegister set no name");
        return -1;
    }
    if (opt_name && strcmp(def->name, opt_name) != 0) {
        logf_("FLBPluginRegister named the plugin %s, want %s", def->name, opt_name);
        return -1;
    }
    if (!def->description) {
        logf_("FLBPluginRegister set no description");
        return -1;
    }

    /* proxy_go_output_register */
    plugin = xmalloc(sizeof(*plugin));
    memset(plugin, 0xBE, sizeof(*plugin));
    plugin->cb_init = (int (*)(struct flbgo_output_plugin *)) sym("FLBPluginInit");
    if (!plugin->cb_init) {
        logf_("[go proxy]: could not load FLBPluginInit symbol");
        return -1;
    }
    plugin->cb_flush = (int (*)(const void *, size_t, const char *)) sym("FLBPluginFlush");
    plugin->cb_flush_ctx = (int (*)(void *, const void *, size_t, char *)) sym("FLBPluginFlushCtx");
    plugin->cb_exit = (int (*)(void)) sym("FLBPluginExit");
    plugin->cb_exit_ctx = (int (*)(void *)) sym("FLBPluginExitCtx");
    plugin->name = strdup(def->name);
    proxy->data = plugin;

    if (!plugin->cb_flush && !plugin->cb_flush_ctx) {
        logf_("warning: neither FLBPluginFlushCtx nor FLBPluginFlush exported "
              "(Fluent Bit would crash on the first flush)");
    }
    if (opt_exit != EXIT_1_9) {
        cb_pre_run = (int (*)(int)) sym("FLBPluginOutputPreRun");
        cb_pre_exit = (void (*)(int)) sym("FLBPluginOutputPreExit");
    }
    cb_unregister = (void (*)(struct flb_plugin_proxy_def *)) sym("FLBPluginUnregister");
    return 0;
}

/* do_init is flb_proxy_output_cb_init + proxy_go_output_init per instance,
 * in order; the first failure stops initialisation (flb_output_init_all).
 * Returns the index of the failed instance, or -1. */
static int do_init(void)
{
    int i;
    int ret;

    for (i = 0; i < ninsts; i++) {
        build_instance(&insts[i], i);
    }
    for (i = 0; i < ninsts; i++) {
        struct instance *in = &insts[i];

        proxy->instance = in->o_ins;
        plugin->api = proxy->api;
        plugin->o_ins = in->o_ins;
        plugin->context = in->ctx;
        in_init = 1;
        ret = plugin->cb_init(plugin);
        in_init = 0;
        out("init %d %d", i, ret);
        if (ret <= 0) {
            logf_("[go proxy]: plugin '%s' failed to initialize (instance %d)",
                  plugin->name, i);
            in->state = -1;
            return i;
        }
        in->state = 1;
    }
    /* flb_output_pre_run */
    for (i = 0; i < ninsts && cb_pre_run; i++) {
        ret = cb_pre_run(0);
        out("prerun %d %d", i, ret);
    }
    return -1;
}

static int exit_one(void *remote_context)
{
    if (plugin->cb_exit_ctx) {
        return plugin->cb_exit_ctx(remote_context);
    }
    if (plugin->cb_exit) {
        return plugin->cb_exit();
    }
    return 0;
}

/* do_exit runs the shutdown sequence of the chosen Fluent Bit version over
 * every instance still in config->outputs (a failed one was destroyed). */
static void do_exit(void)
{
    int i;
    int ret;
    int first = 1;

    if (opt_exit == EXIT_CURRENT) {
        /* flb_output_exit -> flb_proxy_output_cb_exit -> proxy_go_output_destroy:
         * each instance's own context; never-initialised instances still
         * get called, with remote_context NULL. Then cb_destroy ->
         * FLBPluginUnregister once, then dlclose. */
        for (i = 0; i < ninsts; i++) {
            if (insts[i].state == -1) {
                continue;
            }
            if (cb_pre_exit) {
                cb_pre_exit(0);
                out("preexit %d", i);
            }
            ret = exit_one(insts[i].ctx->remote_context);
            out("exit %d %d", i, ret);
        }
        if (cb_unregister) {
            cb_unregister(proxy->def);
            out("unregister");
        }
        free(plugin->name);
        free(plugin);
        free(proxy->def);
        free(proxy->api);
        dlclose(dso);
        free(proxy);
        return;
    }

    /* v1.9.10: flb_proxy_cb_exit -> proxy_go_destroy(proxy->data) passes
     * plugin->context->remote_context, the LAST-initialised instance's, to
     * every instance's exit; the first one is followed by
     * flb_plugin_proxy_destroy -> FLBPluginUnregister. (Vanilla 1.9.10 then
     * uses freed memory for the next instance; we keep it valid.) */
    for (i = 0; i < ninsts; i++) {
        if (insts[i].state == -1) {
            continue;
        }
        ret = exit_one(plugin->context->remote_context);
        out("exit %d %d", i, ret);
        if (first) {
            first = 0;
            if (cb_unregister) {
                cb_unregister(proxy->def);
                out("unregister");
            }
        }
    }
}

/* ---- drivers ------------------------------------------------------------- */

static void run_batch(void)
{
    int r, f, i;

    for (r = 0; r < opt_repeat; r++) {
        for (f = 0; f < opt_nfiles; f++) {
            for (i = 0; i < ninsts; i++) {
                if (opt_to >= 0 && i != opt_to) {
                    continue;
                }
                submit(i, opt_files[f], opt_tag);
            }
        }
    }
}

/* run_stdin reads commands until "exit" or end of input:
 *   flush <instance> <file> [<tag>]
 *   sleep <ms>
 *   exit
 * Fields are separated by blanks; '#' starts a comment line. */
static void run_stdin(void)
{
    char line[65536];

    while (fgets(line, sizeof(line), stdin)) {
        char *save = NULL;
        char *cmd;
        size_t n = strlen(line);

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        cmd = strtok_r(line, " \t", &save);
        if (!cmd || cmd[0] == '#') {
            continue;
        }
        if (strcmp(cmd, "exit") == 0) {
            return;
        }
        if (strcmp(cmd, "sleep") == 0) {
            char *ms = strtok_r(NULL, " \t", &save);
            sleep_ms(ms ? atol(ms) : 0);
            continue;
        }
        if (strcmp(cmd, "flush") == 0) {
            char *idx = strtok_r(NULL, " \t", &save);
            char *file = strtok_r(NULL, " \t", &save);
            char *tag = strtok_r(NULL, " \t", &save);
            char *end = NULL;
            long i;

            if (!idx || !file) {
                logf_("bad command: want 'flush <instance> <file> [<tag>]'");
                out("error bad-command");
                count_failure();
                continue;
            }
            i = strtol(idx, &end, 10);
            if (*end != '\0' || i < 0 || i >= ninsts) {
                logf_("bad instance %s: have %d instances", idx, ninsts);
                out("error bad-instance");
                count_failure();
                continue;
            }
            submit((int) i, file, tag ? tag : opt_tag);
            continue;
        }
        logf_("unknown command %s: want flush, sleep or exit", cmd);
        out("error unknown-command");
        count_failure();
    }
}

static void *engine_main(void *arg)
{
    int failed;

    (void) arg;
    /* flb_plugin_proxy_create */
    dso = dlopen(opt_plugin, RTLD_LAZY);
    if (!dso) {
        logf_("[proxy] error opening plugin %s: '%s'", opt_plugin, dlerror());
        return (void *) 1;
    }
    if (do_register() != 0) {
        return (void *) 1;
    }

    failed = do_init();
    if (failed >= 0) {
        /* flb_engine_start fails -> flb_engine_shutdown -> flb_output_exit;
         * Fluent Bit then exits non-zero, and so do we. */
        if (opt_exit != EXIT_NONE) {
            do_exit();
        }
        return (void *) 1;
    }
    if (opt_ready || opt_stdin) {
        out("ready");
    }

    if (opt_workers > 0) {
        start_workers();
    }
    if (opt_stdin) {
        run_stdin();
    }
    else {
        run_batch();
    }
    stop_workers();

    if (opt_exit == EXIT_NONE) {
        fflush(stdout);
        fflush(stderr);
        _exit(failures ? 1 : 0);
    }
    do_exit();
    return (void *) (intptr_t) (failures ? 1 : 0);
}

/* ---- command line -------------------------------------------------------- */

static void usage(const char *msg)
{
    if (msg) {
        fprintf(stderr, "host: %s\n", msg);
    }
    fprintf(stderr,
"usage: host --plugin PATH.so [options] --instance key=value ... [--instance key=value ...]\n"
"  --instance k=v ...  start a new output instance; its key=value properties follow\n"
"  --flush FILE        chunk file to flush (repeatable); --tag TAG (default test)\n"
"  --to N              flush only to instance N (default: every instance)\n"
"  --repeat K          flush the file list K times; --sleep-ms N between flushes\n"
"  --workers N         flush from N threads concurrently (Fluent Bit 'Workers')\n"
"  --exit MODE         current (v5.1.1, default) | 1.9 (v1.9.10) | none (no exit: crash)\n"
"  --stdin             read 'flush <instance> <file> [<tag>]', 'sleep <ms>', 'exit' lines\n"
"  --signal-ready      print 'ready' after init (implied by --stdin)\n"
"  --name NAME         require the plugin to register as NAME\n"
"  --props-offset N    offset of 'properties' in the fake instance (default 384; 312 with --exit 1.9)\n"
"  --coro-stack BYTES  coroutine stack for flush (default 65536; 24576 with --exit 1.9; 0 = none)\n"
"  --junk zero         fill the fake instance with zeros instead of random bytes\n"
"  --poison-only       poison flush buffers but do not free them (host self-test)\n"
"  --verbose           log each property lookup to stderr (keys only)\n");
    exit(2);
}

static long parse_num(const char *opt, const char *v, long min)
{
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || n < min) {
        fprintf(stderr, "host: %s %s: want an integer >= %ld\n", opt, v, min);
        exit(2);
    }
    return n;
}

static void parse_args(int argc, char **argv)
{
    int i;
    struct instance *cur = NULL;

    opt_files = xcalloc((size_t) argc, sizeof(char *));
    insts = xcalloc((size_t) argc, sizeof(struct instance));
    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        char *val = NULL;
        char name[64];

        if (strncmp(a, "--", 2) != 0) {
            char *eq = strchr(a, '=');
            struct kvarg *kv;

            if (!cur) {
                fprintf(stderr, "host: %s: key=value arguments belong after --instance\n", a);
                exit(2);
            }
            if (!eq || eq == a) {
                fprintf(stderr, "host: %s: want key=value\n", a);
                exit(2);
            }
            kv = &cur->args[cur->nargs++];
            kv->key = strndup(a, (size_t) (eq - a));
            kv->val = strdup(eq + 1);
            continue;
        }
        cur = NULL;
        snprintf(name, sizeof(name), "%s", a);
        if (strchr(name, '=')) {
            *strchr(name, '=') = '\0';
            val = strchr(a, '=') + 1;
        }

#define FLAG(s) (strcmp(name, s) == 0)
#define NEEDVAL() do { \
        if (!val) { \
            if (i + 1 >= argc) { fprintf(stderr, "host: %s needs a value\n", name); exit(2); } \
            val = argv[++i]; \
        } } while (0)

        if (FLAG("--instance")) {
            cur = &insts[ninsts++];
            cur->args = xcalloc((size_t) argc, sizeof(struct kvarg));
            if (val) {
                fprintf(stderr, "host: --instance takes key=value arguments after a space\n");
                exit(2);
            }
        }
        else if (FLAG("--plugin")) { NEEDVAL(); opt_plugin = val; }
        else if (FLAG("--flush")) { NEEDVAL(); opt_files[opt_nfiles++] = val; }
        else if (FLAG("--tag")) { NEEDVAL(); opt_tag = val; }
        else if (FLAG("--to")) { NEEDVAL(); opt_to = (int) parse_num(name, val, 0); }
        else if (FLAG("--repeat")) { NEEDVAL(); opt_repeat = (int) parse_num(name, val, 0); }
        else if (FLAG("--sleep-ms")) { NEEDVAL(); opt_sleep_ms = parse_num(name, val, 0); }
        else if (FLAG("--workers")) { NEEDVAL(); opt_workers = (int) parse_num(name, val, 0); }
        else if (FLAG("--props-offset")) { NEEDVAL(); opt_props_offset = parse_num(name, val, 0); }
        else if (FLAG("--coro-stack")) { NEEDVAL(); opt_coro_stack = parse_num(name, val, 0); }
        else if (FLAG("--name")) { NEEDVAL(); opt_name = val; }
        else if (FLAG("--exit")) {
            NEEDVAL();
            if (strcmp(val, "current") == 0) opt_exit = EXIT_CURRENT;
            else if (strcmp(val, "1.9") == 0) opt_exit = EXIT_1_9;
            else if (strcmp(val, "none") == 0) opt_exit = EXIT_NONE;
            else usage("--exit wants current, 1.9 or none");
        }
        else if (FLAG("--junk")) {
            NEEDVAL();
            if (strcmp(val, "zero") == 0) opt_junk_zero = 1;
            else if (strcmp(val, "random") == 0) opt_junk_zero = 0;
            else usage("--junk wants random or zero");
        }
        else if (FLAG("--stdin")) opt_stdin = 1;
        else if (FLAG("--signal-ready")) opt_ready = 1;
        else if (FLAG("--poison-only")) opt_poison_only = 1;
        else if (FLAG("--verbose")) opt_verbose = 1;
        else if (FLAG("--help") || FLAG("-h")) usage(NULL);
        else {
            fprintf(stderr, "host: unknown option %s\n", a);
            usage(NULL);
        }
#undef FLAG
#undef NEEDVAL
    }

    if (!opt_plugin) {
        usage("--plugin is required");
    }
    if (ninsts == 0) {
        usage("at least one --instance is required");
    }
    if (opt_to >= ninsts) {
        fprintf(stderr, "host: --to %d: have %d instances (0..%d)\n",
                opt_to, ninsts, ninsts - 1);
        exit(2);
    }
    if (opt_props_offset < 0) {
        props_offset = opt_exit == EXIT_1_9
            ? offsetof(struct out_ins_v1_9_10, properties)
            : offsetof(struct out_ins_v5_1_1, properties);
    }
    else {
        props_offset = (size_t) opt_props_offset;
    }
    if (props_offset % 8 != 0 ||
        props_offset + sizeof(struct mk_list) > FAKE_INS_SIZE) {
        fprintf(stderr, "host: --props-offset %zu: want a multiple of 8 below %d\n",
                props_offset, FAKE_INS_SIZE - (int) sizeof(struct mk_list));
        exit(2);
    }
    if (opt_coro_stack < 0) {
        coro_stack = opt_exit == EXIT_1_9 ? CORO_STACK_V19 : CORO_STACK_V5;
    }
    else {
        coro_stack = (size_t) opt_coro_stack;
    }
}

int main(int argc, char **argv)
{
    pthread_t engine;
    void *ret = NULL;

    parse_args(argc, argv);
    /* Fluent Bit runs the pipeline on its own thread (flb-pipeline). */
    if (pthread_create(&engine, NULL, engine_main, NULL) != 0) {
        fprintf(stderr, "host: cannot start the engine thread\n");
        return 1;
    }
    pthread_join(engine, &ret);
    fflush(stdout);
    return (int) (intptr_t) ret;
}

// Fault-safe discovery of the keys a user set on this [OUTPUT] instance.
//
// Fluent Bit's Go proxy can only answer "what is the value of key K", so on its own
// a misspelt key would be ignored silently. Every Fluent Bit from 1.9 to 5.x keeps an
// instance's properties in ins->properties, a circular mk_list of
//     struct flb_kv { flb_sds_t key; flb_sds_t val; struct mk_list _head; };
// and output_get_property returns kv->val. We take such a value pointer and look,
// inside the first bytes of the instance, for the list head whose ring contains it.
// Memory is read through write(2) into a pipe, which fails with EFAULT instead of
// crashing on an unreadable address, so a layout we do not expect only means
// "keys unknown", never a crash.
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "props.h"

struct kv_list { struct kv_list *prev, *next; };

static int safe_read(int p[2], const void *addr, void *out, size_t n) {
    if (addr == NULL || (uintptr_t)addr < 4096) return -1;
    ssize_t w = write(p[1], addr, n);
    if (w != (ssize_t)n) {
        if (w > 0) { char sink[64]; while (w > 0) { ssize_t r = read(p[0], sink, w > 64 ? 64 : w); if (r <= 0) break; w -= r; } }
        return -1;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(p[0], (char *)out + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

// walk follows the ring at head; it returns the number of nodes when the ring is
// well formed (closes on head, prev/next agree) and contains a kv whose val is known.
static int walk(int p[2], const struct kv_list *head, const char *known, const struct kv_list **nodes, int max) {
    struct kv_list h;
    if (safe_read(p, head, &h, sizeof h) != 0) return -1;
    const struct kv_list *prev = head, *node = h.next;
    int n = 0, found = 0;
    while (node != head) {
        if (n >= max) return -1;
        struct kv_list cur;
        if (safe_read(p, node, &cur, sizeof cur) != 0) return -1;
        if (cur.prev != prev) return -1;
        const char *kvp[2];
        if (safe_read(p, (const char *)node - sizeof kvp, kvp, sizeof kvp) != 0) return -1;
        if (kvp[1] == known) found = 1;
        nodes[n++] = node;
        prev = node;
        node = cur.next;
    }
    if (h.prev != prev) return -1;
    return found ? n : -1;
}

int envoy_props_keys(const void *o_ins, const char *known, size_t span, char *out, size_t outcap) {
    if (o_ins == NULL || known == NULL || outcap == 0) return -1;
    int p[2];
    if (pipe(p) != 0) return -1;
    enum { MAXKEYS = 512 };
    const struct kv_list *nodes[MAXKEYS];
    int n = -1;
    for (size_t off = 0; off + sizeof(struct kv_list) <= span && n < 0; off += sizeof(void *)) {
        n = walk(p, (const struct kv_list *)((const char *)o_ins + off), known, nodes, MAXKEYS);
    }
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        const char *kvp[2];
        if (safe_read(p, (const char *)nodes[i] - sizeof kvp, kvp, sizeof kvp) != 0) { n = -1; break; }
        for (size_t j = 0;; j++) {
            char c;
            if (used >= outcap || j > 256 || safe_read(p, kvp[0] + j, &c, 1) != 0) { n = -1; break; }
            out[used++] = c;
            if (c == 0) break;
        }
        if (n < 0) break;
    }
    close(p[0]);
    close(p[1]);
    return n;
}

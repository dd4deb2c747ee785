#ifndef ENVOY_S3_PROPS_H
#define ENVOY_S3_PROPS_H
#include <stddef.h>
// envoy_props_keys writes the NUL-separated keys of the instance's properties list
// into out and returns their count, or -1 when the list cannot be found safely.
int envoy_props_keys(const void *o_ins, const char *known, size_t span, char *out, size_t outcap);
#endif

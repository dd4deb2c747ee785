/*
 * glibc_floor.h: bind every glibc symbol the .so imports to its oldest version, so the .so
 * loads on glibc 2.17 and later (aws-for-fluent-bit 2.x has 2.26, 3.x has 2.34) although it is
 * built against a newer glibc (Debian 12: 2.36).
 *
 * The Makefile forces this header into EVERY C compile unit of the build with
 *   CGO_CFLAGS=-include plugin/glibc_floor.h
 * which reaches runtime/cgo's own C files (where nearly all imports come from: thread
 * creation, signal masks, TLS keys), not only plugin/'s preamble and props.c.
 *
 * Why each binding is needed: glibc 2.32 and 2.34 moved the pthread functions from
 * libpthread.so.0 into libc.so.6 and gave them a new default version there (GLIBC_2.32 or
 * GLIBC_2.34). A program linked against 2.34+ records that new version, which older glibc
 * does not define, and dlopen fails with "version `GLIBC_2.34' not found". The old versions
 * are still exported by new glibc as aliases of the very same functions, so binding to them
 * changes nothing at run time on a new glibc. On an old glibc they resolve in libpthread.so.0,
 * which the Makefile therefore adds as DT_NEEDED (a stub on glibc 2.34+).
 *
 * The oldest version of a symbol is the first version of its architecture: GLIBC_2.2.5 on
 * x86-64 (below the 2.17 floor) and GLIBC_2.17 on aarch64 (the first glibc for it).
 *
 * Adding a symbol: when docker/glibc_test.go reports "needs GLIBC_2.x for <symbol>", add a
 * line below for it (`objdump -T` on an old-enough libc shows the version to use; for a
 * symbol that is newer than the floor everywhere, the code must not use it).
 */
#ifndef ENVOY_S3_GLIBC_FLOOR_H
#define ENVOY_S3_GLIBC_FLOOR_H

#if defined(__linux__) && !defined(__ASSEMBLER__)

#if defined(__x86_64__)
#define ENVOY_S3_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define ENVOY_S3_GLIBC_BASE "GLIBC_2.17"
#else
#error "glibc_floor.h: add this architecture's first glibc symbol version"
#endif

#define ENVOY_S3_GLIBC_BIND(sym) __asm__(".symver " #sym "," #sym "@" ENVOY_S3_GLIBC_BASE)

/* GLIBC_2.34 (libpthread merged into libc): runtime/cgo's thread start and TLS. */
ENVOY_S3_GLIBC_BIND(pthread_create);
ENVOY_S3_GLIBC_BIND(pthread_attr_getstack);
ENVOY_S3_GLIBC_BIND(pthread_attr_getstacksize);
ENVOY_S3_GLIBC_BIND(pthread_key_create);
ENVOY_S3_GLIBC_BIND(pthread_setspecific);
ENVOY_S3_GLIBC_BIND(pthread_getspecific);
ENVOY_S3_GLIBC_BIND(pthread_detach);
ENVOY_S3_GLIBC_BIND(pthread_join);
ENVOY_S3_GLIBC_BIND(pthread_attr_setstacksize);
/* GLIBC_2.32: runtime/cgo's signal mask and stack bounds of the calling thread. */
ENVOY_S3_GLIBC_BIND(pthread_sigmask);
ENVOY_S3_GLIBC_BIND(pthread_getattr_np);

#endif /* __linux__ && !__ASSEMBLER__ */
#endif /* ENVOY_S3_GLIBC_FLOOR_H */

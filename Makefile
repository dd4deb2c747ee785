# envoy_s3 — Fluent Bit output plugin (Go, c-shared).
# `make demo` and `make test` work on a fresh machine: they install what they need.

GO            ?= go
CC            ?= cc
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
BIN           := $(CURDIR)/bin
SO            := envoy_s3.so
HOST          := $(BIN)/flb-host-stub
PREVIEW       := $(BIN)/envoy_s3-preview
DIST          := $(CURDIR)/dist
# The version every build is stamped with (the Init log line, dist/SHA256SUMS): the tag, or
# the commit, of this tree; "dev" outside a git checkout (docker/Dockerfile passes VERSION in).
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# One build for every .so (`make`, `make dist`, docker/Dockerfile), per architecture:
# - -trimpath and stripped symbols keep it reproducible and small;
# - netgo,osusergo: Go's own DNS resolver and user lookup instead of glibc's (getaddrinfo,
#   res_search, getpwnam_r), so the .so imports only basic libc and pthread functions;
# - plugin/glibc_floor.h is forced into every C compile unit, runtime/cgo's included, and binds
#   the pthread functions to their oldest glibc version; its hash is in CGO_CFLAGS so that Go's
#   build cache rebuilds runtime/cgo when it changes. libpthread.so.0 is linked as needed by
#   name: on glibc < 2.34 those functions live there. The result needs glibc 2.17 at most
#   (docker/glibc_test.go checks every file).
GLIBC_FLOOR_H := $(CURDIR)/plugin/glibc_floor.h
CGO_FLOOR     := CGO_CFLAGS="-O2 -g -include $(GLIBC_FLOOR_H) -DENVOY_S3_FLOOR_SUM=$(shell cksum < $(GLIBC_FLOOR_H) | cut -d' ' -f1)" \
                 CGO_LDFLAGS="-Wl,--push-state,--no-as-needed,-l:libpthread.so.0,--pop-state"
GOBUILD_SO    := CGO_ENABLED=1 $(CGO_FLOOR) $(GO) build -buildmode=c-shared -trimpath -tags netgo,osusergo -ldflags "-s -w -X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version=$(VERSION)"

# Cross builds. The host's architecture is built with $(CC); the other one with Debian's cross
# compiler, and its C host runs under qemu-user (`make test` runs the e2e tests on both).
HOSTARCH      := $(shell $(GO) env GOARCH)
ARCHES        := amd64 arm64
CROSSARCH     := $(filter-out $(HOSTARCH),$(ARCHES))
GNU_amd64     := x86_64
GNU_arm64     := aarch64
PKGS_amd64    := gcc-x86-64-linux-gnu libc6-dev-amd64-cross
PKGS_arm64    := gcc-aarch64-linux-gnu libc6-dev-arm64-cross
CC_$(HOSTARCH) := $(CC)
CC_$(CROSSARCH) := $(GNU_$(CROSSARCH))-linux-gnu-gcc
CROSS_SYSROOT := /usr/$(GNU_$(CROSSARCH))-linux-gnu
CROSS_QEMU    := qemu-$(GNU_$(CROSSARCH))-static
CROSS_HOST    := $(BIN)/flb-host-stub-$(CROSSARCH)
DIST_SOS      := $(foreach a,$(ARCHES),$(DIST)/envoy_s3-linux-$(a).so)
SOURCES       := go.mod go.sum $(GLIBC_FLOOR_H) $(shell find plugin internal -name '*.go' -o -name '*.c' -o -name '*.h' | grep -v _test.go)

export ENVOY_S3_SO   := $(CURDIR)/$(SO)
export ENVOY_S3_HOST := $(HOST)
export MINIO_BIN     := $(BIN)/minio
# What the glibc test and the cross-architecture e2e tests read (test/hosttest.CrossTarget).
export ENVOY_S3_VERSION        := $(VERSION)
export ENVOY_S3_DIST           := $(DIST)
export ENVOY_S3_CROSS_ARCH     := $(CROSSARCH)
export ENVOY_S3_CROSS_SO       := $(DIST)/envoy_s3-linux-$(CROSSARCH).so
export ENVOY_S3_CROSS_HOST     := $(CROSS_HOST)
export ENVOY_S3_CROSS_EMULATOR := $(CROSS_QEMU) -L $(CROSS_SYSROOT)

.PHONY: all build host minio preview dist cross-cc cross-qemu cross-host test test-short bench fuzz lint demo image vet fmt-check clean FORCE

all: build

build: $(SO) host $(PREVIEW)

$(SO): $(SOURCES) $(BIN)/version
	$(GOBUILD_SO) -o $(SO) ./plugin
	@rm -f envoy_s3.h

# Rewritten only when VERSION changes, so a new commit re-stamps the .so and nothing else does.
$(BIN)/version: FORCE
	@mkdir -p $(BIN)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

# dist/: one .so per architecture and SHA256SUMS, nothing else. The host's file is the very
# $(SO) the tests load; the other is the same build cross-compiled.
dist: $(DIST)/SHA256SUMS

$(DIST)/SHA256SUMS: $(DIST_SOS)
	@find $(DIST) -mindepth 1 $(foreach f,$(DIST_SOS),! -path $(f)) -delete
	cd $(DIST) && { echo '# envoy_s3 $(VERSION)'; sha256sum $(notdir $(DIST_SOS)); } > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

$(DIST)/envoy_s3-linux-$(HOSTARCH).so: $(SO)
	@mkdir -p $(DIST)
	cp $(SO) $@

$(DIST)/envoy_s3-linux-$(CROSSARCH).so: $(SOURCES) $(BIN)/version | cross-cc
	@mkdir -p $(DIST)
	GOARCH=$(CROSSARCH) CC=$(CC_$(CROSSARCH)) $(GOBUILD_SO) -o $@ ./plugin
	@rm -f $(@:.so=.h)

# The cross compiler (for dist) and qemu-user (for the tests) come from Debian's packages,
# installed when missing, as MinIO is built when missing: as root, or through sudo.
APT_INSTALL = sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; echo "installing $(1) with apt-get"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $(1)

cross-cc:
	@if ! command -v $(CC_$(CROSSARCH)) >/dev/null || [ ! -e $(CROSS_SYSROOT)/lib/libc.so ]; then \
	  $(call APT_INSTALL,$(PKGS_$(CROSSARCH))); fi

cross-qemu:
	@command -v $(CROSS_QEMU) >/dev/null || { $(call APT_INSTALL,qemu-user-static); }

cross-host: $(CROSS_HOST)

$(CROSS_HOST): test/host/host.c | cross-cc cross-qemu
	@mkdir -p $(BIN)
	$(CC_$(CROSSARCH)) -std=c11 -O2 -Wall -Wextra -o $@ test/host/host.c -ldl -lpthread

host: $(HOST)

# envoy_s3-preview: the plugin's pipeline over lines you have; writes nothing anywhere.
#   make preview FILE=proxy.log OPTS="-o compression=zstd -daily-gb 5"
$(PREVIEW): $(SOURCES)
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $@ ./plugin/preview

preview: $(PREVIEW)
	$(PREVIEW) $(OPTS) $(FILE)

$(HOST): test/host/host.c
	@mkdir -p $(BIN)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ test/host/host.c -ldl -lpthread

# MinIO is built from the Go module proxy at a pinned version, once.
# MinIO: a `minio` already on PATH is used as it is; otherwise it is built from the
# Go module proxy at a pinned version, once (the longest step of a first run).
minio: $(BIN)/minio

$(BIN)/minio:
	@mkdir -p $(BIN)
	@if command -v minio >/dev/null 2>&1; then \
	  echo "using the minio on PATH: $$(command -v minio)"; ln -sf "$$(command -v minio)" $@; \
	else \
	  echo "building MinIO $(MINIO_VERSION) from the Go module proxy into ./bin, once:"; \
	  echo "  about 3 minutes on 2 idle cores (6 on a busy machine), ~1 GB of module and build cache; nothing is printed meanwhile"; \
	  GOBIN=$(BIN) GOFLAGS=-buildvcs=false $(GO) install github.com/minio/minio@$(MINIO_VERSION) && echo "MinIO built: $@"; \
	fi

vet:
	$(GO) vet ./...
	cd test/sql && $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

# test/sql is its own module (DuckDB, never linked into the .so): see test/sql/doc.go.
test: build dist cross-host minio fmt-check vet
	$(GO) test -race -count=1 -timeout 15m ./...
	cd test/sql && $(GO) test -count=1 -timeout 15m ./...

# This machine's architecture only: no dist/, no emulated e2e.
test-short: build
	ENVOY_S3_SKIP_MINIO=1 ENVOY_S3_CROSS_ARCH= ENVOY_S3_DIST= $(GO) test -count=1 -short ./...

bench: build minio
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./internal/...

# staticcheck at a pinned version, over both modules (not part of `make test`: it builds the tool first).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...
	cd test/sql && $(GO) run $(STATICCHECK) ./...

# A short run of every fuzz target (go test -fuzz takes one target at a time).
FUZZTIME ?= 20s
# Minimising each new input for Go's default 60 s starves the slower targets.
FUZZMINIMIZE ?= 100x
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

demo: build minio
	$(GO) run ./test/cmd/demo

# The FireLens router image (aws-for-fluent-bit 3.5.10 + envoy_s3.so) for both architectures;
# needs a Docker engine with buildx. AWS_FOR_FLUENT_BIT=2 builds on aws-for-fluent-bit 2.x.
# buildx keeps a multi-platform image in its cache: BUILDX_FLAGS=--push IMAGE=registry/name:tag ships it.
IMAGE              ?= envoy-s3-router:dev
PLATFORMS          ?= linux/amd64,linux/arm64
AWS_FOR_FLUENT_BIT ?= 3
BUILDX_FLAGS       ?=
image:
	docker buildx build --platform $(PLATFORMS) --build-arg VERSION=$(VERSION) \
	  --build-arg AWS_FOR_FLUENT_BIT=$(AWS_FOR_FLUENT_BIT) $(BUILDX_FLAGS) -f docker/Dockerfile -t $(IMAGE) .

clean:
	rm -f $(SO) envoy_s3.h
	rm -rf $(BIN)/flb-host-stub $(CROSS_HOST) $(BIN)/version $(DIST)

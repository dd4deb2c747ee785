# envoy_s3 — Fluent Bit output plugin (Go, c-shared).
# `make demo` and `make test` work on a fresh machine: they install what they need.

GO            ?= go
CC            ?= cc
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
BIN           := $(CURDIR)/bin
SO            := envoy_s3.so
HOST          := $(BIN)/flb-host-stub
# -trimpath and stripped symbols keep the .so reproducible and small; docker/Dockerfile
# runs this same target.
GOBUILD_SO    := CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -ldflags "-s -w"

export ENVOY_S3_SO   := $(CURDIR)/$(SO)
export ENVOY_S3_HOST := $(HOST)
export MINIO_BIN     := $(BIN)/minio

.PHONY: all build host minio test test-short bench fuzz demo image vet fmt-check clean

all: build

build: $(SO) host

$(SO): go.mod go.sum $(shell find plugin internal -name '*.go' -o -name '*.c' -o -name '*.h' | grep -v _test.go)
	$(GOBUILD_SO) -o $(SO) ./plugin
	@rm -f envoy_s3.h

host: $(HOST)

$(HOST): test/host/host.c
	@mkdir -p $(BIN)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ test/host/host.c -ldl -lpthread

# MinIO is built from the Go module proxy at a pinned version, once.
minio: $(BIN)/minio

$(BIN)/minio:
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS=-buildvcs=false $(GO) install github.com/minio/minio@$(MINIO_VERSION)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

test: build minio fmt-check vet
	$(GO) test -race -count=1 -timeout 15m ./...

test-short: build
	ENVOY_S3_SKIP_MINIO=1 $(GO) test -count=1 -short ./...

bench: build minio
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./internal/...

# A short run of every fuzz target (go test -fuzz takes one target at a time).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build minio
	$(GO) run ./test/cmd/demo

# The FireLens router image (aws-for-fluent-bit 3.x + envoy_s3.so); needs a Docker engine.
image:
	docker build -f docker/Dockerfile -t envoy-s3-router:dev .

clean:
	rm -f $(SO) envoy_s3.h
	rm -rf $(BIN)/flb-host-stub

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
CYCLONEDX_VERSION   := v1.10.0
GOVULNCHECK_VERSION := v1.10.0
CYCLONEDX           ?= $(BIN)/cyclonedx-gomod-$(CYCLONEDX_VERSION)/cyclonedx-gomod
GOVULNCHECK         ?= $(BIN)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
# The version every build is stamped with (the .so's Init log line, envoy_s3-preview -version,
# dist/SHA256SUMS, the SBOMs, the image's labels), from the VERSION file (X.Y.Z):
# - v$(RELEASE): a clean tree at the tag vX.Y.Z, the release;
# - v$(RELEASE)-dev+g<commit>: any other commit, with .dirty when the tree has changes;
# - v$(RELEASE)-dev: outside a git checkout (docker/Dockerfile's default; `make image` passes
#   the full version in).
# `make -s version` prints it. repro-check and verify pass it to their builds explicitly.
RELEASE       := $(shell cat $(CURDIR)/VERSION)
ifndef VERSION
override VERSION := $(shell v=v$(RELEASE); \
  if c=$$(git rev-parse --short=12 HEAD 2>/dev/null); then \
    d=; [ -z "$$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || d=.dirty; \
    [ -z "$$d" ] && [ "$$(git rev-parse -q --verify "refs/tags/$$v^{commit}" 2>/dev/null)" = "$$(git rev-parse HEAD)" ] || v=$$v-dev+g$$c$$d; \
  else v=$$v-dev; fi; echo $$v)
endif

# One build for every .so (`make`, `make dist`, docker/Dockerfile), per architecture:
# - reproducible: the same commit gives byte-identical files in any directory, for any user,
#   at any time (`make repro-check`, part of `make test`, builds dist/ again elsewhere and
#   compares). -trimpath keeps paths out of the Go code and the C objects, but not out of
#   CGO_CFLAGS, which Go hashes into every cgo package's cache key and so into the build ID:
#   CGO_CFLAGS therefore holds no path (the floor header is found by name through CPATH).
#   -buildid= leaves out Go's build ID (a hash of how the go command saw the inputs, which
#   also spells CC's name) and --build-id=sha1 makes the GNU build ID ld's hash of the
#   file's contents. No -g: the symbols are stripped, so C debug info (and its paths) would
#   never ship. The toolchain is go.mod's (GOTOOLCHAIN), VCS stamping is off (VERSION stamps
#   the tree instead), the CPU baseline and the C flags are set here, not inherited;
# - stripped symbols keep it small;
# - netgo,osusergo: Go's own DNS resolver and user lookup instead of glibc's (getaddrinfo,
#   res_search, getpwnam_r), so the .so imports only basic libc and pthread functions;
# - plugin/glibc_floor.h is forced into every C compile unit, runtime/cgo's included, and binds
#   the pthread functions to their oldest glibc version; its hash is in CGO_CFLAGS so that Go's
#   build cache rebuilds runtime/cgo when it changes. libpthread.so.0 is linked as needed by
#   name: on glibc < 2.34 those functions live there. The result needs glibc 2.17 at most
#   (docker/glibc_test.go checks every file).
GO_TOOLCHAIN  := go$(shell awk '$$1 == "go" { print $$2 }' $(CURDIR)/go.mod)
GLIBC_FLOOR_H := $(CURDIR)/plugin/glibc_floor.h
CGO_FLOOR     := CPATH=$(dir $(GLIBC_FLOOR_H)) CGO_CPPFLAGS= CGO_CXXFLAGS= \
                 CGO_CFLAGS="-O2 -include $(notdir $(GLIBC_FLOOR_H)) -DENVOY_S3_FLOOR_SUM=$(shell cksum < $(GLIBC_FLOOR_H) | cut -d' ' -f1)" \
                 CGO_LDFLAGS="-Wl,--push-state,--no-as-needed,-l:libpthread.so.0,--pop-state"
GO_PINNED     := GOTOOLCHAIN=$(GO_TOOLCHAIN) GOFLAGS=-buildvcs=false GOEXPERIMENT= GOAMD64=v1 GOARM64=v8.0
GOBUILD_SO    := CGO_ENABLED=1 $(GO_PINNED) $(CGO_FLOOR) $(GO) build -buildmode=c-shared -trimpath -tags netgo,osusergo -ldflags "-s -w -buildid= -extldflags=-Wl,--build-id=sha1 -X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version=$(VERSION)"

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
DIST_SBOMS    := $(DIST_SOS:.so=.cdx.json)
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

.PHONY: all build version host minio preview dist repro-check verify vulncheck cross-cc cross-qemu cross-host test test-short bench fuzz lint demo image vet fmt-check clean FORCE

all: build

build: $(SO) host $(PREVIEW)

$(SO): $(SOURCES) Makefile $(BIN)/version
	$(GOBUILD_SO) -o $(SO) ./plugin
	@rm -f envoy_s3.h

version:
	@echo '$(VERSION)'

# Rewritten only when VERSION changes, so a new commit re-stamps the .so and nothing else does.
$(BIN)/version: FORCE
	@mkdir -p $(BIN)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

# dist/: per architecture the .so and its CycloneDX SBOM, and SHA256SUMS over them, nothing
# else. The host's file is the very $(SO) the tests load; the other is the same build
# cross-compiled. Every file is reproducible: `make verify SUMS=...` rebuilds and compares.
dist: $(DIST)/SHA256SUMS

$(DIST)/SHA256SUMS: $(DIST_SOS) $(DIST_SBOMS)
	@find $(DIST) -mindepth 1 $(foreach f,$(DIST_SOS) $(DIST_SBOMS),! -path $(f)) -delete
	cd $(DIST) && { echo '# envoy_s3 $(VERSION)'; sha256sum $(notdir $(DIST_SOS) $(DIST_SBOMS)); } > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

# The SBOM of each .so: cyclonedx-gomod reads the build info Go wrote into it (every module
# linked in, with version and go.sum hash, and the Go toolchain as the "std" component) and
# detects each module's license from the module cache (GOPROXY=off: only the sources the build
# used; our own module is not published, so its lookup fails and is skipped). No serial
# number, no timestamp, and GOARCH set to the .so's (the tool writes `go env GOARCH` into every
# package URL): the same .so gives the same SBOM on any machine. plugin/sbom then adds the C
# libraries the .so needs on the host (DT_NEEDED, with the oldest glibc that satisfies it),
# which the tool does not list, and drops the hashes of the tool's own executable.
$(DIST)/%.cdx.json: $(DIST)/%.so Makefile internal/sbom/sbom.go plugin/sbom/main.go | $(CYCLONEDX)
	GOPROXY=off GOOS=linux GOARCH=$(lastword $(subst -, ,$*)) $(CYCLONEDX) bin -json -std -licenses -noserial -notimestamp -version '$(VERSION)' $< > $@.tool 2> $@.log || { cat $@.log; exit 1; }
	$(GO) run ./plugin/sbom $< < $@.tool > $@.tmp && mv $@.tmp $@
	@rm -f $@.tool $@.log

# Release tools at pinned versions, built from the Go module proxy once into ./bin.
$(CYCLONEDX):
	GOBIN=$(@D) CGO_ENABLED=0 $(GO) install -trimpath github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_VERSION)
$(GOVULNCHECK):
	GOBIN=$(@D) CGO_ENABLED=0 $(GO) install -trimpath golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(DIST)/envoy_s3-linux-$(HOSTARCH).so: $(SO)
	@mkdir -p $(DIST)
	cp $(SO) $@

$(DIST)/envoy_s3-linux-$(CROSSARCH).so: $(SOURCES) Makefile $(BIN)/version | cross-cc
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
$(PREVIEW): $(SOURCES) $(BIN)/version
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "-X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version=$(VERSION)" -o $@ ./plugin/preview

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
test: build dist repro-check cross-host minio fmt-check vet
	$(GO) test -race -count=1 -timeout 15m ./...
	cd test/sql && $(GO) test -count=1 -timeout 15m ./...

# The reproducibility check: build dist/ again from a copy of this tree's files (tracked and
# untracked, not ignored) in another directory, with the same VERSION and the same module and
# build caches, and compare every file with dist/. The caches make it cheap (the two links
# and the SBOMs, about a minute): whatever puts the directory into a cache key (the build
# flags, CGO_CFLAGS) makes the copy compile and link anew and differ. A path that reached a
# compiled object without reaching its key would be reused from the cache and not seen here;
# for that, run it once with an empty cache: `GOCACHE=$(mktemp -d) make repro-check`.
# REPRO_SIDE_FLAGS passes make variables to the copy's build only, e.g. to show the check
# failing: REPRO_SIDE_FLAGS="'GO_PINNED=GOAMD64=v3'".
REPRO_SIDE_FLAGS ?=
repro-check: dist
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "repro-check: needs a git checkout (it copies the files git knows of)"; exit 1; }
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/envoy_s3-repro.XXXXXX") && trap 'rm -rf "$$dir"' EXIT && \
	start=$$(date +%s) && \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$$dir" && \
	$(MAKE) -s -C "$$dir" VERSION='$(VERSION)' CYCLONEDX='$(CYCLONEDX)' $(REPRO_SIDE_FLAGS) dist > "$$dir/.build.log" 2>&1 || { cat "$$dir/.build.log"; exit 1; }; \
	if diff -r $(DIST) "$$dir/dist" >/dev/null; then \
	  echo "repro-check: dist/ rebuilt in $$dir is byte-identical ($$(( $$(date +%s) - start )) s): $$(ls $(DIST) | tr '\n' ' ')"; \
	else \
	  echo "repro-check: FAILED: dist/ rebuilt from the same files in another directory differs:"; diff -rq $(DIST) "$$dir/dist"; \
	  for f in $$(ls $(DIST)); do cmp -s $(DIST)/$$f "$$dir/dist/$$f" || echo "  $$f: $$(cmp -l $(DIST)/$$f "$$dir/dist/$$f" 2>/dev/null | wc -l) bytes differ"; done; \
	  echo "find each difference (readelf -n, cmp -l, strings) and remove its cause in GOBUILD_SO"; exit 1; \
	fi

# make verify SUMS=path/to/SHA256SUMS: rebuild dist/ from this checkout and compare it with a
# published SHA256SUMS, file by file. Check out the release's tag first (the version is in the
# first line of SHA256SUMS).
verify: dist
	@test -n '$(SUMS)' || { echo "make verify: set SUMS=path/to/SHA256SUMS, the file published with the release"; exit 2; }
	@test -r '$(SUMS)' || { echo "make verify: cannot read SUMS=$(SUMS)"; exit 2; }
	@want=$$(sed -n 's/^# envoy_s3 //p' '$(SUMS)'); \
	if [ "$$want" != '$(VERSION)' ]; then \
	  ref=$$(echo "$$want" | sed -n 's/^v[^+]*-dev+g\([0-9a-f]*\).*/\1/p'); [ -n "$$ref" ] || ref=$$want; \
	  echo "make verify: $(SUMS) is for envoy_s3 $$want, this checkout builds $(VERSION): git checkout $$ref (a clean tree), or pass VERSION=$$want for a source archive"; exit 1; fi
	@grep -v '^#' '$(SUMS)' | awk '{print $$2}' | sort > $(BIN)/verify.want; (cd $(DIST) && ls | grep -vx SHA256SUMS | sort) > $(BIN)/verify.got; \
	if ! cmp -s $(BIN)/verify.want $(BIN)/verify.got; then \
	  echo "make verify: $(SUMS) lists other files than this build makes (< SUMS, > this build):"; diff $(BIN)/verify.want $(BIN)/verify.got; exit 1; fi
	@grep -v '^#' '$(SUMS)' | (cd $(DIST) && sha256sum --strict -c -) || { echo "make verify: FAILED: the files marked FAILED are not what this checkout builds"; exit 1; }
	@echo "make verify: every file of $(SUMS) is reproduced bit for bit by this checkout (envoy_s3 $(VERSION))"

# Known vulnerabilities (golang.org/x/vuln) in the code the .so links, for both architectures,
# from the Go vulnerability database (VULNDB). When the database cannot be reached this fails
# and says so: it is not a pass. Not part of `make test` (it needs the network).
VULNDB ?= https://vuln.go.dev
vulncheck: $(GOVULNCHECK) | cross-cc
	@for a in $(ARCHES); do \
	  echo "== govulncheck $(GOVULNCHECK_VERSION), linux/$$a, ./plugin (tags netgo,osusergo), database $(VULNDB)"; \
	  cc=$(CC); [ $$a = $(HOSTARCH) ] || cc=$(CC_$(CROSSARCH)); \
	  GOOS=linux GOARCH=$$a CGO_ENABLED=1 CC=$$cc $(GOVULNCHECK) -db '$(VULNDB)' -tags netgo,osusergo ./plugin > $(BIN)/vulncheck.out 2>&1; rc=$$?; cat $(BIN)/vulncheck.out; \
	  case $$rc in \
	    0) ;; \
	    3) echo "vulncheck: known vulnerabilities reach the linux/$$a .so (above)"; exit 3;; \
	    *) if grep -q 'fetching vulnerabilities' $(BIN)/vulncheck.out; then \
	         echo "vulncheck: NOT CHECKED: the vulnerability database $(VULNDB) is not reachable from here (no result, not a pass); set VULNDB to a mirror or a file:// copy"; \
	       else echo "vulncheck: govulncheck failed (exit $$rc)"; fi; exit $$rc;; \
	  esac; \
	done

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
	docker buildx build --platform $(PLATFORMS) --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null) \
	  --build-arg AWS_FOR_FLUENT_BIT=$(AWS_FOR_FLUENT_BIT) $(BUILDX_FLAGS) -f docker/Dockerfile -t $(IMAGE) .

clean:
	rm -f $(SO) envoy_s3.h
	rm -rf $(BIN)/flb-host-stub $(CROSS_HOST) $(BIN)/version $(BIN)/verify.want $(BIN)/verify.got $(BIN)/vulncheck.out $(DIST)

# Two commands on a fresh machine: `make run` starts Tandem with its demo site,
# `make test` runs every test against a real Chromium.
GO ?= go
# turbojpeg: masks are painted with libjpeg-turbo (cgo). TAGS= builds with image/jpeg only.
TAGS ?= turbojpeg
export TAGS

.PHONY: run test build deps bench

deps:
	@./scripts/ensure-deps.sh

build: deps
	$(GO) build -tags "$(TAGS)" -o bin/tandem ./cmd/tandem

run: build
	./bin/tandem

# Packages run one at a time (-p 1): each drives its own Chromium, and on two cores
# packages side by side would starve each other's pages.
test: deps
	$(GO) vet -tags "$(TAGS)" ./...
	$(GO) test -tags "$(TAGS)" -race -count=1 -p 1 -timeout 12m ./...
	@# The painter's unit tests again in the other build (cgo-free image/jpeg, or turbojpeg).
	$(GO) test -tags "$(if $(TAGS),,turbojpeg)" -race -count=1 -run 'TestPaint|TestBothCodecs|TestForAudience' ./mask/

bench: deps
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench 'Fanout|Paint|Sanitize|BuildFor|Patch' -benchmem ./stream/ ./mask/ ./dom/
	$(GO) test -run '^$$' -bench Forwarding -benchtime 300x ./call/
	$(GO) run -tags "$(TAGS)" ./cmd/tandem-bench -viewers 50

# Two commands on a fresh machine: `make run` starts Tandem with its demo site,
# `make test` runs every test against a real Chromium.
GO ?= go

.PHONY: run test build chromium bench vet

chromium:
	@./scripts/ensure-chromium.sh

build:
	$(GO) build -o bin/tandem ./cmd/tandem

run: chromium build
	./bin/tandem

test: chromium
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...

bench: chromium
	$(GO) test -run '^$$' -bench Fanout -benchmem ./stream/
	$(GO) run ./cmd/tandem-bench

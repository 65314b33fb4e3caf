# Sanse build, test and demo targets. Every target works in a fresh clone on a
# Debian machine with Go installed (deploy/clickhouse.sh installs ClickHouse
# when it is missing).

# Go installs to /usr/local/go; a go already on PATH wins.
export PATH := $(PATH):/usr/local/go/bin

GO         ?= go
GOFMT      ?= gofmt
NPM        ?= npm
NODE       ?= node
CLICKHOUSE := bash deploy/clickhouse.sh
# Evaluated when used, so that it follows SANSE_CLICKHOUSE_PORT.
CLICKHOUSE_DSN = $(shell $(CLICKHOUSE) dsn)
FUZZTIME   ?= 30s
# How long `make fuzz` minimises a new interesting input, and how long each
# target fuzzes within `make test` (their seed corpora also run as tests).
FUZZMINIMIZETIME ?= 5s
FUZZTIME_TEST    ?= 2s
TEST_FLAGS ?=

# golangci-lint is pinned: `make lint` installs this version into bin/tools with
# go install when the binary there is missing or reports another version.
GOLANGCI_LINT_VERSION := 2.15.0
TOOLS_BIN             := $(CURDIR)/bin/tools
GOLANGCI_LINT         := $(TOOLS_BIN)/golangci-lint

.PHONY: all help build web demo test test-short bench bench-province fuzz lint golangci-lint fmt clickhouse-start clickhouse-stop clean distclean

all: lint build test-short

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## build: compile bin/sanse (with the map page's assets as committed; no node needed)
build:
	$(GO) build -o bin/sanse ./cmd/sanse

## web: vendor the map page's libraries from npm at the versions api/web/package-lock.json pins (needs node and npm; commit the result)
web:
	cd api/web && $(NPM) ci --no-audit --no-fund && $(NODE) build.mjs

## demo: run the whole product on this machine (local ClickHouse, embedded broker, simulator, map on :8080)
demo: clickhouse-start build
	bin/sanse demo --clickhouse.dsn "$(subst /default,/sanse,$(CLICKHOUSE_DSN))"

## test: lint, then every test with the race detector, including integration tests against a local ClickHouse; then the allocation tests and the demo calibration without it, and every fuzz target briefly
# The race detector changes allocation counts, so the tests that count
# allocations (named ...Allocations) skip under it and run in a second pass,
# with the demo district's calibration (TestCalibration), a one-goroutine
# simulation the detector would only slow down.
test: lint clickhouse-start
	SANSE_CLICKHOUSE_DSN="$(CLICKHOUSE_DSN)" $(GO) test -race -count=1 -timeout 15m $(TEST_FLAGS) ./...
	$(GO) test -count=1 -run 'Allocations$$|^TestCalibration$$' $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST) FUZZMINIMIZETIME=1s

## test-short: unit tests only, no servers
test-short:
	$(GO) test -short $(TEST_FLAGS) ./...

## bench: every benchmark against the local ClickHouse; the end-to-end pipeline comparison runs once (BENCHMARKS.md)
bench: clickhouse-start
	SANSE_CLICKHOUSE_DSN="$(CLICKHOUSE_DSN)" $(GO) test -run '^$$' -bench . -skip '^BenchmarkPipeline$$' -benchmem $(TEST_FLAGS) ./...
	SANSE_CLICKHOUSE_DSN="$(CLICKHOUSE_DSN)" $(GO) test -run '^$$' -bench '^BenchmarkPipeline$$' -benchtime 1x -benchmem $(TEST_FLAGS) ./engine/ingest

## bench-province: the province benchmark (BENCHMARKS.md): 20,000 schools, a broker process of its own, SANSE_BENCH_EVENTS events (default 1,000,000; 10000000 for the memory run) through raw kafka-go, clickhouse-client and sanse serve
# cmd/sanse-bench says what it does; SANSE_BENCH_SCHOOLS, SANSE_BENCH_PARTITIONS,
# SANSE_BENCH_SAMPLE_EVERY and SANSE_BENCH_PHASES change the rest.
bench-province: clickhouse-start
	$(GO) build -o bin/sanse ./cmd/sanse
	$(GO) build -o bin/sanse-bench ./cmd/sanse-bench
	SANSE_CLICKHOUSE_DSN="$(CLICKHOUSE_DSN)" bin/sanse-bench -sanse bin/sanse

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; \
	for dir in $$(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.data --exclude-dir=.git '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do \
		for target in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$dir $$target ($(FUZZTIME))"; \
			out=$$(mktemp); \
			if $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$dir > $$out 2>&1; then \
				cat $$out; \
			else \
				cat $$out; \
				if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written to' $$out; then \
					echo "fuzz: $$target ended on Go's fuzz-coordinator deadline race (go.dev/issue/75804, fixed in Go 1.27), no failing input: not a finding"; \
				else rm -f $$out; exit 1; fi; \
			fi; \
			rm -f $$out; \
		done; \
	done

## lint: gofmt check, go vet, and golangci-lint (.golangci.yml: dependency direction, errors, slog, testify, doc comments)
lint: golangci-lint
	@files=$$($(GOFMT) -l $$($(GO) list -f '{{.Dir}}' ./...)); \
	if [ -n "$$files" ]; then echo "not gofmt-ed (run make fmt):"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

# golangci-lint: install the pinned golangci-lint into bin/tools unless it is there already
golangci-lint:
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION)" ]; then \
		echo "installing golangci-lint v$(GOLANGCI_LINT_VERSION) into $(TOOLS_BIN)"; \
		rm -f "$(GOLANGCI_LINT)"; \
		GOBIN="$(TOOLS_BIN)" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi

## fmt: gofmt every package
fmt:
	$(GOFMT) -w $$($(GO) list -f '{{.Dir}}' ./...)

## clickhouse-start: start the local ClickHouse server (installs it if missing)
clickhouse-start:
	$(CLICKHOUSE) start

## clickhouse-stop: stop the local ClickHouse server
clickhouse-stop:
	$(CLICKHOUSE) stop

## clean: remove build output
clean:
	rm -rf bin dist

## distclean: also stop the local ClickHouse server and delete its data
distclean: clean clickhouse-stop
	rm -rf .data

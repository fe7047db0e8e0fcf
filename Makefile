# pgfast — the two commands: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/pgfast
# Where `make deps` looks for PostgreSQL's server binaries (initdb, postgres):
# PATH first, then Debian's versioned directories. Point it at an empty
# directory to exercise the install branch.
PG_SEARCH ?= $(PATH):$(wildcard /usr/lib/postgresql/*/bin)
GOTEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: deps build run test vet fmt-check lint bench bench-load clean

deps:
	@if ! PATH="$(PG_SEARCH)" command -v initdb >/dev/null 2>&1 || ! PATH="$(PG_SEARCH)" command -v postgres >/dev/null 2>&1; then \
		echo "deps: PostgreSQL server binaries not found; installing postgresql"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql >/dev/null; \
	else echo "deps: PostgreSQL found: $$(PATH="$(PG_SEARCH)" command -v initdb)"; fi
	@if ! command -v redis-server >/dev/null 2>&1; then \
		echo "deps: redis-server not found; installing redis-server"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq redis-server >/dev/null; \
	else echo "deps: redis-server found: $$(command -v redis-server)"; fi
# pgbouncer: internal/testpgbouncer starts its own on a free port; Debian's
# package may also enable a system service on 6432, which no test uses. It
# lands in /usr/sbin, which a non-root PATH may lack.
	@if ! PATH="$(PATH):/usr/sbin" command -v pgbouncer >/dev/null 2>&1; then \
		echo "deps: pgbouncer not found (statement_cache: describe is tested through it); installing pgbouncer"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq pgbouncer >/dev/null; \
	else echo "deps: pgbouncer found: $$(PATH="$(PATH):/usr/sbin" command -v pgbouncer)"; fi
	@PATH="$(PATH):$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tr "\n" ":")" command -v initdb >/dev/null && echo "deps: PostgreSQL server binaries: $$(PATH="$(PATH):$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tr "\n" ":")" command -v initdb)" || { echo "deps: PostgreSQL still missing after install" >&2; exit 1; }
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "deps: chromium not found (the status page is tested in a headless browser); installing chromium"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; \
	else echo "deps: chromium found: $$(command -v chromium)"; fi
	@if ! command -v gcc >/dev/null 2>&1; then \
		echo "deps: no C compiler (sqlclass uses libpg_query through cgo); installing gcc"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq gcc libc6-dev >/dev/null; \
	else echo "deps: C compiler found: $$(command -v gcc)"; fi
	$(GO) mod download

build:
	$(GO) build -o $(BIN) ./cmd/pgfast

run: deps build
	./$(BIN) serve

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Allocation budgets (testing.AllocsPerRun) cannot run under -race, which
# instruments allocations, and neither can bench's tail-latency ratio (the
# detector's slowdown is not what it measures): a first pass runs them, and
# only them, without it.
ALLOC_PKGS := ./bench ./cache ./engine ./jwtauth ./limiter ./pool ./rowcodec ./sqlclass ./sqlexec ./upstream
ALLOC_TESTS := 'Alloc|SelectAfterPing'

test: deps fmt-check vet
	$(GO) test -count=1 -run $(ALLOC_TESTS) $(ALLOC_PKGS)
	$(GO) test $(GOTEST_FLAGS) ./...
	@if pgrep -f '[p]gfast-pg-' >/dev/null 2>&1; then echo "test: a test left PostgreSQL running" >&2; pgrep -a -f '[p]gfast-pg-'; exit 1; fi
	@if pgrep -f '[p]gfast-pgbouncer-' >/dev/null 2>&1; then echo "test: a test left PgBouncer running" >&2; pgrep -a -f '[p]gfast-pgbouncer-'; exit 1; fi
	@if pgrep -f '[r]edis-server.*--dir /tmp/' >/dev/null 2>&1; then echo "test: a test left a Redis server running" >&2; pgrep -a -f '[r]edis-server.*--dir /tmp/'; exit 1; fi

lint: fmt-check vet
	@command -v staticcheck >/dev/null && staticcheck ./... || echo "lint: staticcheck not installed (go install honnef.co/go/tools/cmd/staticcheck@latest); ran gofmt and go vet"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The README's benchmark table on this machine: PostgreSQL and pgfast started
# in process, 5s per scenario; bench.json is a baseline for
# `pgfast bench --baseline bench.json`, bench.md the README's table, and
# bench.html a latency-over-time plot per scenario, which bench.md links.
bench-load: deps
	$(GO) run ./cmd/pgfast bench --standalone --duration 5s --json bench.json --markdown bench.md --plot bench.html

clean:
	rm -rf bin

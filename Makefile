# Oore developer commands. `make run` and `make test` are all a newcomer needs.

CARGO ?= cargo
DEV_DIR := $(CURDIR)/.oore-dev
DEV_ADDR ?= 127.0.0.1:8080

.PHONY: run test deps fmt fmt-check lint unit bench build release clean-dev

## Build and start oored in the foreground on a local data dir (./.oore-dev),
## initialised on first run; prints the URL and the admin token.
run:
	@DEV_DIR="$(DEV_DIR)" DEV_ADDR="$(DEV_ADDR)" CARGO="$(CARGO)" scripts/dev-run.sh

## Everything CI runs: install what tests need, format check, lints, the whole suite.
test: deps fmt-check lint unit

## Tools the tests use (git, sqlite3 is not needed: SQLite is bundled).
deps:
	@scripts/install-test-deps.sh

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

## Benchmarks: figures and ratios against each issue's targets (release build).
bench:
	@scripts/bench.sh

build:
	$(CARGO) build --workspace

## The two binaries, without oore-testkit in the build: building it alongside would turn
## on oore-core's `testing` feature (features unify) and ship the fakes in oored.
release:
	$(CARGO) build --release --locked -p oore-server -p oore-cli

## Forget the local dev server's data (database, key, token).
clean-dev:
	rm -rf "$(DEV_DIR)"

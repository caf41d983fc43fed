# Tokendesk. The README's two commands: `make run` and `make test`.
# Every target installs what it needs first (make deps), so a fresh Debian 12 clone works.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO       ?= go
BIN      := bin/tokendesk
PROVIDER := internal/testenv/provider
FUZZTIME ?= 20s
# make bench BENCH=Cache BENCHTIME=100x narrows a run.
BENCH     ?= .
BENCHTIME ?= 1s
# Per test binary; a hang fails its package instead of the whole run.
TEST_TIMEOUT ?= 20m
# Top-level tests whose run (not skip) make test reports by name.
REAL_TESTS ?= ^(TestKeyring|TestDiscovery|TestLogin|TestDeviceFlow|TestSmoke.*)$$

export GO FUZZTIME TEST_TIMEOUT REAL_TESTS

.PHONY: deps deps-system build run test bench bench-cli fuzz package package-check fresh-check screenshots lint clean

## deps: system packages (only the missing ones) and the test provider's node_modules
deps: deps-system $(PROVIDER)/node_modules/.package-lock.json

deps-system:
	@scripts/ci-deps.sh

# npm writes node_modules/.package-lock.json; older than the lock file means stale.
# Order-only on deps-system, which may install npm itself.
$(PROVIDER)/node_modules/.package-lock.json: $(PROVIDER)/package-lock.json $(PROVIDER)/package.json | deps-system
	@echo "deps: npm ci in $(PROVIDER)"
	cd $(PROVIDER) && npm ci --no-audit --no-fund --loglevel=error || { \
		echo "deps: npm ci in $(PROVIDER) failed (npm's output is above)" >&2; \
		echo "deps: fix: check that npm reaches its registry (npm config get registry, ~/.npmrc), then rerun make deps" >&2; \
		exit 1; }
	@touch $@

# `tokendesk version` prints FyneApp.toml's version and the commit it was built from.
VERSION ?= $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)+$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/tokendesk/tokendesk/cli.Version=$(VERSION)

## build: the app binary, bin/tokendesk
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

## run: deps, build, start the app (inside a D-Bus session with gnome-keyring when
## there is no session bus; on a virtual Xvfb display when there is no DISPLAY)
run: deps build
	scripts/ci-session.sh --display=auto --keyring=persistent -- $(BIN)

## test: deps, go vet, every test (-race) with real keyring, provider and Xvfb display
test: deps
	$(GO) vet ./...
	scripts/ci-test.sh

## bench: every package's Go benchmarks, then the window benchmark script if present
bench: deps
	scripts/ci-session.sh --display=private --keyring=private -- \
		$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...
	@if [ -f scripts/bench-window.sh ]; then bash scripts/bench-window.sh; \
	else echo "bench: scripts/bench-window.sh absent, window benchmark skipped"; fi

## bench-cli: `tokendesk token`/`accounts` against an MSAL Python 1.21 script, whole
## processes, at 1 and 10,000 accounts (scripts/bench-cli.sh; real keyring)
bench-cli: deps
	bash scripts/bench-cli.sh

## fuzz: each Fuzz* target for FUZZTIME (default 20s)
fuzz: deps
	scripts/ci-session.sh --display=private --keyring=private -- scripts/ci-fuzz.sh

## package: fyne package into dist/: Tokendesk.tar.xz (Linux) and Tokendesk.exe
## (Windows, cross-built with mingw: about 12 min cold on 2 cores), both stamped with
## FyneApp.toml's version
package: deps
	VERSION='$(VERSION)' scripts/ci-package.sh

## package-check: make package, then check its artifacts as users get them: the .exe
## is a PE32+ x86-64 GUI program with icon and version; the tar.xz installs (to a
## prefix and ~/.local), its .desktop file validates and starts the app under Xvfb
package-check: package
	$(GO) vet -tags packagecheck ./internal/packagecheck
	TOKENDESK_DIST='$(CURDIR)/dist' TOKENDESK_VERSION='$(VERSION)' \
		scripts/ci-session.sh --display=private --keyring=private -- \
		$(GO) test -tags packagecheck -count=1 -v ./internal/packagecheck

## fresh-check: the README's two commands in a clean Debian 12 root (needs root,
## mmdebstrap and systemd-container; about 20 min on 2 cores, so not in CI)
fresh-check:
	scripts/fresh-check.sh

## screenshots: the UI's screenshots (scripts/screenshots.sh) on a virtual display
screenshots: deps build
	@if [ -f scripts/screenshots.sh ]; then \
		scripts/ci-session.sh --display=auto --keyring=private -- bash scripts/screenshots.sh; \
	else echo "screenshots: scripts/screenshots.sh absent, nothing to do"; fi

## lint: gofmt must list nothing, and go vet must pass
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin dist

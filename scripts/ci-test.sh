#!/usr/bin/env bash
# The body of `make test`: every package's tests, with -race where cgo allows, inside a
# private D-Bus session with an unlocked throw-away gnome-keyring and a private Xvfb
# display, so the keyring, provider and smoke tests run for real. Prints go test's
# package lines, failures in full, skips with reasons and which real-part tests ran;
# the raw `go test -json` stream is kept in bin/test.json. Exits non-zero on failure.
set -euo pipefail
go=${GO:-go}
timeout=${TEST_TIMEOUT:-20m}
real=${REAL_TESTS:-'^(TestKeyring|TestDiscovery|TestLogin|TestDeviceFlow|TestSmoke.*)$'}
race=()
if [[ $("$go" env CGO_ENABLED) == 1 ]]; then
	race=(-race)
fi
mkdir -p bin
"$go" build -o bin/testsummary ./internal/testenv/cmd/testsummary

echo "test: go test ${race[*]} -count=1 -timeout $timeout ./... (private D-Bus + gnome-keyring + Xvfb)"
set +e
# An outer bound well under CI's 90 minutes, so a hang still ends with a report.
timeout -k 1m "${TEST_DEADLINE:-75m}" scripts/ci-session.sh --display=private --keyring=private -- \
	"$go" test -json "${race[@]}" -count=1 -timeout "$timeout" ${TEST_FLAGS:-} ./... 2>&1 |
	tee bin/test.json | bin/testsummary -real "$real"
status=("${PIPESTATUS[@]}")
set -e
if [[ ${status[0]} -ne 0 || ${status[2]} -ne 0 ]]; then
	echo "test: FAILED (go test exit ${status[0]}, summary exit ${status[2]}); full log: bin/test.json" >&2
	exit 1
fi
echo "test: all passed"

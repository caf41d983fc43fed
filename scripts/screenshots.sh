#!/usr/bin/env bash
# Takes the README's screenshots of the real window from a seeded demo profile (fake,
# non-secret tokens from internal/demoseed; its providers are loopback addresses where
# nothing listens, so no authority is contacted):
#
#   docs/screenshot-main.png       the account list
#   docs/screenshot-detail.png     an account's scopes, status and expiry countdown
#   docs/screenshot-inspector.png  the decoded access token in the inspector
#
# `make screenshots` runs it inside scripts/ci-session.sh (Xvfb + private keyring).
# Run by hand, it re-runs itself there. BIN overrides the binary (default bin/tokendesk,
# built when missing); OUT the output directory (default docs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${DISPLAY:-}" || -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
	exec scripts/ci-session.sh --display=auto --keyring=private -- bash "$0" "$@"
fi
for tool in xdotool xwd; do
	command -v "$tool" >/dev/null || { echo "screenshots: $tool missing: run make deps" >&2; exit 1; }
done
[[ -x /usr/bin/convert ]] || { echo "screenshots: /usr/bin/convert (ImageMagick) missing: run make deps" >&2; exit 1; }

BIN=${BIN:-bin/tokendesk}
OUT=${OUT:-docs}
GO=${GO:-go}
[[ -x "$BIN" ]] || "$GO" build -o "$BIN" .
mkdir -p "$OUT"

work=$(mktemp -d)
app_pid=
cleanup() {
	if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2>/dev/null; then
		kill -TERM "$app_pid" 2>/dev/null || true
		wait "$app_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

"$GO" run ./internal/demoseed -dir "$work/profile" -n 12 >/dev/null

export LANG=en_US.UTF-8
TOKENDESK_HOME="$work/profile" TOKENDESK_TRACE_STARTUP=1 "$BIN" >"$work/app.log" 2>&1 &
app_pid=$!

# Wait until the account list has been painted.
for _ in $(seq 1 300); do
	grep -q 'tokendesk-trace accounts-frame' "$work/app.log" && break
	kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; echo "screenshots: the app exited" >&2; exit 1; }
	sleep 0.1
done
grep -q 'tokendesk-trace accounts-frame' "$work/app.log" || { cat "$work/app.log" >&2; echo "screenshots: no account list after 30 s" >&2; exit 1; }
wid=$(xdotool search --name '^Tokendesk$' | head -1)
[[ -n "$wid" ]] || { echo "screenshots: window not found" >&2; exit 1; }

# A fixed size, so the clicks below land on the same widgets everywhere.
xdotool windowsize --sync "$wid" 1000 700 2>/dev/null || xdotool windowsize "$wid" 1000 700
sleep 0.8

shot() {
	xwd -id "$wid" -silent | /usr/bin/convert xwd:- "png:$OUT/$1"
	echo "screenshots: $OUT/$1"
}

shot screenshot-main.png
# The first account of the list, then the "Inspect" button of its first scope.
xdotool mousemove --window "$wid" 150 115 click 1
sleep 0.8
shot screenshot-detail.png
xdotool mousemove --window "$wid" 950 262 click 1
sleep 0.8
shot screenshot-inspector.png

kill -TERM "$app_pid"
wait "$app_pid" && app_pid= || { code=$?; app_pid=; echo "screenshots: the app exited with $code on SIGTERM" >&2; exit 1; }

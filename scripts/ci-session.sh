#!/usr/bin/env bash
# Runs a command inside the environment Tokendesk's real parts need on a headless
# machine: a private D-Bus session bus with an unlocked gnome-keyring (the Secret
# Service go-keyring talks to) and a private Xvfb display for windows.
#
#   scripts/ci-session.sh [--display=private|inherit|auto] [--keyring=private|persistent] -- CMD...
#
# --display=private   always a fresh Xvfb display (tests: never pop windows on yours)
# --display=inherit   keep $DISPLAY as it is
# --display=auto      keep $DISPLAY when set, else start Xvfb (make run on a headless box)
# --keyring=private   a throw-away keyring under a temp dir, deleted afterwards (tests)
# --keyring=persistent  the user's own keyring files (make run), unlocked with
#                     $TOKENDESK_KEYRING_PASSWORD (default "tokendesk-dev")
#
# When a session bus already exists and --keyring=persistent, the command runs on it
# unchanged: the desktop's own keyring is the one to use.
set -euo pipefail

if [[ "${1:-}" == --inner ]]; then
	shift
	# --unlock creates the login keyring on first use and unlocks it with the password
	# on stdin; it returns before the daemon owns its bus name, so wait for that.
	printf '%s' "${TOKENDESK_KEYRING_PASSWORD:-tokendesk-dev}" |
		gnome-keyring-daemon --unlock --components=secrets >/dev/null
	for _ in $(seq 1 200); do
		if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
			grep -q 'boolean true'; then
			exec "$@"
		fi
		sleep 0.1
	done
	echo "ci-session: gnome-keyring did not appear on the session bus within 20 s" >&2
	exit 1
fi

display=private
keyring=private
while [[ $# -gt 0 ]]; do
	case "$1" in
	--display=*) display=${1#*=} ;;
	--keyring=*) keyring=${1#*=} ;;
	--) shift; break ;;
	*) break ;;
	esac
	shift
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--display=...] [--keyring=...] -- CMD..." >&2; exit 2; }

cmd=("$@")
if [[ $keyring == private || -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
	if [[ $keyring == private ]]; then
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokendesk-keyring.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		# gnome-keyring keeps its files under $XDG_DATA_HOME/keyrings.
		export XDG_DATA_HOME=$tmp
		export TOKENDESK_KEYRING_PASSWORD=${TOKENDESK_KEYRING_PASSWORD:-ci-pass}
	fi
	# Never DBUS_SESSION_BUS_ADDRESS=disabled: (Fyne's systray panics on quit).
	cmd=(dbus-run-session -- "$0" --inner "${cmd[@]}")
fi

case $display in
private) cmd=(xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' "${cmd[@]}") ;;
auto)
	if [[ -z "${DISPLAY:-}" ]]; then
		echo "ci-session: no DISPLAY; showing the window on a virtual Xvfb display" >&2
		cmd=(xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' "${cmd[@]}")
	fi
	;;
inherit) ;;
*) echo "ci-session: unknown --display=$display" >&2; exit 2 ;;
esac

# Not exec: the EXIT trap removes the throw-away keyring afterwards. (dbus-daemon may
# warn "Failed to set fd limit" when not root: harmless.)
set +e
"${cmd[@]}"
status=$?
set -e
exit $status

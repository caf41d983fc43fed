#!/usr/bin/env bash
# Installs the system packages Tokendesk needs to build, run and test on Debian 12,
# and only those that are missing (checked with dpkg -s). Uses sudo when not root.
# Idempotent: on a ready machine it installs nothing and says so.
set -euo pipefail

# Fyne (cgo, OpenGL, X11) build headers: the short list, not xorg-dev's 41 packages.
fyne=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dri)
# A real window for the smoke test and screenshots.
display=(xvfb xauth x11-apps x11-utils xdotool imagemagick)
# A real Secret Service. Never dbus-x11: without a bus address go-keyring would make
# it spawn stray session daemons.
keyring=(gnome-keyring libsecret-tools dbus)
# The browser test and the MSAL reference peer.
peers=(chromium python3-msal)
# fyne package writes .tar.xz.
packaging=(xz-utils)
pkgs=("${fyne[@]}" "${display[@]}" "${keyring[@]}" "${peers[@]}" "${packaging[@]}")
# The test OpenID provider runs on node; a node from elsewhere (nvm, image) is fine.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

if ! command -v go >/dev/null; then
	echo "deps: Go is not installed: get Go 1.26 from https://go.dev/dl/ (Debian's golang is too old)" >&2
	exit 1
fi
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
	echo "deps: not a Debian-like system; install the equivalents of: ${pkgs[*]}" >&2
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	# dpkg -s exits 1 for a package it does not know: under pipefail that must not end
	# the script, since a missing package is exactly what this loop is looking for.
	status=$(dpkg -s "$p" 2>/dev/null | sed -n 's/^Status: //p' || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all system packages present"
else
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo=(sudo)
	fi
	echo "deps: installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ $(dpkg -s dbus-x11 2>/dev/null | sed -n 's/^Status: //p' || true) == "install ok installed" ]]; then
	echo "deps: warning: dbus-x11 is installed; without a session bus go-keyring may spawn stray dbus daemons" >&2
fi

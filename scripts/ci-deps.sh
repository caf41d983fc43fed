#!/usr/bin/env bash
# Installs the system packages Tokendesk needs to build, run, test and package on
# Debian 12, and only those that are missing (checked with dpkg -s). Uses sudo when not
# root. Idempotent: on a ready machine it installs nothing and says so.
# Every failure says what failed and how to fix it: this is the first thing a newcomer's
# `make run` or `make test` runs, on a machine where anything may be missing.
# `ci-deps.sh --list` prints the packages it checks, one a line, and changes nothing.
# scripts/deps_test.go runs this script against stand-ins for dpkg, apt-get and sudo.
set -euo pipefail

# An unexpected failure (set -e) still says where it happened.
trap 'echo "deps: failed: \`$BASH_COMMAND\` exited $? (scripts/ci-deps.sh line $LINENO)" >&2' ERR

# fail prints what failed and how to fix it, and ends the script.
fail() {
	echo "deps: $1" >&2
	echo "deps: fix: $2" >&2
	exit 1
}

# Fyne (cgo, OpenGL, X11) build headers: the short list, not xorg-dev's 41 packages.
fyne=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dri)
# A real window for the smoke test and screenshots (Xvfb, xdotool, xwd, xwininfo,
# ImageMagick's convert), and the real X clipboard (xclip).
display=(xvfb xauth x11-apps x11-utils xdotool imagemagick xclip)
# A real Secret Service. Never dbus-x11: without a bus address go-keyring would make
# it spawn stray session daemons.
keyring=(gnome-keyring libsecret-tools dbus)
# The peers tests check their output against: Chromium (browser sign-in), MSAL Python
# and the Azure SDK for Python.
peers=(chromium python3-msal python3-azure)
# Tools tests call: chattr (e2fsprogs) makes a directory read-only even for root;
# desktop-file-validate checks the installer's .desktop file, gio (libglib2.0-bin)
# launches it as GNOME would, make runs its Makefile.
tools=(e2fsprogs desktop-file-utils libglib2.0-bin make git)
# make package: fyne writes .tar.xz; the Windows .exe is cross-built with mingw.
packaging=(xz-utils gcc-mingw-w64-x86-64)
pkgs=("${fyne[@]}" "${display[@]}" "${keyring[@]}" "${peers[@]}" "${tools[@]}" "${packaging[@]}")
# The test OpenID provider runs on node; a node from elsewhere (nvm, image) is fine.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

if [[ ${1:-} == --list ]]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

# Go: the version go.mod asks for. Debian 12's golang-go (1.19) is too old, and too old
# to fetch a newer toolchain by itself.
gomod=$(dirname "${BASH_SOURCE[0]}")/../go.mod
want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" 2>/dev/null || true)
[[ -n $want ]] || fail "cannot read the Go version from $gomod" "run make from a full clone of the repository"
arch=$(uname -m)
case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
get_go="download https://go.dev/dl/go$want.linux-$arch.tar.gz, unpack it with \`sudo tar -C /usr/local -xzf go$want.linux-$arch.tar.gz\` and put /usr/local/go/bin on PATH (Debian's golang-go is too old)"
if ! command -v go >/dev/null; then
	fail "Go is not installed (go.mod needs Go $want or newer)" "$get_go"
fi
# Asked in the module, so a Go that fetches the toolchain go.mod names (1.21+) passes.
have=$(cd "$(dirname "$gomod")" && go env GOVERSION 2>/dev/null || true)
have=${have#go}
if [[ -z $have ]] || [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1) != "$want" ]]; then
	fail "Go ${have:-of unknown version} at $(command -v go) is older than the Go $want go.mod needs" "$get_go"
fi

if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
	echo "deps: not a Debian-like system (no dpkg/apt-get): install the equivalents of: ${pkgs[*]}" >&2
	exit 0
fi

# installed says whether dpkg has package $1 fully installed.
installed() {
	# dpkg -s exits 1 for a package it does not know: under pipefail that must not end
	# the script, since a missing package is exactly what is being looked for.
	local status
	status=$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p' || true)
	[[ $status == "install ok installed" ]]
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all system packages present"
else
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null ||
			fail "${#missing[@]} packages are missing (${missing[*]}) and installing them needs root, but sudo is not installed" \
				"run \`make deps\` as root once, or install them as root: apt-get install --no-install-recommends ${missing[*]}"
		sudo=(sudo)
	fi
	echo "deps: installing ${#missing[@]} packages: ${missing[*]}"
	"${sudo[@]}" apt-get update -qq ||
		fail "\`${sudo[*]:+${sudo[*]} }apt-get update\` failed (its output is above)" \
			"check the network and the sources in /etc/apt/sources.list.d, then rerun make deps"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		fail "\`apt-get install\` of ${missing[*]} failed (its output is above)" \
			"fix what apt-get said, or install them yourself: ${sudo[*]:+${sudo[*]} }apt-get install --no-install-recommends ${missing[*]}; then rerun make deps"
	still=()
	for p in "${missing[@]}"; do
		installed "$p" || still+=("$p")
	done
	[[ ${#still[@]} -eq 0 ]] ||
		fail "apt-get succeeded but dpkg still does not list as installed: ${still[*]}" \
			"look at \`dpkg -s ${still[0]}\`, install them yourself: ${sudo[*]:+${sudo[*]} }apt-get install --no-install-recommends ${still[*]}; then rerun make deps"
	echo "deps: installed ${missing[*]}"
fi
if installed dbus-x11; then
	echo "deps: warning: dbus-x11 is installed; without a session bus go-keyring may spawn stray dbus daemons (apt-get remove dbus-x11)" >&2
fi

#!/usr/bin/env bash
# Packages the app with the fyne tool into dist/: the Linux .tar.xz (binary, .desktop
# file, icon, install Makefile) and the Windows Tokendesk.exe (icon and version resource
# from FyneApp.toml), both stamped with FyneApp.toml's version like `make build`.
# The Windows cross build needs Debian's gcc-mingw-w64-x86-64 (make deps installs it)
# and takes about 12 minutes cold on 2 cores. PACKAGE_OS=linux or windows builds one.
# fyne bumps Build in FyneApp.toml on every run; that churn is undone so the tree stays
# clean.
set -euo pipefail
go=${GO:-go}
tool=fyne.io/tools/cmd/fyne@v1.7.4
bin=$PWD/bin
targets=${PACKAGE_OS:-linux windows}
mkdir -p "$bin" dist
if ! "$bin/fyne" version 2>/dev/null | grep -q 'v1.7.4'; then
	echo "package: installing $tool into bin/"
	GOBIN=$bin "$go" install "$tool" || {
		echo "package: could not install $tool (go install failed above); check the Go module proxy (go env GOPROXY)" >&2
		exit 1
	}
fi

version=${VERSION:-}
if [[ -z $version ]]; then
	echo "package: VERSION is not set; run it through \`make package\`, which reads FyneApp.toml" >&2
	exit 1
fi
# fyne passes GOFLAGS' -ldflags on to go build (adding -H=windowsgui, -s -w); it splits
# GOFLAGS on spaces, so the flag is written without any.
goflags=$("$go" env GOFLAGS)
export GOFLAGS="${goflags:+$goflags }-ldflags=-X=github.com/tokendesk/tokendesk/cli.Version=$version"

cp FyneApp.toml bin/FyneApp.toml.orig
# fyne writes fyne_metadata_init.go into the module root while it builds; a killed run
# would leave it behind for every later build.
trap 'cp bin/FyneApp.toml.orig FyneApp.toml; rm -f fyne_metadata_init.go fyne.syso' EXIT

# One retry: on a machine where several go commands share the build cache, a build has
# been seen to fail once with "could not import <std package> (open : no such file or
# directory)" and pass when repeated.
# FyneApp.toml is put back after each run, so every package carries its Build number.
fyne_package() {
	"$bin/fyne" package "$@" || {
		echo "package: fyne package $* failed; retrying once" >&2
		"$bin/fyne" package "$@"
	}
	cp bin/FyneApp.toml.orig FyneApp.toml
}

name=$(sed -n 's/^ *Name *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
for os in $targets; do
	start=$SECONDS
	case $os in
	linux)
		echo "package: linux ($version)"
		rm -f "$name.tar.xz"
		fyne_package --os linux --release
		mv -f "$name.tar.xz" dist/
		ls -l "dist/$name.tar.xz"
		;;
	windows)
		if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
			echo "package: windows needs the mingw cross compiler x86_64-w64-mingw32-gcc: run \`make deps\` (or apt-get install gcc-mingw-w64-x86-64)" >&2
			exit 1
		fi
		echo "package: windows ($version; about 12 min cold on 2 cores)"
		rm -f "$name.exe"
		CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 fyne_package --os windows --release
		mv -f "$name.exe" dist/
		ls -l "dist/$name.exe"
		;;
	*)
		echo "package: unknown PACKAGE_OS entry '$os' (want linux and/or windows)" >&2
		exit 1
		;;
	esac
	echo "package: $os took $((SECONDS - start)) s"
done

#!/usr/bin/env bash
# Packages the app with the fyne tool into dist/: a linux .tar.xz, and a Windows .exe
# when the mingw cross compiler is present. fyne bumps Build in FyneApp.toml on every
# run; that churn is undone so the tree stays clean.
set -euo pipefail
go=${GO:-go}
tool=fyne.io/tools/cmd/fyne@v1.7.4
bin=$PWD/bin
mkdir -p "$bin" dist
if ! "$bin/fyne" version 2>/dev/null | grep -q 'v1.7.4'; then
	echo "package: installing $tool into bin/"
	GOBIN=$bin "$go" install "$tool"
fi

cp FyneApp.toml bin/FyneApp.toml.orig
# fyne writes fyne_metadata_init.go into the module root while it builds; a killed run
# would leave it behind for every later build.
trap 'cp bin/FyneApp.toml.orig FyneApp.toml; rm -f fyne_metadata_init.go' EXIT

# One retry: on a machine where several go commands share the build cache, a build has
# been seen to fail once with "could not import <std package> (open : no such file or
# directory)" and pass when repeated.
fyne_package() {
	"$bin/fyne" package "$@" || {
		echo "package: fyne package $* failed; retrying once" >&2
		"$bin/fyne" package "$@"
	}
}

name=$(sed -n 's/^ *Name *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
echo "package: linux"
rm -f "$name.tar.xz"
fyne_package --os linux --release
mv -f "$name.tar.xz" dist/
ls -l "dist/$name.tar.xz"

if command -v x86_64-w64-mingw32-gcc >/dev/null; then
	echo "package: windows (x86_64-w64-mingw32-gcc found)"
	rm -f "$name.exe"
	CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 fyne_package --os windows --release
	mv -f "$name.exe" dist/
	ls -l "dist/$name.exe"
else
	echo "package: windows skipped (no x86_64-w64-mingw32-gcc; apt-get install gcc-mingw-w64-x86-64)"
fi
